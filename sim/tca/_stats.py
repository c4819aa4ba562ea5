"""Statistics of the paired study: intervals clustered by trading day that stay honest with few
days, and the number of days a study needs to detect a saving.

Orders on one trading day share that day's market moves, so the day, not the order, is the
independent unit: with G days there are G observations, however many orders each day holds.

Every number the study reports is a ratio of sums over orders, ``sum(a) / sum(b)``: a mean
(``b`` = 1 per order), the share-weighted fill rate (filled / ordered shares), the
notional-weighted IS (``a`` = IS x notional, ``b`` = notional) and the strategy-to-market cost
ratio behind the % reduction (``a`` = strategy IS, ``b`` = market IS, order by order).

* Where ``b`` is a weight (orders, shares, notional), the interval is **t(G-1) on day
  totals**: the ratio's standard error from the day totals' residuals ``a_g - ratio * b_g``
  with divisor G - 1 (the (G-1)/G correction) and a t critical value with G - 1 degrees of
  freedom. With equal orders per day it is the textbook t interval on the G day means. The
  resampling bootstrap it replaces was narrower by both a normal critical value and a
  variance too small by (G - 1) / G, and fell back to resampling orders below five days,
  ignoring the day effects that dominate.
* Where ``b`` is itself a noisy cost (the % reduction), the interval is **Fieller's**: the
  set of ``theta`` for which the day totals ``a_g - theta * b_g`` have mean zero by the same
  one-sample t(G-1) test. It is exact when day totals are normal and, when the market's cost
  is not resolved away from zero, unbounded, which is the honest answer: no % is quoted.

``sim.tca.coverage`` checks the coverage by simulation (tests/tca/test_tca_coverage.py and
benchmarks/bench_coverage.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

CI_LEVEL = 0.95
#: What every interval of the study is (``meta.interval_method``).
INTERVAL_METHOD = "t_day_totals"
INTERVAL_METHOD_TEXT = ("t(G-1) on day totals, G trading days (Fieller's interval for the % "
                        "reduction)")
#: Below this many trading days the verdict is "unresolved: too few days". The intervals are
#: still computed (and still cover), but with t(G-1) on three or fewer degrees of freedom one
#: odd day sets the variance; five days is the shortest study the coverage test accepts as
#: ordinary (tests/tca/test_tca_coverage.py), and the week of minute bars users fetch.
MIN_DAYS_FOR_VERDICT = 5
#: Power and two-sided level behind every "days needed" figure.
TARGET_POWER = 0.8
#: The range quoted with "days needed": the day-level variance at the ends of its 80%
#: confidence interval (chi-square with G - 1 degrees of freedom).
DAYS_RANGE_LEVEL = 0.8
MAX_DAYS = 1_000_000


@lru_cache(maxsize=4096)
def t_critical(level: float, days: int) -> float:
    """Two-sided critical value of t with ``days - 1`` degrees of freedom (cached: the
    coverage checks and the days-needed search ask for the same few values many times)."""
    return float(stats.t.ppf(0.5 + level / 2.0, days - 1))


class DayClusters:
    """Which trading day each order belongs to, and per-day totals of per-order values."""

    def __init__(self, days):
        codes, uniques = pd.factorize(pd.Series(days), sort=True)
        if (codes < 0).any():
            raise ValueError("tca statistics: an order has no trading day (NaN in 'day')")
        self.codes = codes.astype(np.int64)
        self.n_days = len(uniques)

    def totals(self, x) -> np.ndarray:
        """Per-day sums of ``x`` (one per day, in day order)."""
        return np.bincount(self.codes, weights=np.asarray(x, float), minlength=self.n_days)

    def subset(self, mask) -> DayClusters:
        """The clusters of the orders where ``mask`` is true (days without one are dropped)."""
        sub = DayClusters.__new__(DayClusters)
        codes = self.codes[np.asarray(mask, bool)]
        sub.codes = pd.factorize(codes, sort=True)[0].astype(np.int64)
        sub.n_days = int(sub.codes.max()) + 1 if sub.codes.size else 0
        return sub


@dataclass(frozen=True)
class RatioInterval:
    """Interval of ``sum(a) / sum(b)`` from day totals. ``lo``/``hi`` are None when the set
    is unbounded (``bounded`` false: Fieller's, a denominator not resolved away from zero) or
    there are fewer than two days. For Fieller's interval the quadratic
    ``qa t^2 - 2 qb t + qc <= 0`` is the whole confidence set (also when unbounded)."""

    estimate: float
    lo: float | None
    hi: float | None
    bounded: bool
    days: int
    level: float
    qa: float = math.nan
    qb: float = math.nan
    qc: float = math.nan

    def contains(self, theta: float) -> bool:
        """Whether ``theta`` is in the confidence set."""
        if self.days < 2:
            return True
        if math.isnan(self.qa):
            return bool(self.bounded and self.lo <= theta <= self.hi)
        return bool(self.qa * theta * theta - 2.0 * self.qb * theta + self.qc <= 0.0)

    def as_list(self) -> list[float | None]:
        return [self.lo, self.hi]


def ratio_interval(num_totals, den_totals, level: float = CI_LEVEL) -> RatioInterval:
    """t(G-1) interval of ``sum(num) / sum(den)`` from per-day totals, for a weight
    denominator (orders, shares, notional): standard error from the residuals
    ``num_g - ratio * den_g`` (delta method, divisor G - 1)."""
    a = np.asarray(num_totals, float)
    b = np.asarray(den_totals, float)
    g = a.size
    total_b = float(b.sum())
    estimate = float(a.sum()) / total_b if total_b != 0 else math.nan
    if g < 2 or not math.isfinite(estimate):
        return RatioInterval(estimate, None, None, False, g, level)
    sd, _ = day_sd(a, b)
    half = t_critical(level, g) * sd / math.sqrt(g)
    return RatioInterval(estimate, estimate - half, estimate + half, True, g, level)


def fieller_interval(num_totals, den_totals, level: float = CI_LEVEL) -> RatioInterval:
    """Fieller interval of ``sum(num) / sum(den)`` from per-day totals, for a noisy
    denominator (see the module doc); unbounded when ``den`` is not resolved from zero."""
    a = np.asarray(num_totals, float)
    b = np.asarray(den_totals, float)
    g = a.size
    total_b = float(b.sum())
    estimate = float(a.sum()) / total_b if total_b != 0 else math.nan
    if g < 2:
        return RatioInterval(estimate, None, None, False, g, level)
    a_bar, b_bar = float(a.mean()), float(b.mean())
    cov = np.cov(np.vstack([a, b]), ddof=1)
    k = t_critical(level, g) ** 2 / g
    qa = b_bar * b_bar - k * cov[1, 1]
    qb = a_bar * b_bar - k * cov[0, 1]
    qc = a_bar * a_bar - k * cov[0, 0]
    if not qa > 0:  # the denominator is not resolved away from zero: no bounded interval
        return RatioInterval(estimate, None, None, False, g, level, qa, qb, qc)
    root = math.sqrt(max(qb * qb - qa * qc, 0.0))
    return RatioInterval(estimate, (qb - root) / qa, (qb + root) / qa, True, g, level,
                         qa, qb, qc)


def mean_interval(values, clusters: DayClusters, level: float = CI_LEVEL) -> RatioInterval:
    """Equal-weighted mean over orders, interval clustered by day."""
    return ratio_interval(clusters.totals(values), clusters.totals(np.ones(len(values))), level)


def reduction_interval(strategy_totals, market_totals, level: float = CI_LEVEL) -> RatioInterval:
    """% reduction ``100 (1 - S / M)`` of summed costs (S strategy, M market on the same
    orders), from the Fieller interval of S / M. ``bounded`` only when the market's cost is
    resolved above zero (otherwise the ratio, and any % of it, is unbounded)."""
    r = fieller_interval(strategy_totals, market_totals, level)
    m = np.asarray(market_totals, float)
    bounded = r.bounded and float(m.sum()) > 0
    est = 100.0 * (1.0 - r.estimate) if math.isfinite(r.estimate) else math.nan
    # theta -> 100 (1 - theta) flips the interval; the quadratic in the % value x:
    # theta = 1 - x / 100 substituted into qa theta^2 - 2 qb theta + qc
    qa, qb, qc = r.qa / 1e4, (r.qa - r.qb) / 100.0, r.qa - 2.0 * r.qb + r.qc
    if not bounded:
        return RatioInterval(est, None, None, False, r.days, level, qa, qb, qc)
    return RatioInterval(est, 100.0 * (1.0 - r.hi), 100.0 * (1.0 - r.lo), True, r.days, level,
                         qa, qb, qc)


# ----------------------------------------------------------------------- days needed, power
def day_sd(num_totals, den_totals) -> tuple[float, float]:
    """(standard deviation of one day's contribution to ``sum(num) / sum(den)``, mean
    ``den`` per day): the ratio's standard error with G days is ``sd / sqrt(G)`` (delta
    method), and stays so for more days with the same orders per day."""
    a = np.asarray(num_totals, float)
    b = np.asarray(den_totals, float)
    g = a.size
    if g < 2 or float(b.sum()) == 0:
        return math.nan, math.nan
    ratio = float(a.sum() / b.sum())
    resid = a - ratio * b
    b_bar = float(b.mean())
    return float(math.sqrt(float(resid @ resid) / (g - 1)) / abs(b_bar)), b_bar


def power_at(days: int, sd_per_day: float, effect: float, level: float = CI_LEVEL) -> float:
    """Power of the two-sided t(days - 1) test at ``1 - level`` against a true ``effect`` when
    one day's contribution has standard deviation ``sd_per_day`` (noncentral t)."""
    if days < 2 or not sd_per_day > 0:
        return math.nan
    df = days - 1
    nc = abs(effect) / (sd_per_day / math.sqrt(days))
    crit = t_critical(level, days)
    upper = float(stats.nct.sf(crit, df, nc))
    lower = float(stats.nct.cdf(-crit, df, nc))
    # scipy's noncentral t returns NaN for a far tail (large nc): that tail is ~0; if the
    # near tail fails too, the normal approximation is exact enough there
    if math.isnan(upper):
        upper = float(stats.norm.sf(crit - nc))
    return upper + (0.0 if math.isnan(lower) else lower)


