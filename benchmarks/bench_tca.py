"""Wall time of the paired execution-comparison study (``sim.tca.compare_strategies``).

Workloads on the embedded synthetic minute bars of the 20 S&P 500 names (built in memory,
seeded): synthetic parent orders x all six strategies, each strategy a full engine + simulated
broker run. One warm-up on a small case, then ``--repeats`` timed runs; reports median and
p99 of the total and the per-phase medians. Run: ``python benchmarks/bench_tca.py``
(``--quick`` for the one-week case only).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from research.data import SynthParams, load_sp500_closes, synthesize_minute_bars
from sim.orders import synthetic_parent_orders
from sim.tca import compare_strategies

CASES = (  # (label, history start, study first, study last, n_orders)
    ("1 week, 200 orders", "2022-05-02", "2022-06-06", "2022-06-10", 200),
    ("1 month, 1000 orders", "2022-05-02", "2022-06-01", "2022-06-30", 1000),
)


def build(history_start: str, first: str, last: str, n_orders: int):
    closes = load_sp500_closes()
    bars = synthesize_minute_bars(closes, history_start, last, SynthParams(seed=7))
    day = bars["timestamp"].dt.tz_localize(None).dt.normalize()
    window = bars[day >= pd.Timestamp(first)]
    orders = synthetic_parent_orders(window, n_orders, seed=1, daily_bars=bars)
    return bars, orders


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    cases = CASES[:1] if args.quick else CASES
    wb, wo = build("2022-05-02", "2022-06-06", "2022-06-07", 10)
    compare_strategies(wb, wo, code_version="bench")  # warm-up
    print(f"{'workload':<24}{'bars':>7}{'syms':>6}{'median s':>10}{'p99 s':>8}  per strategy "
          "(median s)")
    for label, h0, first, last, n in cases:
        bars, orders = build(h0, first, last, n)
        totals, phases = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            res = compare_strategies(bars, orders, seed=0, code_version="bench", n_jobs=args.jobs)
            totals.append(time.perf_counter() - t0)
            phases.append(res.elapsed_s)
        med = statistics.median(totals)
        p99 = float(np.percentile(totals, 99))
        per = {k: statistics.median(p[k] for p in phases) for k in phases[0] if k != "total"}
        n_bars = res.summary["meta"]["bars"]
        print(f"{label:<24}{len(bars['timestamp'].unique()):>7}{len(n_bars['symbols']):>6}"
              f"{med:>10.2f}{p99:>8.2f}  " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))


if __name__ == "__main__":
    main()
