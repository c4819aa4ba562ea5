"""Shared machinery of the covariance estimators: input checks, correlation, Cholesky."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from research.estimator import ParamsMixin
from research.risk._validation import as_returns_matrix
from research.risk.errors import InsufficientDataError, SingularCovarianceError


def covariance_to_correlation(
    covariance: np.ndarray, names: Sequence[str] | None = None
) -> np.ndarray:
    """Correlation matrix D^-1/2 Σ D^-1/2; an asset with zero variance is an error.

    A zero-variance asset (a constant return series, e.g. cash) has no defined correlation;
    returning NaN there would silently disable the pairwise-correlation limit.
    """
    covariance = np.asarray(covariance, dtype=float)
    variance = np.diag(covariance)
    # Rounding leaves a constant series with a variance of ~1e-38, not exactly zero.
    floor = max(1e-14 * float(np.max(variance, initial=0.0)), 1e-24)
    flat = np.flatnonzero(~(variance > floor))
    if flat.size:
        labels = [names[i] if names is not None else int(i) for i in flat]
        raise SingularCovarianceError(
            f"correlation undefined: zero (or negative) variance for asset(s) {labels}"
        )
    inv_sd = 1.0 / np.sqrt(variance)
    correlation = covariance * inv_sd[:, None] * inv_sd[None, :]
    np.fill_diagonal(correlation, 1.0)
    return np.clip(correlation, -1.0, 1.0)


def cholesky_or_raise(
    covariance: np.ndarray, names: Sequence[str] | None = None, *, purpose: str = "this method"
) -> np.ndarray:
    """Lower Cholesky factor, or a :class:`SingularCovarianceError` saying who needed it."""
    covariance = np.asarray(covariance, dtype=float)
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        factor = None
    if factor is None or not np.all(np.isfinite(factor)):
        eig = np.linalg.eigvalsh(covariance)
        raise SingularCovarianceError(
            f"covariance is not positive definite (smallest eigenvalue {eig[0]:.3g}, "
            f"{covariance.shape[0]} assets) but {purpose} must invert it; "
            "use Ledoit-Wolf shrinkage or drop collinear / constant assets"
        )
    # A factor with a relatively tiny pivot is singular for every practical purpose.
    pivots = np.diag(factor)
    if pivots.min() <= 1e-10 * pivots.max():
        labels = names if names is not None else range(covariance.shape[0])
        worst = list(labels)[int(np.argmin(pivots))]
        raise SingularCovarianceError(
            f"covariance is numerically singular (asset {worst!r} is a linear combination "
            f"of the others) but {purpose} must invert it"
        )
    return factor


class BaseCovariance(ParamsMixin):
    """Estimator contract: ``fit(returns) -> self`` sets ``covariance_`` (daily, return units²).

    Attributes set by ``fit``: ``covariance_`` (n_assets × n_assets), ``location_`` (mean
    daily return per asset, zeros when ``assume_centered``), ``n_observations_``,
    ``n_features_in_`` and, for a DataFrame input, ``feature_names_in_``.
    ``correlation_`` is derived from ``covariance_``.
    """

    #: Whether fit refuses n_observations <= n_assets (the estimate would be singular).
    _needs_more_observations_than_assets = True

    def _validate(self, returns: Any) -> np.ndarray:
        values, names = as_returns_matrix(returns)
        n_obs, n_assets = values.shape
        if n_obs < 2:
            raise InsufficientDataError(
                f"{type(self).__name__} needs at least 2 observations, got {n_obs}"
            )
        if self._needs_more_observations_than_assets and n_obs <= n_assets:
            raise InsufficientDataError(
                f"{type(self).__name__}: {n_obs} observations for {n_assets} assets gives a "
                "singular covariance; it needs more observations than assets "
                "(use LedoitWolf for short histories)"
            )
        self.n_observations_ = n_obs
        self.n_features_in_ = n_assets
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._correlation: np.ndarray | None = None
        return values

    @property
    def correlation_(self) -> np.ndarray:
        """Correlation matrix implied by ``covariance_`` (computed once, then cached)."""
        if not hasattr(self, "covariance_"):
            raise AttributeError(f"{type(self).__name__} is not fitted; call fit(returns) first")
        if self._correlation is None:
            self._correlation = covariance_to_correlation(
                self.covariance_, getattr(self, "feature_names_in_", None)
            )
        return self._correlation
