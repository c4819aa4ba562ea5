"""Cost of the simulated broker's spread sources (quotes and the bar estimators).

1. ``sim.response.half_spread_path`` per source on the embedded synthetic minute bars of the 20
   S&P 500 names over one month (~8k bars x 20 symbols): what every SimulatedBroker pays once
   at construction.
2. One sensitivity cell per spread source on the demo's workload (``make demo`` defaults: the
   embedded study window, 150 synthetic orders, market/limit/twap, 500 bootstrap resamples,
   2 jobs): the wall time each extra source adds to the notebook's sensitivity table.

Run: ``python benchmarks/bench_spread_sources.py`` (``--quick``: part 1 only).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from research.config import load_settings
from research.data import SynthParams, load_sp500_closes, synthesize_minute_bars
from sim.replay import BarReplay
from sim.response import SPREAD_SOURCES, half_spread_path


def bench_paths(repeats: int) -> None:
    bars = synthesize_minute_bars(load_sp500_closes(), "2022-06-01", "2022-06-30",
                                  SynthParams(seed=7))
    rp = BarReplay.from_frame(bars)
    print(f"half_spread_path on {rp.n_bars} bars x {rp.n_symbols} symbols (one month)")
    print(f"{'source':<16}{'median ms':>10}{'fallback share':>16}")
    for source in SPREAD_SOURCES:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            path = half_spread_path(source, rp.high, rp.low, rp.close, 1.5e-4,
                                    session_last=rp.session_last_bar())  # as the broker
            times.append(time.perf_counter() - t0)
        share = float(np.mean(path == 1.5e-4))
        print(f"{source:<16}{1e3 * statistics.median(times):>10.1f}{share:>16.1%}")


def bench_cells() -> None:
    from research.data import SYNTH_MINUTE_DATASET
    from sim.tca import report as rep
    from sim.tca.params import ExecutionComparisonParams
    from sim.tca.sensitivity import sensitivity

    params = ExecutionComparisonParams()  # the notebook's (and make demo's) defaults
    settings = load_settings()
    start, end = params.study_window(SYNTH_MINUTE_DATASET)
    study = rep.load_study(params.bars, params.orders, n_orders=params.n_orders,
                           seed=params.seed, start=start, end=end, settings=settings)
    orders = rep.order_subset(study.parents, params.sensitivity_n_orders, params.seed)
    base = settings.simulation
    # warm-up (numba compilation, imports) so that the base cell is timed like the others
    sensitivity(study.bars, orders.head(10), ["market"], settings, params.seed,
                impact_y=(base.impact_y,), limit_fill_rules=(base.limit_fill_rule,),
                participation_caps=(base.max_participation,), spread_sources=("quotes",),
                n_jobs=1)
    stamps: list[tuple[str, float]] = []
    sensitivity(study.bars, orders, params.sensitivity_strategies, settings, params.seed,
                impact_y=(base.impact_y,), limit_fill_rules=(base.limit_fill_rule,),
                participation_caps=(base.max_participation,), spread_sources=SPREAD_SOURCES,
                n_jobs=params.n_jobs,
                progress=lambda msg: stamps.append((msg, time.perf_counter())))
    stamps.append(("end", time.perf_counter()))
    print(f"\nsensitivity cells: {len(orders)} orders x {params.sensitivity_strategies}, "
          f"{params.n_jobs} jobs")
    print(f"{'cell':<36}{'wall s':>8}")
    for (msg, t0), (_, t1) in zip(stamps, stamps[1:], strict=False):
        print(f"{msg:<36}{t1 - t0:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    pd.set_option("display.width", 120)
    bench_paths(args.repeats)
    if not args.quick:
        bench_cells()


if __name__ == "__main__":
    main()
