"""Risk attribution: Euler decomposition by position and factor/specific split.

Euler (Tasche 1999) splits a risk measure ρ that is homogeneous of degree one in the
weights into components w_i·∂ρ/∂w_i that add up to ρ exactly:

* volatility:   RC_i = w_i (Σw)_i / σ_p
* Gaussian VaR: w_i (−μ_i·h + z_c·√h·(Σw)_i / σ_p)   (CVaR: φ(z_c)/(1 − c) instead of z_c)
* historical VaR (scenario Euler): −w_i · r_{t*,i}, t* the portfolio's VaR scenario
* historical CVaR: −w_i · Σ_t π_t r_{t,i} over the portfolio's tail scenarios with the
  same fractional weights π_t that produce the portfolio CVaR.

Historical component VaR rests on a single day and is noisy; component CVaR averages the
tail and is the steadier choice for "who drives the risk".

Weights are signed fractions of NAV; returns are daily simple returns; every figure is a
positive loss fraction of NAV (volatility: daily standard deviation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from research.risk._validation import (
    as_returns_matrix,
    as_weight_vector,
    check_confidence,
    check_horizon,
)
from research.risk.errors import RiskInputError
from research.risk.tail_risk import horizon_returns, tail_scenarios

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class RiskContributions:
    """Euler components of one risk measure; ``contributions.sum() == total``."""

    measure: str
    total: float
    contributions: np.ndarray
    names: tuple[str, ...] | None = None

    @property
    def percent(self) -> np.ndarray:
        """Share of the total per position (sums to 1; zeros when the total is zero)."""
        if self.total == 0.0:
            return np.zeros_like(self.contributions)
        return self.contributions / self.total

    def as_dict(self) -> dict[str, float]:
        """Contribution by name (e.g. for :func:`~research.risk.budgets.budget_usage`)."""
        labels = self.names or tuple(str(i) for i in range(self.contributions.shape[0]))
        return dict(zip(labels, self.contributions.tolist(), strict=True))

    def top(self, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` largest contributors as (name, contribution), largest first."""
        order = np.argsort(-self.contributions, kind="stable")[:n]
        labels = self.names or tuple(str(i) for i in range(self.contributions.shape[0]))
        return [(labels[i], float(self.contributions[i])) for i in order]


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array


def _covariance(covariance: Any, n_assets: int) -> np.ndarray:
    matrix = np.asarray(covariance, dtype=float)
    if matrix.shape != (n_assets, n_assets):
        raise RiskInputError(
            f"covariance has shape {matrix.shape}, expected ({n_assets}, {n_assets})"
        )
    if not np.isfinite(matrix).all():
        raise RiskInputError("covariance contains NaN/inf")
    return matrix


# --------------------------------------------------------------------------- fast kernels
def volatility_components(weights: np.ndarray, covariance: np.ndarray) -> tuple[float, np.ndarray]:
    """σ_p and w ⊙ Σw / σ_p (zeros for an empty or riskless book)."""
    marginal = covariance @ weights
    variance = float(weights @ marginal)
    if variance <= 0.0:
        return 0.0, np.zeros_like(weights)
    sigma = math.sqrt(variance)
    return sigma, weights * marginal / sigma


def gaussian_components(
    weights: np.ndarray,
    covariance: np.ndarray,
    mean: np.ndarray,
    confidence: float,
    horizon: int,
    measure: Literal["var", "cvar"],
) -> tuple[float, np.ndarray]:
    """Gaussian VaR or CVaR at h days and its Euler components (μ × h, σ × √h)."""
    z = _STANDARD_NORMAL.inv_cdf(confidence)
    multiplier = z if measure == "var" else _STANDARD_NORMAL.pdf(z) / (1.0 - confidence)
    sigma, vol_parts = volatility_components(weights, covariance)
    parts = -weights * mean * horizon + multiplier * math.sqrt(horizon) * vol_parts
    return float(-(weights @ mean) * horizon + multiplier * math.sqrt(horizon) * sigma), parts


def historical_components(
    weights: np.ndarray, returns: np.ndarray, confidence: float, measure: Literal["var", "cvar"]
) -> tuple[float, np.ndarray]:
    """Historical VaR or CVaR of ``returns @ weights`` and its scenario Euler components."""
    portfolio = returns @ weights
    var_index, tail, tail_weights = tail_scenarios(portfolio, confidence)
    if measure == "var":
        parts = -weights * returns[var_index]
    else:
        parts = -weights * (tail_weights @ returns[tail])
    return float(parts.sum()), parts


# --------------------------------------------------------------------------- public API
def euler_volatility(
    weights: Any, covariance: Any, names: Sequence[str] | None = None
) -> RiskContributions:
    """Volatility (daily sd, fraction of NAV) split by position."""
    covariance = np.asarray(covariance, dtype=float)
    vector = as_weight_vector(weights, names, covariance.shape[0])
    sigma, parts = volatility_components(vector, _covariance(covariance, vector.shape[0]))
    return RiskContributions("volatility", sigma, _frozen(parts), _names(names))


