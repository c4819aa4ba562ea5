"""Value at Risk and CVaR (expected shortfall) of a return series.

Sign and units
    Both are **positive loss fractions** of the position's value (0.04 = a 4% loss). A
    negative number means that even the tail outcome is a gain.

Quantile convention (the one of skfolio and of ``numpy.quantile(method="inverted_cdf")``)
    With n equally weighted daily returns and k = (1 − confidence)·n, VaR is the lower
    confidence-quantile of the losses −r: ``np.quantile(-r, confidence,
    method="inverted_cdf")``, i.e. the (⌊k⌋+1)-th largest loss. CVaR is the
    Rockafellar–Uryasev tail mean of the worst k observations, the boundary observation
    taking the fractional weight k − ⌈k⌉ + 1, which equals ``skfolio.measures.cvar``.
    With n = 100 at 95% VaR is the 6th largest loss and CVaR the mean of the 5 largest.
    A tail of less than one observation (k < 1) is refused rather than reported as the
    single worst day.

Methods
    ``historical``      order statistics of the observed returns.
    ``gaussian``        −(μ_h) + z_c·σ_h and −(μ_h) + σ_h·φ(z_c)/(1 − c); σ with ddof=1.
    ``cornish_fisher``  the Gaussian quantile corrected for sample skewness and excess
                        kurtosis (moments with 1/n); CVaR is the exact tail mean of the
                        Cornish–Fisher quantile function (closed form through the
                        truncated-normal moments).
    ``monte_carlo``     i.i.d. bootstrap Monte Carlo: ``n_paths`` h-day paths, each h daily
                        returns drawn with replacement from the history and compounded.
    ``fhs``             filtered historical simulation: returns are divided by an EWMA
                        (RiskMetrics, λ = 0.94) volatility to get standardised residuals;
                        paths re-scale bootstrapped residuals by a volatility that follows
                        the same EWMA recursion from today's forecast, and are compounded.
                        No GARCH fit: the EWMA filter has no parameters to estimate, cannot
                        fail to converge and reacts to volatility clusters the same way.
                        A simulated day below −100% is floored at −100% (compounding past a
                        total loss is undefined).
    Simulations are seeded; the same seed and input give the same number.

Horizon (``horizon`` trading days) and ``scaling``
    ``"sqrt"`` (default): the 1-day figure is carried to h days assuming i.i.d. returns.
        Historical VaR/CVaR are multiplied by √h; Gaussian uses μ·h and σ·√h; Cornish–
        Fisher also divides skewness by √h and excess kurtosis by h (the i.i.d. moment
        aggregation). Caveat: √h is exact only for i.i.d. returns; volatility clustering,
        autocorrelation and jumps make it wrong in either direction (Danielsson & Zigrand
        2006 show it understates risk under jumps).
    ``"overlapping"``: the method is applied to overlapping compounded h-day returns
        (n − h + 1 of them). No i.i.d. assumption, but successive windows share h − 1 days,
        so a 252-day window holds only ~12 independent 21-day outcomes and the estimate is
        noisy.
    Simulation methods (``monte_carlo``, ``fhs``) always build h-day paths by simulation;
    ``scaling`` does not apply to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from research.risk._validation import as_return_series, check_confidence, check_horizon
from research.risk.errors import InsufficientDataError, RiskInputError

VaRMethod = Literal["historical", "gaussian", "cornish_fisher", "monte_carlo", "fhs"]
HorizonScaling = Literal["sqrt", "overlapping"]

METHODS: tuple[str, ...] = ("historical", "gaussian", "cornish_fisher", "monte_carlo", "fhs")
SCALINGS: tuple[str, ...] = ("sqrt", "overlapping")
#: RiskMetrics daily decay of the FHS volatility filter.
RISKMETRICS_LAMBDA = 0.94
_EPS = float(np.finfo(float).eps)
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class TailRisk:
    """VaR and CVaR of one series at one confidence and horizon (positive loss fractions)."""

    var: float
    cvar: float
    confidence: float
    horizon: int
    method: str
    scaling: str
    n_observations: int


# --------------------------------------------------------------------------- order statistics
def tail_indices(n_observations: int, confidence: float) -> tuple[float, int, int]:
    """``(k, i_var, i_cvar)`` for n ascending-sorted returns at ``confidence``.

    ``k = (1 − c)·n`` is the tail mass in observations; VaR is ``-sorted[i_var]`` and CVaR
    averages ``sorted[:i_cvar]`` plus the fraction ``k − i_cvar`` of ``sorted[i_cvar]``.
    """
    k = (1.0 - confidence) * n_observations
    if k < 1.0 - 4.0 * _EPS * n_observations:
        needed = math.ceil(1.0 / (1.0 - confidence) - 1e-9)
        raise InsufficientDataError(
            f"{n_observations} observations leave less than one observation in the "
            f"{1 - confidence:.4g} tail; at confidence {confidence} at least {needed} are needed"
        )
    # k carries floating-point error: (1 - 0.9) * 10 is 0.99999...; an integer tail size
    # must not be rounded down, hence the tolerance scaled by n.
    i_var = min(n_observations - 1, int(math.floor(k + 4.0 * _EPS * n_observations)))
    i_cvar = max(0, int(math.ceil(k)) - 1)
    return k, i_var, i_cvar


def historical_var_cvar(returns: np.ndarray, confidence: float) -> tuple[float, float]:
    """Historical 1-period VaR and CVaR of a finite 1-D array (no input checks: hot path)."""
    k, i_var, i_cvar = tail_indices(returns.shape[0], confidence)
    kth = i_cvar if i_var == i_cvar else (i_cvar, i_var)
    part = np.partition(returns, kth)
    tail_sum = float(part[:i_cvar].sum()) + float(part[i_cvar]) * (k - i_cvar)
    return -float(part[i_var]), -tail_sum / k


def tail_scenarios(returns: np.ndarray, confidence: float) -> tuple[int, np.ndarray, np.ndarray]:
    """The VaR scenario and the CVaR tail as (index, tail indices, tail weights summing to 1).

    Used for the scenario (Euler) decomposition of historical VaR and CVaR: the same
    observations and weights that produce the portfolio figures.
    """
    k, i_var, i_cvar = tail_indices(returns.shape[0], confidence)
    order = np.argsort(returns, kind="stable")
    weights = np.ones(i_cvar + 1)
    weights[i_cvar] = k - i_cvar
    return int(order[i_var]), order[: i_cvar + 1], weights / k


def horizon_returns(returns: np.ndarray, horizon: int) -> np.ndarray:
    """Overlapping compounded ``horizon``-day returns, shape ``(n − h + 1, ...)``."""
    if horizon == 1:
        return returns
    n = returns.shape[0]
    if n < horizon:
        raise InsufficientDataError(f"{n} daily returns cannot form a single {horizon}-day return")
    if np.any(returns <= -1.0):
        raise RiskInputError("a daily return <= -100% cannot be compounded")
    log_growth = np.cumsum(np.log1p(returns), axis=0)
    zero = np.zeros((1,) + returns.shape[1:])
    log_growth = np.concatenate([zero, log_growth], axis=0)
    return np.expm1(log_growth[horizon:] - log_growth[:-horizon])


# --------------------------------------------------------------------------- parametric
def gaussian_var_cvar(
    mean: float, sd: float, confidence: float, horizon: int = 1
) -> tuple[float, float]:
    """Gaussian VaR and CVaR at h days from daily mean and sd (mean × h, sd × √h)."""
    z = _STANDARD_NORMAL.inv_cdf(confidence)
    mean_h, sd_h = mean * horizon, sd * math.sqrt(horizon)
    return -mean_h + z * sd_h, -mean_h + sd_h * _STANDARD_NORMAL.pdf(z) / (1.0 - confidence)


def cornish_fisher_var_cvar(
    mean: float, sd: float, skewness: float, excess_kurtosis: float, confidence: float
) -> tuple[float, float]:
    """Cornish–Fisher (modified) VaR and CVaR of one period.

    The lower quantile q = Φ⁻¹(1 − c) becomes
    z_cf = q + (q² − 1)S/6 + (q³ − 3q)K/24 − (2q³ − 5q)S²/36; CVaR is
    −(μ + σ·E[z_cf(U) | U < 1 − c]), integrated in closed form with the moments of the
    standard normal below q.
    """
    alpha = 1.0 - confidence
    q = _STANDARD_NORMAL.inv_cdf(alpha)
    s, kx = skewness, excess_kurtosis
    z_cf = q + (q * q - 1) * s / 6 + (q**3 - 3 * q) * kx / 24 - (2 * q**3 - 5 * q) * s * s / 36
    density = _STANDARD_NORMAL.pdf(q)
    m0, m1, m2, m3 = alpha, -density, alpha - q * density, -(q * q + 2) * density
    tail_mean = (
        m1 + (m2 - m0) * s / 6 + (m3 - 3 * m1) * kx / 24 - (2 * m3 - 5 * m1) * s * s / 36
    ) / alpha
    return -(mean + sd * z_cf), -(mean + sd * tail_mean)


def _moments(returns: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd (ddof=1), skewness and excess kurtosis (both with 1/n moments)."""
    n = returns.shape[0]
    if n < 3:
        raise InsufficientDataError(f"parametric VaR needs at least 3 observations, got {n}")
    mean = float(returns.mean())
    centred = returns - mean
    m2 = float(centred @ centred) / n
    if m2 <= 1e-24:  # sd below 1e-12: a constant series up to rounding
        raise RiskInputError("returns are constant: the parametric VaR has no volatility to use")
    m3 = float((centred**3).sum()) / n
    m4 = float((centred**4).sum()) / n
    sd = math.sqrt(m2 * n / (n - 1))
    return mean, sd, m3 / m2**1.5, m4 / (m2 * m2) - 3.0


