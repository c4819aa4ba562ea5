"""Execution algorithms (child-order schedulers on the bar clock) and their factory."""

from __future__ import annotations

from research.execution.algorithms.base import (
    AlgoContext,
    ExecutionAlgorithm,
    ScheduledAlgorithm,
    integer_schedule,
)
from research.execution.algorithms.factory import build_algorithm
from research.execution.algorithms.limit import LimitAlgorithm
from research.execution.algorithms.market import MarketAlgorithm
from research.execution.algorithms.pov import POVAlgorithm
from research.execution.algorithms.shortfall import ISAlgorithm, almgren_chriss_schedule_fn
from research.execution.algorithms.twap import TWAPAlgorithm
from research.execution.algorithms.vwap import VWAPAlgorithm, volume_profile_from_history

__all__ = [
    "AlgoContext",
    "ExecutionAlgorithm",
    "ISAlgorithm",
    "LimitAlgorithm",
    "MarketAlgorithm",
    "POVAlgorithm",
    "ScheduledAlgorithm",
    "TWAPAlgorithm",
    "VWAPAlgorithm",
    "almgren_chriss_schedule_fn",
    "build_algorithm",
    "integer_schedule",
    "volume_profile_from_history",
]
