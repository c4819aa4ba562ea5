"""POV: keep done shares at ``rate`` x the market volume realised since arrival."""

from __future__ import annotations

import math

from research.execution.algorithms.base import (
    AlgoContext,
    ExecutionAlgorithm,
    check_min_child,
    fee_aware_child,
)
from research.execution.model import AlgoDecision, ChildRequest


class POVAlgorithm(ExecutionAlgorithm):
    """``rate``: target participation, fraction of realised market volume (0 < rate <= 1);
    ``min_child``: the smallest child but the last (fee-aware slicing)."""

    def __init__(self, rate: float, min_child: int = 1):
        if not 0 < rate <= 1:
            raise ValueError(f"POV: rate must be in (0, 1], got {rate}")
        self.rate = rate
        self.min_child = check_min_child(min_child)

    def target(self, ctx: AlgoContext) -> int:
        return min(ctx.quantity, int(math.floor(self.rate * ctx.cum_volume + 1e-9)))

    def decide(self, ctx: AlgoContext) -> AlgoDecision:
        if ctx.elapsed >= ctx.horizon_bars:
            return AlgoDecision(wake_in_bars=None)
        want = fee_aware_child(self.target(ctx) - ctx.filled - ctx.working, self.min_child,
                               ctx.unworked)
        child = ChildRequest(want) if want >= 1 else None
        return AlgoDecision(child=child, wake_in_bars=1)
