"""Limit: one passive limit child at mid -/+ an offset, with a time in force and an optional
fall back to a market order for the rest at the deadline."""

from __future__ import annotations

from research.domain import OrderType
from research.execution.algorithms.base import AlgoContext, ExecutionAlgorithm
from research.execution.model import AlgoDecision, ChildRequest
from research.execution.rules import round_to_tick


class LimitAlgorithm(ExecutionAlgorithm):
    """``offset_bps``: distance from the mid, positive = passive (a buy below the mid), bps.
    ``tif_bars``: bars the limit works before it is cancelled. ``fallback_to_market``: send the
    unfilled rest as a market order once the limit is cancelled."""

    def __init__(self, offset_bps: float = 0.0, tif_bars: int = 30, fallback_to_market: bool = True):
        if tif_bars < 1:
            raise ValueError("limit algorithm: tif_bars must be >= 1")
        self.offset_bps = offset_bps
        self.tif_bars = tif_bars
        self.fallback_to_market = fallback_to_market

    def limit_price(self, ctx: AlgoContext) -> float:
        sign = ctx.side.sign
        raw = ctx.mid * (1.0 - sign * self.offset_bps * 1e-4)
        return round_to_tick(raw, sign)

    def decide(self, ctx: AlgoContext) -> AlgoDecision:
        if ctx.elapsed < self.tif_bars:
            # every unworked share is posted (more than one child only when the engine cut a
            # child to the maximum order notional: the rest is posted on the next bar)
            if ctx.unworked >= 1:
                child = ChildRequest(ctx.unworked, OrderType.LIMIT, self.limit_price(ctx))
                return AlgoDecision(child=child, wake_in_bars=self.tif_bars - ctx.elapsed)
            return AlgoDecision(wake_in_bars=self.tif_bars - ctx.elapsed)
        if ctx.working_limit > 0:  # time in force over: the limits go (no market child yet)
            return AlgoDecision(cancel_working=True, wake_in_bars=1)
        if self.fallback_to_market and ctx.unworked >= 1:
            return AlgoDecision(child=ChildRequest(ctx.unworked), wake_in_bars=None)
        return AlgoDecision(wake_in_bars=None)
