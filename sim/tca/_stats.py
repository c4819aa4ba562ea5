"""Statistics of the paired study: clustered bootstrap intervals and the orders-needed figure.

Orders on the same trading day share market moves, so intervals resample whole days (cluster
bootstrap, percentile intervals, one seeded weight matrix shared by every statistic so that
all intervals of one result come from the same resamples). With fewer than
``MIN_CLUSTERS`` days the clusters are single orders (i.i.d. bootstrap) and the result says so.
"""

from __future__ import annotations

import math

import numpy as np

MIN_CLUSTERS = 5
Z95 = 1.959963984540054
Z80_POWER = 0.8416212335729143


class ClusterBootstrap:
    """Resampling weights over clusters: ``weights[b, c]`` = times cluster ``c`` is drawn in
    resample ``b``. ``cluster_of`` maps each observation to its cluster (0..n_clusters-1)."""

    def __init__(self, cluster_of: np.ndarray, n_boot: int, seed: int):
        cluster_of = np.asarray(cluster_of, np.int64)
        self.n_clusters = int(cluster_of.max()) + 1 if cluster_of.size else 0
        self.cluster_of = cluster_of
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7CA]))
        k = max(self.n_clusters, 1)
        self.weights = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)

    def _sums(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.cluster_of, x, minlength=self.n_clusters)

    def means(self, x: np.ndarray) -> np.ndarray:
        """Resampled means of ``x`` (one per resample)."""
        x = np.asarray(x, float)
        s = self.weights @ self._sums(x)
        n = self.weights @ self._sums(np.ones_like(x))
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / n


def percentile_ci(samples: np.ndarray) -> list[float | None]:
    s = samples[np.isfinite(samples)]
    if s.size == 0:
        return [None, None]
    lo, hi = np.percentile(s, [2.5, 97.5])
    return [float(lo), float(hi)]


def orders_needed(diff: np.ndarray, clustered_var_of_mean: float) -> dict:
    """Paired orders needed to resolve the observed mean difference at 95%.

    ``ci``: the 95% interval's half width falls to |mean| (the interval just excludes 0 if the
    mean stays put): n = deff * (1.96 sd / |mean|)^2. ``power80``: 80% power for a two-sided 5%
    test of a true difference equal to the observed one: n = deff * ((1.96 + 0.84) sd / |mean|)^2.
    ``design_effect`` = clustered variance of the mean / i.i.d. variance (>= 1 when same-day
    orders move together), estimated from the bootstrap.
    """
    d = np.asarray(diff, float)
    n = d.size
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if not (n > 1 and sd > 0 and abs(mean) > 0):
        return {"ci": None, "power80": None, "design_effect": None}
    deff = max(1.0, clustered_var_of_mean * n / sd**2) if np.isfinite(clustered_var_of_mean) else 1.0
    base = (sd / abs(mean)) ** 2 * deff
    return {"ci": int(math.ceil(Z95**2 * base)),
            "power80": int(math.ceil((Z95 + Z80_POWER) ** 2 * base)),
            "design_effect": float(deff)}
