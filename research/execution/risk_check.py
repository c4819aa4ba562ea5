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

    def __init__(self, manager: Any):
        self.manager = manager

    def check(self, symbol: str, side: Side, quantity: int, price: float) -> RiskDecision:
        d = self.manager.check_order(symbol, side, quantity, price)
        code = ",".join(str(getattr(r, "value", r)) for r in d.reasons)
        return RiskDecision(bool(d.approved), int(d.approved_quantity), code, d.message)
