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
        # on_limited(symbol, side, requested, allowed, limits, message): every trim or reject
        self.on_limited = on_limited

    def check(self, symbol: str, side: Side, quantity: int, price: float) -> RiskDecision:
        d = self.manager.check_order(symbol, side, quantity, price)
        code = ",".join(str(getattr(r, "value", r)) for r in d.reasons)
        allowed = int(d.approved_quantity) if d.approved else 0
        if self.on_limited is not None and allowed < quantity:
            self.on_limited(symbol, side, int(quantity), allowed, code, d.message)
        return RiskDecision(bool(d.approved), int(d.approved_quantity), code, d.message)
