"""VWAP: slices proportional to an expected volume profile estimated from PAST sessions."""

from __future__ import annotations

import numpy as np

from research.execution.algorithms.base import ScheduledAlgorithm, integer_schedule


def volume_profile_from_history(past_volumes: np.ndarray) -> np.ndarray:
    """Mean share of each intraday bar in its session's volume.

    ``past_volumes``: shape (n_past_sessions, bars_per_session), shares; only sessions before
    the one being traded may be passed (no look-ahead). Sessions with no volume are ignored.
    """
    v = np.asarray(past_volumes, dtype=float)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError("volume profile: past_volumes must be (sessions, bars) with >= 1 session")
    if not np.isfinite(v).all() or (v < 0).any():
        raise ValueError("volume profile: past_volumes contains NaN or negative values")
    totals = v.sum(axis=1, keepdims=True)
    ok = totals[:, 0] > 0
    if not ok.any():
        raise ValueError("volume profile: every past session has zero volume")
    return (v[ok] / totals[ok]).mean(axis=0)


class VWAPAlgorithm(ScheduledAlgorithm):
    """``volume_profile``: expected volume per bar of the horizon (any positive scale)."""

    def __init__(self, quantity: int, volume_profile: np.ndarray | list[float],
                 min_child: int = 1):
        p = np.asarray(volume_profile, dtype=float)
        if p.ndim != 1 or len(p) == 0 or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
            raise ValueError("VWAP: volume_profile must be finite, >= 0, with a positive sum")
        super().__init__(integer_schedule(np.cumsum(p) / p.sum(), quantity), min_child)
