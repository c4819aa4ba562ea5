"""Market: send everything at once as one market child (re-sent if the child is refused)."""

from __future__ import annotations

from research.execution.algorithms.base import AlgoContext, ExecutionAlgorithm
from research.execution.model import AlgoDecision, ChildRequest


class MarketAlgorithm(ExecutionAlgorithm):
    def decide(self, ctx: AlgoContext) -> AlgoDecision:
        if ctx.unworked >= 1:
            return AlgoDecision(child=ChildRequest(ctx.unworked), wake_in_bars=None)
        return AlgoDecision(wake_in_bars=None)
