"""Sample covariance of daily returns (unbiased by default)."""

from __future__ import annotations

from typing import Any

import numpy as np

from research.risk.covariance._base import BaseCovariance


class SampleCovariance(BaseCovariance):
    """Sample covariance, ``Σ = (X − x̄)ᵀ(X − x̄) / (n − ddof)``.

    Parameters
    ----------
    ddof : int, default 1
        Delta degrees of freedom (1: unbiased, as ``numpy.cov``; 0: maximum likelihood).
    assume_centered : bool, default False
        If True the mean is taken to be zero.

    Needs more observations than assets: with fewer the estimate is singular and every
    method that inverts it (Monte Carlo, risk parity) would fail later and less clearly.
    """

    def __init__(self, ddof: int = 1, assume_centered: bool = False):
        self.ddof = ddof
        self.assume_centered = assume_centered

    def fit(self, returns: Any, y: Any = None) -> SampleCovariance:
        values = self._validate(returns)
        location = np.zeros(values.shape[1]) if self.assume_centered else values.mean(axis=0)
        centred = values - location
        self.location_ = location
        self.covariance_ = centred.T @ centred / (values.shape[0] - self.ddof)
        return self
