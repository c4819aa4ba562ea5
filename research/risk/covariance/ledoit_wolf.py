"""Ledoit–Wolf shrinkage towards a scaled identity (Ledoit & Wolf 2004).

Σ̂ = (1 − s)·S + s·μ·I, with S the maximum-likelihood (1/n) covariance of the centred
returns, μ = tr(S)/p and the shrinkage intensity

    s = min(β̄, δ̄) / δ̄,   δ̄ = ‖S − μI‖²_F / p,
    β̄ = (1 / (p·n)) · Σ_jk [ (1/n) Σ_t x_tj² x_tk² − S_jk² ].

This is the estimator of ``sklearn.covariance.LedoitWolf`` (same formula, same 1/n
normalisation), computed in a few numpy products without scikit-learn's per-call
validation overhead, so it can be refitted on every bar.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from research.risk.covariance._base import BaseCovariance


def ledoit_wolf_shrunk(centred: np.ndarray) -> tuple[np.ndarray, float]:
    """Shrunk covariance and shrinkage intensity of already-centred ``(n, p)`` returns."""
    n_obs, n_assets = centred.shape
    sample = centred.T @ centred / n_obs
    mu = np.trace(sample) / n_assets
    if n_assets == 1:
        return sample, 0.0
    squared = centred * centred
    sample_sq_norm = float(np.sum(sample * sample))
    # δ̄: distance of S from its target; β̄: sampling variance of S's entries.
    delta = (sample_sq_norm - 2.0 * mu * np.trace(sample) + n_assets * mu * mu) / n_assets
    fourth = float(np.sum(squared.T @ squared)) / n_obs
    beta = (fourth - sample_sq_norm) / (n_assets * n_obs)
    beta = min(beta, delta)
    shrinkage = 0.0 if beta <= 0.0 or delta <= 0.0 else beta / delta
    shrunk = (1.0 - shrinkage) * sample
    shrunk.flat[:: n_assets + 1] += shrinkage * mu
    return shrunk, shrinkage


class LedoitWolf(BaseCovariance):
    """Ledoit–Wolf shrinkage covariance of daily returns.

    Parameters
    ----------
    assume_centered : bool, default False
        If True the mean is taken to be zero (not subtracted).

    Attributes
    ----------
    covariance_ : ndarray (n_assets, n_assets)
        Shrunk covariance, daily return units squared.
    shrinkage_ : float
        Shrinkage intensity s in [0, 1].
    location_ : ndarray (n_assets,)
        Mean daily return subtracted before estimation.

    Shrinkage keeps the estimate invertible with fewer observations than assets, so unlike
    the sample and EWMA estimators this one accepts ``n_observations <= n_assets``.
    """

    _needs_more_observations_than_assets = False

    def __init__(self, assume_centered: bool = False):
        self.assume_centered = assume_centered

    def fit(self, returns: Any, y: Any = None) -> LedoitWolf:
        values = self._validate(returns)
        location = np.zeros(values.shape[1]) if self.assume_centered else values.mean(axis=0)
        self.location_ = location
        self.covariance_, self.shrinkage_ = ledoit_wolf_shrunk(values - location)
        return self