# --------------------------------------------------------------------------- simulation
def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(0 if seed is None else seed)


def ewma_variance(returns: np.ndarray, decay: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """Variance forecasts σ²_t (made at t − 1) for t = 0..n: the last entry is tomorrow's.

    σ²_0 is the sample second moment of the series; σ²_{t+1} = λσ²_t + (1 − λ)r_t²
    (zero mean, RiskMetrics). Length n + 1.
    """
    from scipy.signal import lfilter

    squared = returns * returns
    seed_variance = float(squared.mean())
    # lfilter's direct form: v_t = λ v_{t-1} + (1 − λ) x_t, with v_{-1} = σ²_0.
    filtered, _ = lfilter([1.0 - decay], [1.0, -decay], squared, zi=[decay * seed_variance])
    return np.concatenate([[seed_variance], filtered])


def simulate_horizon_returns(
    returns: np.ndarray,
    horizon: int,
    method: str,
    n_paths: int,
    seed: int | np.random.Generator | None,
    decay: float = RISKMETRICS_LAMBDA,
) -> np.ndarray:
    """``n_paths`` simulated compounded h-day returns (``monte_carlo`` or ``fhs``)."""
    if n_paths < 1:
        raise RiskInputError(f"n_paths must be positive, got {n_paths}")
    if np.any(returns <= -1.0):
        raise RiskInputError("a daily return <= -100% cannot be compounded into a path")
    rng = _rng(seed)
    n = returns.shape[0]
    draws = rng.integers(0, n, size=(n_paths, horizon))
    if method == "monte_carlo":
        daily = returns[draws]
        return np.expm1(np.log1p(daily).sum(axis=1))
    variance = ewma_variance(returns, decay)
    if variance[0] <= 1e-24:
        raise RiskInputError("returns are all zero: FHS has no volatility to filter")
    residuals = returns / np.sqrt(variance[:-1])
    sigma2 = np.full(n_paths, variance[-1])
    log_growth = np.zeros(n_paths)
    for day in range(horizon):  # h steps, each vectorised over the paths
        simulated = np.sqrt(sigma2) * residuals[draws[:, day]]
        log_growth += np.log1p(np.maximum(simulated, -0.999999))
        sigma2 = decay * sigma2 + (1.0 - decay) * simulated * simulated
    return np.expm1(log_growth)


# --------------------------------------------------------------------------- public API
def var_cvar(
    returns: Any,
    confidence: float = 0.95,
    method: VaRMethod = "historical",
    horizon: int = 1,
    *,
    scaling: HorizonScaling = "sqrt",
    n_paths: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> TailRisk:
    """VaR and CVaR of a 1-D daily return series; see the module docstring for conventions.

    Parameters
    ----------
    returns : 1-D array or Series of daily simple returns (fractions). NaN is an error.
    confidence : VaR confidence in (0, 1), e.g. 0.95.
    method : "historical", "gaussian", "cornish_fisher", "monte_carlo" or "fhs".
    horizon : trading days.
    scaling : "sqrt" (i.i.d. aggregation of the 1-day figure) or "overlapping".
    n_paths, seed : simulation size and seed (``monte_carlo``, ``fhs``); ``None`` = seed 0.
    """
    series = as_return_series(returns)
    confidence = check_confidence(confidence)
    horizon = check_horizon(horizon)
    if method not in METHODS:
        raise RiskInputError(f"unknown VaR method {method!r}; choose one of {METHODS}")
    if scaling not in SCALINGS:
        raise RiskInputError(f"unknown horizon scaling {scaling!r}; choose one of {SCALINGS}")

    if method in ("monte_carlo", "fhs"):
        simulated = simulate_horizon_returns(series, horizon, method, int(n_paths), seed)
        value_at_risk, shortfall = historical_var_cvar(simulated, confidence)
    else:
        sample, steps = series, horizon
        if scaling == "overlapping":
            sample, steps = horizon_returns(series, horizon), 1
        if method == "historical":
            value_at_risk, shortfall = historical_var_cvar(sample, confidence)
            value_at_risk, shortfall = (
                value_at_risk * math.sqrt(steps),
                shortfall * math.sqrt(steps),
            )
        else:
            mean, sd, skewness, excess_kurtosis = _moments(sample)
            if method == "gaussian":
                value_at_risk, shortfall = gaussian_var_cvar(mean, sd, confidence, steps)
            else:
                value_at_risk, shortfall = cornish_fisher_var_cvar(
                    mean * steps,
                    sd * math.sqrt(steps),
                    skewness / math.sqrt(steps),
                    excess_kurtosis / steps,
                    confidence,
                )
    return TailRisk(
        var=float(value_at_risk),
        cvar=float(shortfall),
        confidence=confidence,
        horizon=horizon,
        method=method,
        scaling=scaling,
        n_observations=series.shape[0],
    )


def var(
    returns: Any,
    confidence: float = 0.95,
    method: VaRMethod = "historical",
    horizon: int = 1,
    **kwargs: Any,
) -> float:
    """Value at Risk of a 1-D daily return series as a positive loss fraction.

    ``var(aapl_returns)`` is the 1-day historical 95% VaR with skfolio's convention.
    Keywords: ``scaling``, ``n_paths``, ``seed`` (see :func:`var_cvar`).
    """
    return var_cvar(returns, confidence, method, horizon, **kwargs).var


def cvar(
    returns: Any,
    confidence: float = 0.95,
    method: VaRMethod = "historical",
    horizon: int = 1,
    **kwargs: Any,
) -> float:
    """CVaR (expected shortfall) of a 1-D daily return series as a positive loss fraction."""
    return var_cvar(returns, confidence, method, horizon, **kwargs).cvar
