"""Time-series factor model: asset exposures by OLS regression on factor returns.

r_{t,i} = α_i + Σ_k B_ik f_{t,k} + e_{t,i}, fitted asset by asset (one least-squares solve
for all assets). The model covariance is Σ = B F Bᵀ + D with F the sample covariance of the
factor returns and D the residual covariance (diagonal in the usual model). Every
covariance uses ddof = 1, so that — OLS residuals being orthogonal to the factors in
sample — bᵀFb + wᵀ(residual covariance)w equals the sample variance of any book's returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from research.estimator import ParamsMixin
from research.risk._validation import as_returns_matrix
from research.risk.errors import InsufficientDataError, RiskInputError, SingularCovarianceError


def _row_labels(frame: Any) -> list[Any] | None:
    index = getattr(frame, "index", None)
    return None if index is None else list(index)


class FactorModel(ParamsMixin):
    """OLS factor exposures of daily asset returns (skfolio's factor-ETF dataset fits here).

    Parameters
    ----------
    fit_intercept : bool, default True
        Estimate α_i; without it the residuals absorb the mean return.

    Attributes
    ----------
    loadings_ : ndarray (n_assets, n_factors)    exposures B
    intercept_ : ndarray (n_assets,)             daily α
    factor_covariance_ : ndarray (k, k)          F, daily
    residual_covariance_ : ndarray (n, n)        covariance of the residuals, daily
    specific_variance_ : ndarray (n_assets,)     its diagonal
    covariance_ : ndarray (n, n)                 B F Bᵀ + diag(specific_variance_)
    r2_ : ndarray (n_assets,)                    in-sample R²
    feature_names_in_, factor_names_             column names when frames are given
    """

    def __init__(self, fit_intercept: bool = True):
        self.fit_intercept = fit_intercept

    def fit(self, asset_returns: Any, factor_returns: Any) -> FactorModel:
        assets, asset_names = as_returns_matrix(asset_returns, name="asset returns")
        factors, factor_names = as_returns_matrix(factor_returns, name="factor returns")
        self._check_alignment(asset_returns, factor_returns, assets.shape[0], factors.shape[0])
        n_obs, n_factors = factors.shape
        n_params = n_factors + int(self.fit_intercept)
        if n_obs <= n_params + 1:
            raise InsufficientDataError(
                f"{n_obs} observations cannot fit {n_params} coefficients per asset "
                "and leave residuals"
            )
        design = factors - factors.mean(axis=0) if self.fit_intercept else factors
        gram = design.T @ design
        scale = np.sqrt(np.diag(gram))
        if scale.min() <= 0.0:
            bad = int(np.argmin(scale))
            label = factor_names[bad] if factor_names else bad
            raise SingularCovarianceError(f"factor {label!r} is constant: exposures undefined")
        normalised = gram / np.outer(scale, scale)
        condition = np.linalg.cond(normalised)
        if not np.isfinite(condition) or condition > 1e10:
            raise SingularCovarianceError(
                f"factor returns are collinear (condition number {condition:.3g}); "
                f"the OLS exposures cannot be identified for factors {factor_names or n_factors}"
            )
        loadings_t = np.linalg.solve(gram, design.T @ assets)  # (k, n_assets)
        if self.fit_intercept:
            intercept = assets.mean(axis=0) - factors.mean(axis=0) @ loadings_t
        else:
            intercept = np.zeros(assets.shape[1])
        residuals = assets - intercept - factors @ loadings_t
        centred_resid = residuals - residuals.mean(axis=0)
        self.loadings_ = loadings_t.T
        self.intercept_ = intercept
        self.factor_covariance_ = np.cov(factors, rowvar=False, ddof=1).reshape(
            n_factors, n_factors
        )
        self.residual_covariance_ = centred_resid.T @ centred_resid / (n_obs - 1)
        self.specific_variance_ = np.diag(self.residual_covariance_).copy()
        self.covariance_ = self.loadings_ @ self.factor_covariance_ @ self.loadings_.T + np.diag(
            self.specific_variance_
        )
        total = ((assets - assets.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.r2_ = np.where(total > 0, 1.0 - (residuals**2).sum(axis=0) / total, 0.0)
        self.n_features_in_ = assets.shape[1]
        if asset_names is not None:
            self.feature_names_in_ = asset_names
        if factor_names is not None:
            self.factor_names_ = factor_names
        return self

    @staticmethod
    def _check_alignment(
        asset_returns: Any, factor_returns: Any, n_assets: int, n_factors: int
    ) -> None:
        if n_assets != n_factors:
            raise RiskInputError(
                f"asset returns have {n_assets} rows but factor returns {n_factors}; "
                "align them on dates first (no rows are dropped silently)"
            )
        asset_rows, factor_rows = _row_labels(asset_returns), _row_labels(factor_returns)
        if asset_rows is not None and factor_rows is not None and asset_rows != factor_rows:
            first = next(
                i for i, (a, b) in enumerate(zip(asset_rows, factor_rows, strict=True)) if a != b
            )
            raise RiskInputError(
                f"asset and factor returns are not aligned: row {first} is "
                f"{asset_rows[first]!s} vs {factor_rows[first]!s}"
            )
