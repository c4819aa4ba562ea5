"""POV: keep done shares at ``rate`` x the market volume realised since arrival."""

from __future__ import annotations

import math

from research.execution.algorithms.base import AlgoContext, ExecutionAlgorithm
from research.execution.model import AlgoDecision, ChildRequest


class POVAlgorithm(ExecutionAlgorithm):
    """``rate``: target participation, fraction of realised market volume (0 < rate <= 1)."""

    def __init__(self, rate: float):
        if not 0 < rate <= 1:
            raise ValueError(f"POV: rate must be in (0, 1], got {rate}")
        self.rate = rate

    def target(self, ctx: AlgoContext) -> int:
        return min(ctx.quantity, int(math.floor(self.rate * ctx.cum_volume + 1e-9)))

    def decide(self, ctx: AlgoContext) -> AlgoDecision:
        if ctx.elapsed >= ctx.horizon_bars:
            return AlgoDecision(wake_in_bars=None)
        want = self.target(ctx) - ctx.filled - ctx.working
        child = ChildRequest(want) if want >= 1 else None
        return AlgoDecision(child=child, wake_in_bars=1)
