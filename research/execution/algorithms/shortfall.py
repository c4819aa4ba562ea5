"""Implementation shortfall: follow the Almgren-Chriss (2000) trade list.

The trade list comes from an injected ``schedule_fn(shares, horizon, periods) -> trades``; the
default calls ``research.costs.AlmgrenChriss`` (imported when first needed, so this module
does not depend on the cost package at import time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from research.execution.algorithms.base import ScheduledAlgorithm, integer_schedule

ScheduleFn = Callable[[int, float, int], np.ndarray]


def almgren_chriss_schedule_fn(
    sigma: float, eta: float, gamma: float, epsilon: float, risk_aversion: float
) -> ScheduleFn:
    """A ``schedule_fn`` backed by ``research.costs.AlmgrenChriss`` with these coefficients
    (sigma in $/share/time^1/2, eta and gamma in $/share^2 per time unit, epsilon $/share)."""

    def fn(shares: int, horizon: float, periods: int) -> np.ndarray:
        from research.costs import AlmgrenChriss  # lazy: cost package is optional here

        model = AlmgrenChriss(
            sigma=sigma, eta=eta, gamma=gamma, epsilon=epsilon, risk_aversion=risk_aversion
        )
        return np.asarray(model.schedule(shares=shares, horizon=horizon, periods=periods).trades)

    return fn


class ISAlgorithm(ScheduledAlgorithm):
    """``horizon``: the trading horizon in the time unit of the coefficients (default: bars);
    slices are the ``horizon_bars`` periods of the trade list."""

    def __init__(
        self,
        quantity: int,
        horizon_bars: int,
        schedule_fn: ScheduleFn,
        horizon: float | None = None,
        min_child: int = 1,
    ):
        trades = np.abs(np.asarray(schedule_fn(quantity, horizon or float(horizon_bars), horizon_bars),
                                   dtype=float))
        if trades.shape != (horizon_bars,) or not np.isfinite(trades).all() or trades.sum() <= 0:
            raise ValueError(
                f"IS: schedule_fn must return {horizon_bars} finite trades with a positive sum, "
                f"got shape {trades.shape}"
            )
        super().__init__(integer_schedule(np.cumsum(trades) / trades.sum(), quantity), min_child)
