"""VaR backtesting: exceptions, Kupiec POF, Christoffersen independence, conditional
coverage and the Basel traffic light generalised through the binomial distribution.

Conventions: ``p`` is the exception probability, 1 − VaR confidence (0.01 for a 99% VaR).
A day is an exception when its loss exceeds the VaR forecast made the day before:
``-r_t > VaR_t``. Backtest 1-day VaR: exceptions of overlapping h-day P&Ls are dependent by
construction, which invalidates the χ² p-values below.

* Kupiec (1995) proportion of failures, χ²(1):
  LR = −2[(N−x) ln(1−p) + x ln p] + 2[(N−x) ln(1−x/N) + x ln(x/N)].
* Christoffersen (1998) independence, χ²(1), from the transition counts n_ij (state i
  yesterday → j today, 1 = exception): a first-order Markov chain against i.i.d.
* Conditional coverage: LR_POF + LR_ind, χ²(2).
* Traffic light (Basel 1996, any N and p): with F the binomial CDF of the exception count,
  green while F(x) < 95%, yellow while F(x) < 99.99%, red beyond. At N = 250, p = 1%:
  green 0–4, yellow 5–9, red 10+.

0·ln 0 is taken as 0 throughout (no exceptions, or no exception followed by another).

Expected shortfall: Acerbi & Szekely (2014) test 2 ("testing ES directly"),
  Z2 = Σ_t X_t·I_t / (T·α·ES_t) + 1,  I_t = 1{X_t < −VaR_t},
X_t the day's return, α = 1 − confidence, VaR_t and ES_t the positive forecasts. E[Z2] = 0
when the forecast distributions are right; Z2 < 0 says the tail is worse than forecast
(one-sided test). Its null distribution is simulated: Z2 is unchanged when a day's X_t,
VaR_t and ES_t are scaled together, so only the shape of the predictive distribution
matters — a zero-mean Gaussian or Student-t(ν), named in the result. Acerbi and Szekely
find the critical value nearly the same across those shapes (about −0.70 at 5%,
α = 2.5%, T = 250).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from research.risk._validation import as_return_series, check_confidence
from research.risk.errors import InsufficientDataError, RiskInputError
from research.risk.tail_risk import METHODS, tail_indices, var_cvar

GREEN_LEVEL = 0.95
YELLOW_LEVEL = 0.9999


@dataclass(frozen=True, slots=True)
class LikelihoodRatioTest:
    """A likelihood-ratio statistic, its χ² degrees of freedom and p-value."""

    name: str
    lr: float
    pvalue: float
    dof: int

    def rejects(self, level: float = 0.05) -> bool:
        """True when the model is rejected at significance ``level``."""
        return self.pvalue < level


@dataclass(frozen=True, slots=True)
class KupiecTest(LikelihoodRatioTest):
    n_obs: int = 0
    n_exceptions: int = 0
    expected_exceptions: float = 0.0


@dataclass(frozen=True, slots=True)
class ChristoffersenTest(LikelihoodRatioTest):
    pi01: float = 0.0  # P(exception today | none yesterday)
    pi11: float = 0.0  # P(exception today | exception yesterday)
    pi: float = 0.0  # unconditional exception rate over the transitions


class Zone(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class TrafficLight:
    zone: Zone
    n_obs: int
    n_exceptions: int
    cumulative_probability: float  # P(X <= n_exceptions) under a correct model
    green_max: int  # most exceptions still green
    yellow_max: int  # most exceptions still yellow


@dataclass(frozen=True, slots=True)
class VaRBacktest:
    """Every test on one series of 1-day VaR forecasts."""

    confidence: float
    exceptions: np.ndarray
    kupiec: KupiecTest
    independence: ChristoffersenTest
    conditional_coverage: LikelihoodRatioTest
    traffic_light: TrafficLight

    @property
    def n_obs(self) -> int:
        return int(self.exceptions.shape[0])

    @property
    def n_exceptions(self) -> int:
        return int(self.exceptions.sum())


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def _chi2_sf(statistic: float, dof: int) -> float:
    # Closed forms for 1 and 2 degrees of freedom: no scipy import on this path.
    statistic = max(statistic, 0.0)
    if dof == 1:
        return math.erfc(math.sqrt(statistic / 2.0))
    if dof == 2:
        return math.exp(-statistic / 2.0)
    raise ValueError(f"unsupported degrees of freedom {dof}")


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise RiskInputError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(value)


def _probability(p: float) -> float:
    p = float(p)
    if not 0.0 < p < 1.0:
        raise RiskInputError(
            f"exception probability p must be in (0, 1), got {p} (p = 1 - confidence)"
        )
    return p


def kupiec(n_obs: int, n_exceptions: int, p: float) -> KupiecTest:
    """Kupiec proportion-of-failures test of ``n_exceptions`` in ``n_obs`` days at rate ``p``."""
    n, x, p = _count(n_obs, "n_obs"), _count(n_exceptions, "n_exceptions"), _probability(p)
    if n == 0 or x > n:
        raise RiskInputError(f"need 0 <= n_exceptions <= n_obs and n_obs > 0, got {x} of {n}")
    rate = x / n
    lr = -2.0 * (_xlogy(n - x, 1 - p) + _xlogy(x, p) - _xlogy(n - x, 1 - rate) - _xlogy(x, rate))
    lr = max(lr, 0.0)
    return KupiecTest("kupiec_pof", lr, _chi2_sf(lr, 1), 1, n, x, n * p)


def christoffersen(n00: int, n01: int, n10: int, n11: int) -> ChristoffersenTest:
    """Christoffersen independence test from transition counts (n_ij: state i then j)."""
    n00, n01 = _count(n00, "n00"), _count(n01, "n01")
    n10, n11 = _count(n10, "n10"), _count(n11, "n11")
    total = n00 + n01 + n10 + n11
    if total == 0:
        raise RiskInputError("christoffersen needs at least one transition")
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / total
    restricted = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    unrestricted = (
        _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    )
    lr = max(-2.0 * (restricted - unrestricted), 0.0)
    return ChristoffersenTest("christoffersen_independence", lr, _chi2_sf(lr, 1), 1, pi01, pi11, pi)


def transition_counts(exceptions: Any) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11) of a boolean exception series."""
    hits = np.asarray(exceptions, dtype=bool)
    if hits.ndim != 1 or hits.size < 2:
        raise InsufficientDataError("transition counts need a 1-D series of at least 2 days")
    before, after = hits[:-1], hits[1:]
    return (
        int(np.sum(~before & ~after)),
        int(np.sum(~before & after)),
        int(np.sum(before & ~after)),
        int(np.sum(before & after)),
    )