def euler_gaussian(
    weights: Any,
    covariance: Any,
    mean: Any = None,
    *,
    confidence: float = 0.95,
    horizon: int = 1,
    measure: Literal["var", "cvar"] = "var",
    names: Sequence[str] | None = None,
) -> RiskContributions:
    """Gaussian VaR/CVaR at ``horizon`` days split by position (``mean``: daily, default 0)."""
    covariance = np.asarray(covariance, dtype=float)
    vector = as_weight_vector(weights, names, covariance.shape[0])
    matrix = _covariance(covariance, vector.shape[0])
    mu = np.zeros_like(vector) if mean is None else np.asarray(mean, dtype=float).ravel()
    if mu.shape != vector.shape or not np.isfinite(mu).all():
        raise RiskInputError(f"mean must be {vector.shape[0]} finite daily returns")
    _check_measure(measure)
    total, parts = gaussian_components(
        vector, matrix, mu, check_confidence(confidence), check_horizon(horizon), measure
    )
    return RiskContributions(f"gaussian_{measure}", total, _frozen(parts), _names(names))


def euler_historical(
    weights: Any,
    returns: Any,
    *,
    confidence: float = 0.95,
    horizon: int = 1,
    scaling: Literal["sqrt", "overlapping"] = "sqrt",
    measure: Literal["var", "cvar"] = "cvar",
) -> RiskContributions:
    """Historical VaR/CVaR of a constant-weight book split by position (scenario Euler).

    ``returns`` is an (n_observations, n_assets) frame or array of daily returns. With
    ``scaling="overlapping"`` the scenarios are overlapping compounded h-day asset
    returns and the book is held (not rebalanced) over each window, which keeps the
    portfolio return linear in the weights.
    """
    values, names = as_returns_matrix(returns)
    vector = as_weight_vector(weights, names, values.shape[1])
    confidence, horizon = check_confidence(confidence), check_horizon(horizon)
    _check_measure(measure)
    if scaling == "overlapping":
        total, parts = historical_components(
            vector, horizon_returns(values, horizon), confidence, measure
        )
    elif scaling == "sqrt":
        total, parts = historical_components(vector, values, confidence, measure)
        total, parts = total * math.sqrt(horizon), parts * math.sqrt(horizon)
    else:
        raise RiskInputError(f"unknown horizon scaling {scaling!r}")
    return RiskContributions(f"historical_{measure}", total, _frozen(parts), names)


def _check_measure(measure: str) -> None:
    if measure not in ("var", "cvar"):
        raise RiskInputError(f"measure must be 'var' or 'cvar', got {measure!r}")


def _names(names: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(str(n) for n in names)


# --------------------------------------------------------------------------- factor split
@dataclass(frozen=True, slots=True)
class FactorAttribution:
    """Portfolio risk split into factor and specific parts (daily units, fractions of NAV).

    ``factor_contributions`` are volatility contributions b_k (F b)_k / σ_p; with
    ``specific_contribution`` = wᵀDw / σ_p they add up to ``total_volatility``.
    ``asset_by_factor`` holds w_i B_ik (F b)_k / σ_p (rows: assets, columns: factors).
    """

    exposures: np.ndarray
    factor_contributions: np.ndarray
    specific_contribution: float
    total_volatility: float
    factor_variance: float
    specific_variance: float
    asset_by_factor: np.ndarray
    asset_names: tuple[str, ...] | None
    factor_names: tuple[str, ...] | None

    @property
    def total_variance(self) -> float:
        return self.factor_variance + self.specific_variance

    @property
    def factor_share(self) -> float:
        """Share of variance explained by the factors."""
        return self.factor_variance / self.total_variance if self.total_variance else 0.0


def factor_attribution(
    weights: Any,
    model: Any,
    *,
    specific: Literal["diagonal", "full"] = "diagonal",
) -> FactorAttribution:
    """Split a book's variance into factor and specific parts with a fitted factor model.

    ``model`` is a fitted :class:`~research.risk.factor_model.FactorModel` (anything with
    ``loadings_``, ``factor_covariance_``, ``residual_covariance_``). ``specific="diagonal"``
    is the usual factor model (uncorrelated residuals, D = diag); ``"full"`` keeps the
    residual cross-covariance, in which case factor + specific variance equals the
    in-sample variance of the book's returns exactly.
    """
    if not hasattr(model, "loadings_"):
        raise RiskInputError("factor model is not fitted; call fit(asset_returns, factor_returns)")
    names = getattr(model, "feature_names_in_", None)
    loadings = model.loadings_
    vector = as_weight_vector(weights, names, loadings.shape[0])
    residual = model.residual_covariance_
    if specific == "diagonal":
        specific_variance = float(vector * vector @ np.diag(residual))
    elif specific == "full":
        specific_variance = float(vector @ residual @ vector)
    else:
        raise RiskInputError(f"specific must be 'diagonal' or 'full', got {specific!r}")
    exposures = loadings.T @ vector
    factor_marginal = model.factor_covariance_ @ exposures
    factor_variance = float(exposures @ factor_marginal)
    total = factor_variance + specific_variance
    sigma = math.sqrt(total) if total > 0 else 0.0
    scale = 1.0 / sigma if sigma > 0 else 0.0
    return FactorAttribution(
        exposures=_frozen(exposures),
        factor_contributions=_frozen(exposures * factor_marginal * scale),
        specific_contribution=specific_variance * scale,
        total_volatility=sigma,
        factor_variance=factor_variance,
        specific_variance=specific_variance,
        asset_by_factor=_frozen(vector[:, None] * loadings * factor_marginal[None, :] * scale),
        asset_names=names,
        factor_names=getattr(model, "factor_names_", None),
    )
