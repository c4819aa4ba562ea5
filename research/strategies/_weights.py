"""Weight arithmetic shared by the strategies."""

from __future__ import annotations

import numpy as np


def capped_weights(weights: np.ndarray, cap: float) -> np.ndarray:
    """Non-negative ``weights`` summing to 1 with no name above ``cap``: each capped name's
    excess is re-spread over the uncapped ones in proportion to their weights (water-filling),
    until none is over. When every held name is at the cap (fewer than 1/cap names), the rest
    is left in cash: the weights then sum to (held names) x cap < 1."""
    if not 0 < cap <= 1:
        raise ValueError(f"position cap must be in (0, 1], got {cap}")
    w = np.asarray(weights, dtype=float).copy()
    if (w < 0).any() or not np.isclose(w.sum(), 1.0):
        raise ValueError("weights to cap must be >= 0 and sum to 1")
    capped = np.zeros(len(w), dtype=bool)
    for _ in range(len(w)):
        over = ~capped & (w > cap)
        if not over.any():
            break
        capped |= over
        free = ~capped & (w > 0)
        excess = 1.0 - cap * capped.sum() - w[free].sum()
        w[capped] = cap
        if free.any() and excess > 0:
            w[free] += excess * w[free] / w[free].sum()
    return w
