"""Execution algorithms are child-order schedulers on the bar clock.

An algorithm is asked, on a bar, what to do for one parent given an :class:`AlgoContext`
(progress of the parent and the bar's market data) and answers with an
:class:`~research.execution.model.AlgoDecision`. It keeps no mutable state: everything it
needs is in the context, which the engine rebuilds from its journal after a restart, so a
restarted run takes the same decisions. The same objects run against the simulated broker and
against Tiger.

Scheduled algorithms (TWAP, VWAP, IS) define a cumulative target ``target(k)`` of shares done
after slice ``k`` (k = 0 on the parent's arrival bar); on each bar they send
``target(k) - filled - working`` as a market child, which catches up slices the market could
not absorb (participation cap) without ever exceeding the parent quantity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from research.domain import Side
from research.execution.model import AlgoDecision, ChildRequest


@dataclass(frozen=True, slots=True)
class AlgoContext:
    """Everything an algorithm sees for one parent on one bar.

    ``elapsed`` counts bars since the parent's arrival bar (0 on it). ``working`` is the
    quantity of open children still at the broker. Prices in dollars, volumes in shares;
    ``cum_volume`` is the market volume from the arrival bar through this bar.
    """

    bar_index: int
    elapsed: int
    horizon_bars: int
    side: Side
    quantity: int
    filled: int
    working: int
    bid: float
    ask: float
    mid: float
    last: float
    bar_volume: float
    cum_volume: float
    working_limit: int = 0  # of ``working``, the shares resting in limit children

    @property
    def unworked(self) -> int:
        """Shares neither filled nor working."""
        return self.quantity - self.filled - self.working


class ExecutionAlgorithm(ABC):
    """Base class: ``decide(ctx)`` on every bar the engine wakes the parent."""

    @abstractmethod
    def decide(self, ctx: AlgoContext) -> AlgoDecision: ...


def check_min_child(min_child: int) -> int:
    if min_child != int(min_child) or min_child < 1:
        raise ValueError(f"min_child_shares must be a whole number >= 1, got {min_child!r}")
    return int(min_child)


def integer_schedule(cumulative_fraction: np.ndarray, quantity: int) -> np.ndarray:
    """Per-slice share counts from a cumulative fraction curve ending at 1 (sums to quantity)."""
    # round half up (not to even) so equal slices alternate predictably
    cum = np.floor(np.asarray(cumulative_fraction, dtype=float) * quantity + 0.5).astype(np.int64)
    cum = np.maximum.accumulate(np.clip(cum, 0, quantity))
    cum[-1] = quantity
    return np.diff(np.concatenate([[0], cum]))


def fee_aware_child(want: int, min_child: int, unworked: int) -> int:
    """The child to send when the schedule asks for ``want`` shares and no child should be
    smaller than ``min_child`` (fee-aware slicing): a smaller one is brought forward to
    ``min_child`` — never past the ``unworked`` shares, so only the parent's last remainder
    can be smaller. Later slices then find the shares done and send nothing until the
    schedule catches up: the parent runs at most one minimum child ahead of its schedule."""
    if 1 <= want < min_child:
        return min(min_child, unworked)
    return want


class ScheduledAlgorithm(ExecutionAlgorithm):
    """Works a fixed per-slice schedule with market children, catching up shortfalls.
    ``min_child``: the smallest child but the last (see :func:`fee_aware_child`)."""

    min_child = 1

    def __init__(self, slices: np.ndarray, min_child: int = 1):
        slices = np.asarray(slices, dtype=np.int64)
        if slices.ndim != 1 or len(slices) == 0 or (slices < 0).any():
            raise ValueError("schedule: slices must be a non-empty 1-D array of shares >= 0")
        self.slices = slices
        self.cumulative = np.cumsum(slices)
        self.min_child = check_min_child(min_child)

    def target(self, elapsed: int) -> int:
        k = min(elapsed, len(self.cumulative) - 1)
        return int(self.cumulative[k])

    def decide(self, ctx: AlgoContext) -> AlgoDecision:
        want = min(self.target(ctx.elapsed), ctx.quantity) - ctx.filled - ctx.working
        want = fee_aware_child(int(want), self.min_child, ctx.unworked)
        child = ChildRequest(int(want)) if want >= 1 else None
        return AlgoDecision(child=child, wake_in_bars=1)
