"""Known-truth studies for checking the study's intervals and "days needed" by simulation.

A paired study with day effects and heavy-tailed order noise whose true values are known:
market orders cost ``market_bps`` on average and the strategy exactly ``saving`` less (15%
by default). Per order ``i`` on day ``g``:

    market_i   = market_bps + u_g + e_i
    strategy_i = (1 - saving) * (market_bps + u_g + e_i) + w_g + f_i

``u_g`` (normal, ``day_sd_bps``) moves every order of a day, both strategies alike (the same
market path); ``w_g`` (normal, ``diff_day_sd_bps``) is a day-level shift of the strategy alone;
``e_i`` and ``f_i`` are Student t with 3 degrees of freedom (heavy tails) scaled to
``order_sd_bps`` and ``diff_order_sd_bps``. Orders per day are Poisson around
``orders_per_day`` (at least 2). Truth: mean market cost ``market_bps``, mean strategy cost
``(1 - saving) market_bps``, paired difference ``-saving market_bps``, reduction
``100 saving`` %.

Used by tests/tca/test_tca_coverage.py (small) and benchmarks/bench_coverage.py (large).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.tca._stats import CI_LEVEL, DayClusters, mean_interval, reduction_interval


@dataclass(frozen=True)
class KnownTruth:
    market_bps: float = 6.0
    saving: float = 0.15
    day_sd_bps: float = 1.5
    diff_day_sd_bps: float = 0.4
    order_sd_bps: float = 8.0
    diff_order_sd_bps: float = 3.0
    orders_per_day: float = 43.0

    @property
    def strategy_bps(self) -> float:
        return (1.0 - self.saving) * self.market_bps

    @property
    def diff_bps(self) -> float:
        return self.strategy_bps - self.market_bps

    @property
    def reduction_pct(self) -> float:
        return 100.0 * self.saving


def _t3(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    return rng.standard_t(3, n) * sd / math.sqrt(3.0)  # t(3) has variance 3


def simulate(truth: KnownTruth, n_days: int, rng: np.random.Generator):
    """One study: (day of each order, market IS, strategy IS), bps."""
    counts = np.maximum(rng.poisson(truth.orders_per_day, n_days), 2)
    day = np.repeat(np.arange(n_days), counts)
    n = int(counts.sum())
    u = rng.normal(0.0, truth.day_sd_bps, n_days)[day]
    w = rng.normal(0.0, truth.diff_day_sd_bps, n_days)[day]
    market = truth.market_bps + u + _t3(rng, n, truth.order_sd_bps)
    strategy = (1.0 - truth.saving) * market + w + _t3(rng, n, truth.diff_order_sd_bps)
    return day, market, strategy


@dataclass(frozen=True)
class Coverage:
    """Share of studies whose 95% confidence set contains the truth, per statistic, and the
    share whose % reduction had no bounded interval (market cost not resolved above 0;
    its confidence set is then unbounded and counted by whether it contains the truth)."""

    n_days: int
    n_studies: int
    mean: float
    diff: float
    reduction: float
    reduction_unbounded: float

    def mc_se(self, p: float = CI_LEVEL) -> float:
        """Monte Carlo standard error of a coverage share near ``p``."""
        return math.sqrt(p * (1 - p) / self.n_studies)


def coverage(truth: KnownTruth, n_days: int, n_studies: int, seed: int,
             level: float = CI_LEVEL) -> Coverage:
    """Run ``n_studies`` seeded studies of ``n_days`` days through the study's interval code
    and count how often each interval contains the truth."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_days]))
    hits = np.zeros(3)
    unbounded = 0
    for _ in range(n_studies):
        day, market, strategy = simulate(truth, n_days, rng)
        clusters = DayClusters(day)
        hits[0] += mean_interval(market, clusters, level).contains(truth.market_bps)
        hits[1] += mean_interval(strategy - market, clusters, level).contains(truth.diff_bps)
        red = reduction_interval(clusters.totals(strategy), clusters.totals(market), level)
        hits[2] += red.contains(truth.reduction_pct)
        unbounded += not red.bounded
    share = hits / n_studies
    return Coverage(n_days, n_studies, float(share[0]), float(share[1]), float(share[2]),
                    unbounded / n_studies)
