"""Coverage of the execution-comparison study's 95% intervals, by seeded Monte Carlo against
known truth (``sim.tca.coverage``: day effects, heavy-tailed order noise, a strategy truly 15%
cheaper), at the scale tests/tca/test_tca_coverage.py cannot afford in CI.

Prints, per setting and number of days: the share of studies whose interval of the mean
market cost, the paired difference and the % reduction contains the truth (target 95%), the
share of % reductions without a bounded interval, and, for contrast, what the percentile
cluster bootstrap the study used before (orders resampled below five days) covered on the
same kind of data. Then the verdict's false "holds" rate when five strategies all truly save
14% (outside the claimed 15-18%), and the power achieved at the reported "days needed".

Run: ``python benchmarks/bench_coverage.py`` (``--quick`` for fewer studies).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import numpy as np

from sim.tca import (
    DayClusters,
    days_needed,
    power_at,
    ratio_interval,
)
from sim.tca.coverage import PRECISE, KnownTruth, claim_pass_rates, coverage, simulate

SETTINGS = {  # label -> (truth, days to run)
    "default (day sd 1.5 bps, 43 orders/day)": (KnownTruth(), (4, 5, 10, 23)),
    "strong day shifts (sd 4.25 bps)": (KnownTruth(day_sd_bps=4.25, diff_day_sd_bps=1.0),
                                        (4, 5, 10, 23)),
    "250 orders/day": (KnownTruth(orders_per_day=250), (4, 5)),
}


def old_percentile_bootstrap(day, market, strategy, rng, n_boot=500):
    """The previous method, for contrast: percentile intervals from resampling days with
    replacement (orders when there were fewer than 5 days), ratio-of-sums means."""
    clusters = day if day.max() + 1 >= 5 else np.arange(day.size)
    k = int(clusters.max()) + 1
    w = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)
    n = w @ np.bincount(clusters, minlength=k)
    m = w @ np.bincount(clusters, market, minlength=k)
    s = w @ np.bincount(clusters, strategy, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = {"mean": m / n, "diff": (s - m) / n, "reduction": 100.0 * (m - s) / m}
    return {key: np.percentile(v[np.isfinite(v)], [2.5, 97.5]) for key, v in stats.items()}


def old_coverage(truth, n_days, studies, seed):
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_days, 1]))
    truths = {"mean": truth.market_bps, "diff": truth.diff_bps,
              "reduction": truth.reduction_pct}
    hits = dict.fromkeys(truths, 0)
    for _ in range(studies):
        day, market, strategy = simulate(truth, n_days, rng)
        for key, (lo, hi) in old_percentile_bootstrap(day, market, strategy, rng).items():
            hits[key] += lo <= truths[key] <= hi
    return {k: v / studies for k, v in hits.items()}


def power_check(studies, seed):
    truth = KnownTruth()
    rng = np.random.default_rng(seed)
    day, market, strategy = simulate(truth, 3000, rng)
    c = DayClusters(day)
    need = days_needed(c.totals(strategy - market), c.totals(np.ones(day.size)),
                       truth.diff_bps)
    rows = []
    for days in (need["days"] - 2, need["days"], need["days"] + 4):
        hits = 0
        for _ in range(studies):
            d, m, s = simulate(truth, days, rng)
            cc = DayClusters(d)
            r = ratio_interval(cc.totals(s - m), cc.totals(np.ones(d.size)))
            hits += r.hi < 0 or r.lo > 0
        rows.append((days, power_at(days, need["sd_per_day_bps"], truth.diff_bps),
                     hits / studies))
    return need, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    studies = 2_000 if args.quick else args.studies
    t0 = time.perf_counter()
    print(f"95% interval coverage, {studies:,} seeded studies per row "
          f"(Monte Carlo se {100 * math.sqrt(0.95 * 0.05 / studies):.2f} points)")
    print(f"{'setting':<42} {'days':>4}  {'mean':>6} {'diff':>6} {'red %':>6} "
          f"{'unbounded':>9}   old bootstrap: mean / diff / red")
    for label, (truth, day_counts) in SETTINGS.items():
        for n_days in day_counts:
            c = coverage(truth, n_days, studies, seed=2026)
            old = old_coverage(truth, n_days, max(studies // 5, 400), seed=2026)
            print(f"{label:<42} {n_days:>4}  {100 * c.mean:6.1f} {100 * c.diff:6.1f} "
                  f"{100 * c.reduction:6.1f} {100 * c.reduction_unbounded:8.1f}%   "
                  f"{100 * old['mean']:.1f} / {100 * old['diff']:.1f} / "
                  f"{100 * old['reduction']:.1f}")
    print("\nVerdict says 'holds' when five strategies all truly save 14% (23 days, "
          "250 orders/day):")
    labels = {"old_rule": "old rule (±1.5 points, best of 5)",
              "best_unadjusted": "inside 15-18%, best of 5, unadjusted",
              "best_adjusted": "inside 15-18%, Bonferroni over 5 (the default)",
              "named": "inside 15-18%, one strategy named in advance"}
    rates = claim_pass_rates(replace(PRECISE, saving=0.14), 23, 5, max(studies // 10, 300),
                             seed=5)
    for key, share in rates.items():
        print(f"  {labels[key]:<52} {100 * share:5.1f}%")
    need, rows = power_check(max(studies // 5, 500), seed=11)
    print(f"\nDays needed to detect the true difference ({need['effect_bps']:.2f} bps) with "
          f"80% power: {need['days']} (range {need['days_range'][0]}-{need['days_range'][1]}, "
          f"{need['orders_per_day']:.1f} orders/day)")
    for days, predicted, achieved in rows:
        print(f"  {days:>3} days: stated power {100 * predicted:5.1f}%, achieved "
              f"{100 * achieved:5.1f}%")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
