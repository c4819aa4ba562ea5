"""The portfolio strategy a run config names (``strategy.kind``)."""

from __future__ import annotations

from typing import Any

from research.strategies.equal_weight import EqualWeight
from research.strategies.inverse_volatility import InverseVolatility


def portfolio_strategy(config: Any):
    """The portfolio strategy of ``config.strategy`` (target weights from daily closes)."""
    kind = config.strategy.kind
    if kind == "inverse_volatility":
        return InverseVolatility(config.strategy.lookback_days)
    if kind in ("equal_weight", "buy_and_hold"):
        return EqualWeight()
    raise ValueError(f"strategy.kind {kind!r} has no portfolio strategy")
