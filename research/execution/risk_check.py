"""The engine's pre-trade risk port served by the real risk manager.

Sim and live must run the *same* risk check (parity by construction), so the adapter from
``research.risk.RiskManager.check_order`` to :class:`PreTradeRiskCheck` lives here, once.
"""

from __future__ import annotations

from typing import Any

from research.domain import Side
from research.execution.model import RiskDecision


class RiskManagerCheck:
    """``PreTradeRiskCheck`` over a :class:`research.risk.RiskManager` (updated by the caller).

    A trimmed order comes back approved with the largest compliant quantity; reason codes are
    the risk manager's limit kinds joined by commas.
    """

    def __init__(self, manager: Any, on_limited: Any = None):
        self.manager = manager
        # on_limited(symbol, side, requested, allowed, working, limits, message): every trim
        # or reject, in the order's own shares
        self.on_limited = on_limited

    def check(self, symbol: str, side: Side, quantity: int, price: float,
              working: int = 0, working_notional: Any = None) -> RiskDecision:
        """``working``: this symbol's same-side shares already working (counted as filled);
        ``working_notional``: the other symbols' working orders, signed dollars by symbol."""
        d = self.manager.check_order(symbol, side, quantity + working, price,
                                     working_notional=working_notional)
        code = ",".join(str(getattr(r, "value", r)) for r in d.reasons)
        # what the limits leave for this order once the working shares are counted as filled
        allowed = max(0, int(d.approved_quantity) - working) if d.approved else 0
        allowed = min(allowed, quantity)
        if self.on_limited is not None and allowed < quantity:
            self.on_limited(symbol, side, int(quantity), allowed, int(working), code, d.message)
        return RiskDecision(allowed > 0, allowed, code, d.message)