def conditional_coverage(exceptions: Any, p: float) -> LikelihoodRatioTest:
    """Christoffersen conditional coverage LR_POF + LR_ind, χ²(2).

    LR_POF is taken on all N days and LR_ind on the N − 1 transitions (the MathWorks
    ``varbacktest`` convention).
    """
    hits = np.asarray(exceptions, dtype=bool)
    counts = transition_counts(hits)
    pof = kupiec(hits.size, int(hits.sum()), p)
    ind = christoffersen(*counts)
    lr = pof.lr + ind.lr
    return LikelihoodRatioTest("conditional_coverage", lr, _chi2_sf(lr, 2), 2)


def traffic_light_bounds(n_obs: int, p: float) -> tuple[int, int]:
    """(most exceptions in green, most in yellow) for ``n_obs`` days at rate ``p``."""
    from scipy.stats import binom

    n, p = _count(n_obs, "n_obs"), _probability(p)
    cdf = binom.cdf(np.arange(n + 1), n, p)
    green_max = int(np.searchsorted(cdf, GREEN_LEVEL, side="left")) - 1
    yellow_max = int(np.searchsorted(cdf, YELLOW_LEVEL, side="left")) - 1
    return green_max, max(yellow_max, green_max)


def traffic_light(n_obs: int, n_exceptions: int, p: float) -> TrafficLight:
    """Basel traffic-light zone of ``n_exceptions`` in ``n_obs`` days at rate ``p``."""
    from scipy.stats import binom

    n, x, p = _count(n_obs, "n_obs"), _count(n_exceptions, "n_exceptions"), _probability(p)
    if x > n:
        raise RiskInputError(f"n_exceptions ({x}) exceeds n_obs ({n})")
    green_max, yellow_max = traffic_light_bounds(n, p)
    zone = Zone.GREEN if x <= green_max else Zone.YELLOW if x <= yellow_max else Zone.RED
    return TrafficLight(zone, n, x, float(binom.cdf(x, n, p)), green_max, yellow_max)