def _smallest_days(ok) -> int | None:
    """Smallest G in [2, MAX_DAYS] with ``ok(G)`` (``ok`` monotone in G), None if none."""
    if not ok(MAX_DAYS):
        return None
    lo, hi = 2, MAX_DAYS
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def days_to_detect(sd_per_day: float, effect: float, power: float = TARGET_POWER,
                   level: float = CI_LEVEL) -> int | None:
    """Fewest days (same orders per day) for the two-sided test at ``1 - level`` to detect a
    true ``effect`` with probability ``power``."""
    if not (sd_per_day > 0 and abs(effect) > 0):
        return None
    return _smallest_days(lambda g: power_at(g, sd_per_day, effect, level) >= power)


def days_to_half_width(sd_per_day: float, half_width: float,
                       level: float = CI_LEVEL) -> int | None:
    """Fewest days for the interval's expected half width ``t(G-1) sd / sqrt(G)`` to reach
    ``half_width``."""
    if not (sd_per_day > 0 and half_width > 0):
        return None
    return _smallest_days(
        lambda g: t_critical(level, g) * sd_per_day / math.sqrt(g) <= half_width)


def days_needed(num_totals, den_totals, effect: float, power: float = TARGET_POWER,
                level: float = CI_LEVEL) -> dict | None:
    """Days (at the observed orders per day) for the paired difference ``sum(num)/sum(den)``
    to detect a true ``effect`` with ``power`` (two-sided, ``1 - level``), with the range
    that the day-level variance's own 80% confidence interval gives; None with < 2 days."""
    a = np.asarray(num_totals, float)
    g = a.size
    sd, per_day = day_sd(num_totals, den_totals)
    if not (g >= 2 and sd > 0 and abs(effect) > 0):
        return None
    lo_q, hi_q = stats.chi2.ppf([(1 + DAYS_RANGE_LEVEL) / 2, (1 - DAYS_RANGE_LEVEL) / 2], g - 1)
    sd_low = sd * math.sqrt((g - 1) / lo_q)
    sd_high = sd * math.sqrt((g - 1) / hi_q)
    days = days_to_detect(sd, effect, power, level)
    return {
        "days": days, "days_range": [days_to_detect(sd_low, effect, power, level),
                                     days_to_detect(sd_high, effect, power, level)],
        "range_level": DAYS_RANGE_LEVEL, "orders_per_day": per_day,
        "orders": None if days is None else int(math.ceil(days * per_day)),
        "effect_bps": float(effect), "power": power, "alpha": 1.0 - level,
        "power_at_days": None if days is None else power_at(days, sd, effect, level),
        "sd_per_day_bps": sd, "days_observed": g,
    }


def design_effect(values, clusters: DayClusters) -> float | None:
    """Clustered variance of the mean / i.i.d. variance of the mean (no floor): how much the
    day effects inflate the variance. About 1 when days share nothing."""
    x = np.asarray(values, float)
    n = x.size
    if clusters.n_days < 2 or n < 2:
        return None
    sd, _ = day_sd(clusters.totals(x), clusters.totals(np.ones(n)))
    iid_var = float(x.var(ddof=1)) / n
    if not iid_var > 0:
        return None
    return float(sd ** 2 / clusters.n_days / iid_var)
