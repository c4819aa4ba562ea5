"""Exponentially weighted covariance (RiskMetrics style) with a half-life in days."""

from __future__ import annotations

from typing import Any

import numpy as np

from research.risk.covariance._base import BaseCovariance
from research.risk.errors import RiskInputError


def ewma_weights(n_observations: int, halflife: float) -> np.ndarray:
    """Normalised weights, oldest first: the weight halves every ``halflife`` observations."""
    ages = np.arange(n_observations - 1, -1, -1, dtype=float)
    weights = np.exp2(-ages / halflife)
    return weights / weights.sum()


class EWMACovariance(BaseCovariance):
    """EWMA covariance: ``Σ = Σ_t w_t (x_t − m)(x_t − m)ᵀ`` with ``w_t ∝ 2^(−age_t / halflife)``.

    Parameters
    ----------
    halflife : float, default 63
        Half-life in observations (trading days for daily returns). The RiskMetrics decay
        λ = 0.94 corresponds to a half-life of ln 0.5 / ln 0.94 ≈ 11.2 days.
    assume_centered : bool, default False
        If False, the EWMA-weighted mean ``m = Σ_t w_t x_t`` is subtracted; if True, m = 0
        (the RiskMetrics convention).

    The weights sum to one and no small-sample correction is applied, which equals
    ``pandas.DataFrame.ewm(halflife=h).cov(bias=True)`` on the last row.
    """

    def __init__(self, halflife: float = 63.0, assume_centered: bool = False):
        self.halflife = halflife
        self.assume_centered = assume_centered

    def fit(self, returns: Any, y: Any = None) -> EWMACovariance:
        if not float(self.halflife) > 0.0:
            raise RiskInputError(f"halflife must be positive, got {self.halflife!r}")
        values = self._validate(returns)
        weights = ewma_weights(values.shape[0], float(self.halflife))
        location = np.zeros(values.shape[1]) if self.assume_centered else weights @ values
        centred = values - location
        self.location_ = location
        self.weights_ = weights
        self.covariance_ = (centred * weights[:, None]).T @ centred
        return self