def var_exceptions(returns: Any, var_forecasts: Any) -> np.ndarray:
    """Boolean exceptions: the day's loss exceeds the VaR forecast for that day."""
    realised = as_return_series(returns)
    forecasts = as_return_series(var_forecasts, name="VaR forecasts")
    if realised.shape != forecasts.shape:
        raise RiskInputError(
            f"{realised.size} returns but {forecasts.size} VaR forecasts; align them first"
        )
    return -realised > forecasts


def rolling_var(
    returns: Any,
    window: int = 252,
    confidence: float = 0.99,
    method: str = "historical",
    **kwargs: Any,
) -> np.ndarray:
    """1-day VaR forecasts: entry t uses returns[t : t + window] and forecasts day t + window.

    Returns ``len(returns) − window`` forecasts, aligned with ``returns[window:]`` (no
    look-ahead: a forecast never sees the day it is tested on).
    """
    series = as_return_series(returns)
    confidence = check_confidence(confidence)
    if method not in METHODS:
        raise RiskInputError(f"unknown VaR method {method!r}; choose one of {METHODS}")
    n = series.shape[0]
    if n <= window:
        raise InsufficientDataError(
            f"{n} returns leave nothing to test after a {window}-day window"
        )
    windows = np.lib.stride_tricks.sliding_window_view(series, window)[:-1]
    if method == "historical":
        _, i_var, _ = tail_indices(window, confidence)
        return -np.partition(windows, i_var, axis=1)[:, i_var]
    if method == "gaussian":
        from statistics import NormalDist

        z = NormalDist().inv_cdf(confidence)
        return -windows.mean(axis=1) + z * windows.std(axis=1, ddof=1)
    return np.array(
        [var_cvar(w, confidence, method, 1, **kwargs).var for w in windows]  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class ExpectedShortfallTest:
    """Acerbi–Szekely Z2 with its simulated critical value at significance ``level``."""

    z2: float
    critical_value: float  # the ``level`` quantile of Z2 under the null
    pvalue: float  # P(Z2 <= observed) under the null (one-sided)
    level: float
    n_obs: int
    n_exceptions: int
    distribution: str  # the null's predictive shape: "gaussian" or "student_t(ν)"
    n_sims: int
    seed: int

    def rejects(self) -> bool:
        """True when ES is understated at ``level`` (Z2 below its critical value)."""
        return self.z2 < self.critical_value


def acerbi_szekely_z2(returns: Any, var_forecasts: Any, es_forecasts: Any,
                      confidence: float) -> tuple[float, int]:
    """(Z2, exceptions) of aligned daily returns and positive VaR and ES forecasts."""
    realised = as_return_series(returns)
    var_f = as_return_series(var_forecasts, name="VaR forecasts")
    es_f = as_return_series(es_forecasts, name="ES forecasts")
    if not realised.shape == var_f.shape == es_f.shape:
        raise RiskInputError(f"{realised.size} returns, {var_f.size} VaR and {es_f.size} ES "
                             "forecasts; align them first")
    if realised.size == 0:
        raise InsufficientDataError("the ES backtest needs at least one day")
    if np.any(es_f <= 0.0):
        bad = int(np.flatnonzero(es_f <= 0.0)[0])
        raise RiskInputError(f"ES forecasts must be positive losses; day {bad} has {es_f[bad]} "
                             "(a book with no risk cannot be tested: drop those days)")
    alpha = 1.0 - check_confidence(confidence)
    hits = realised < -var_f
    z2 = float(np.sum(realised * hits / es_f) / (realised.size * alpha) + 1.0)
    return z2, int(hits.sum())


def _standard_tail(alpha: float, df: float | None) -> tuple[float, float]:
    """(VaR, ES) of the standard Gaussian (``df`` None) or Student-t(df) at tail ``alpha``."""
    from scipy import stats

    if df is None:
        z = stats.norm.ppf(alpha)
        return -z, stats.norm.pdf(z) / alpha
    t = stats.t.ppf(alpha, df)
    return -t, stats.t.pdf(t, df) * (df + t * t) / (df - 1.0) / alpha


def backtest_expected_shortfall(returns: Any, var_forecasts: Any, es_forecasts: Any,
                                confidence: float, *, level: float = 0.05,
                                df: float | None = None, n_sims: int = 5000,
                                seed: int = 0) -> ExpectedShortfallTest:
    """Acerbi–Szekely Z2 of aligned daily returns and VaR/ES forecasts at ``confidence``, its
    critical value at ``level`` and p-value from ``n_sims`` seeded simulations of the null:
    each day drawn from a zero-mean Gaussian (``df`` None) or Student-t(``df`` > 2), the
    forecasts being that distribution's own VaR and ES (see the module docstring)."""
    z2, n_hits = acerbi_szekely_z2(returns, var_forecasts, es_forecasts, confidence)
    if not 0.0 < level < 0.5:
        raise RiskInputError(f"level must be in (0, 0.5), got {level}")
    if df is not None and not df > 2.0:
        raise RiskInputError(f"df must be above 2 (a finite variance), got {df}")
    if int(n_sims) < 100:
        raise RiskInputError(f"n_sims must be at least 100 to place a 5% quantile, got {n_sims}")
    alpha = 1.0 - confidence
    n_obs = int(np.asarray(returns).shape[0])
    q, es = _standard_tail(alpha, df)
    rng = np.random.default_rng(seed)
    sims = np.empty(int(n_sims))
    chunk = max(1, 4_000_000 // max(n_obs, 1))  # ~32 MB of draws at a time
    for start in range(0, sims.size, chunk):
        size = (min(chunk, sims.size - start), n_obs)
        draws = rng.standard_normal(size) if df is None else rng.standard_t(df, size)
        sims[start:start + size[0]] = (np.where(draws < -q, draws, 0.0).sum(axis=1)
                                       / (n_obs * alpha * es) + 1.0)
    return ExpectedShortfallTest(
        z2=z2, critical_value=float(np.quantile(sims, level)),
        pvalue=float(np.mean(sims <= z2)), level=float(level), n_obs=n_obs,
        n_exceptions=n_hits, distribution="gaussian" if df is None else f"student_t({df:g})",
        n_sims=int(n_sims), seed=int(seed))


def backtest_var(returns: Any, var_forecasts: Any, confidence: float) -> VaRBacktest:
    """Run every test on aligned daily returns and 1-day VaR forecasts at ``confidence``."""
    confidence = check_confidence(confidence)
    p = 1.0 - confidence
    hits = var_exceptions(returns, var_forecasts)
    n, x = hits.size, int(hits.sum())
    return VaRBacktest(
        confidence=confidence,
        exceptions=hits,
        kupiec=kupiec(n, x, p),
        independence=christoffersen(*transition_counts(hits)),
        conditional_coverage=conditional_coverage(hits, p),
        traffic_light=traffic_light(n, x, p),
    )


__all__ = [
    "ChristoffersenTest",
    "ExpectedShortfallTest",
    "KupiecTest",
    "LikelihoodRatioTest",
    "TrafficLight",
    "VaRBacktest",
    "Zone",
    "acerbi_szekely_z2",
    "backtest_expected_shortfall",
    "backtest_var",
    "christoffersen",
    "conditional_coverage",
    "kupiec",
    "rolling_var",
    "traffic_light",
    "traffic_light_bounds",
    "transition_counts",
    "var_exceptions",
]
