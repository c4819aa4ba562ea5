"""TWAP: equal slices over the horizon (the rounding remainder spread by cumulative rounding)."""

from __future__ import annotations

import numpy as np

from research.execution.algorithms.base import ScheduledAlgorithm, integer_schedule


class TWAPAlgorithm(ScheduledAlgorithm):
    def __init__(self, quantity: int, horizon_bars: int):
        if horizon_bars < 1:
            raise ValueError("TWAP: horizon_bars must be >= 1")
        frac = np.arange(1, horizon_bars + 1) / horizon_bars
        super().__init__(integer_schedule(frac, quantity))
