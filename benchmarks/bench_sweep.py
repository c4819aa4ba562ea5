"""Sweeps on one machine (issue #16, Performance): W1 points through the daily replay on joblib
against sequential, and 1,000 parameter sets on the vectorbt research path.

Replay part: 64 points of W1 (``bench_backtest_w1.py``: the 20 embedded stocks, every session
from 1990-05-03, inverse volatility, market orders, 5 bps half spread, 5 bps fees, no impact,
wide limits), varied over the lookback (63..84 sessions: the history before the first traded
session is 85 sessions, and a shorter window would hold one of RRC's 1990 stretches without a
price move, zero volatility, which the strategy refuses), the schedule (every 21 sessions, or the calendar's monthly first
session), the fee (5 or 10 bps) and the algorithm (market, TWAP): 8 x 2 x 2 x 2 = 64. Each
point is run sequentially in this process and then by joblib (loky) on ``--jobs`` processes;
the two tables must be identical (checked). Times include what a user waits for: joblib's
worker start-up and imports, the driver's bookkeeping; MLflow is off (``track=False``) so that
the executor is what is measured.

Vectorbt part: 1,000 inverse-volatility sets (lookback 10..259 x every 5, 10, 21, 42 sessions)
on all 8,313 sessions of the embedded closes, 5 bps slippage and fees, in chunks of
``--chunk`` sets per vectorised call, sequential and on joblib.

Full run: ``python benchmarks/bench_sweep.py`` (the replay part is long: ~30 s a point on a
loaded 2-core machine, sequentially). Reduced check: ``--points 4 --years 3``. Figures are
printed with the machine, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine  # noqa: E402
from bench_backtest_w1 import FIRST_ROW, w1_config, w1_settings  # noqa: E402

from research.data import load_sp500_closes  # noqa: E402
from sim.sweep.results import RUN_COLUMNS  # noqa: E402
from sim.sweep.runner import run_sweep  # noqa: E402
from sim.sweep.spec import SweepSpec  # noqa: E402

W1_GRID = {"strategy.lookback_days": [63, 66, 69, 72, 75, 78, 81, 84],
           "strategy.rebalance_every_sessions": [21, None],  # None: the monthly calendar
           "settings.costs.flat_fee_bps": [5.0, 10.0],
           "execution.algorithm": ["market", "twap"]}
VECTORBT_GRID = {"strategy.lookback_days": list(range(10, 260)),
                 "strategy.rebalance_every_sessions": [5, 10, 21, 42]}


def timed_pair(spec: SweepSpec, base, settings, jobs: int) -> tuple[float, float, int]:
    """Seconds sequentially and on joblib; the number of points; checks the tables agree."""
    t = time.perf_counter()
    alone = run_sweep(spec, base, settings, jobs=1, track=False, bar=False,
                      stream=sys.stderr)
    sequential = time.perf_counter() - t
    t = time.perf_counter()
    spread = run_sweep(spec, base, settings, jobs=jobs, track=False, bar=False,
                       stream=sys.stderr)
    parallel = time.perf_counter() - t
    pd.testing.assert_frame_equal(alone.table.drop(columns=list(RUN_COLUMNS)),
                                  spread.table.drop(columns=list(RUN_COLUMNS)),
                                  check_exact=True)
    failed = (alone.table["status"] != "FINISHED").sum()
    if failed:
        print(f"  {failed} point(s) failed: {alone.table['error'].dropna().unique()[:3]}")
    return sequential, parallel, len(alone.table)


def replay_part(points: int, years: float | None, jobs: int) -> None:
    closes = load_sp500_closes()
    base = w1_config(closes)
    grid = dict(W1_GRID)
    if points < 64:  # a reduced check: the first lookbacks, one of each other choice
        grid = {"strategy.lookback_days": W1_GRID["strategy.lookback_days"][:points]}
    end = None
    if years is not None:
        end = f"{closes.index[FIRST_ROW] + pd.DateOffset(years=years):%Y-%m-%d}"
    spec = SweepSpec(name="w1-replay", config=Path("benchmarks/bench_backtest_w1.py"),
                     task="backtest", bars="sp500_daily", end=end, grid=grid)
    span = f"{closes.index[FIRST_ROW]:%Y-%m-%d}..{end or f'{closes.index[-1]:%Y-%m-%d}'}"
    print(f"replay: W1 points over {span}, grid {grid}")
    sequential, parallel, n = timed_pair(spec, base, w1_settings(), jobs)
    print(f"  {n} points: sequential {sequential:.1f} s ({sequential / n:.2f} s a point), "
          f"joblib({jobs}) {parallel:.1f} s; speed-up {sequential / parallel:.2f}x "
          "(tables identical)")


def vectorbt_part(points: int, jobs: int, chunk: int) -> None:
    closes = load_sp500_closes()
    base = w1_config(closes)
    grid = dict(VECTORBT_GRID)
    grid["strategy.lookback_days"] = grid["strategy.lookback_days"][:max(1, points // 4)]
    spec = SweepSpec(name="w1-vectorbt", config=Path("benchmarks/bench_backtest_w1.py"),
                     task="vectorbt", bars="sp500_daily", start=f"{closes.index[0]:%Y-%m-%d}",
                     grid=grid, vectorbt={"slippage_bps": 5.0, "fee_bps": 5.0,
                                          "zero_volatility": "exclude", "chunk_size": chunk})
    sequential, parallel, n = timed_pair(spec, base, w1_settings(), jobs)
    print(f"vectorbt: {n} sets x {len(closes):,d} sessions x {closes.shape[1]} stocks, "
          f"{chunk} a call: sequential {sequential:.1f} s, joblib({jobs}) {parallel:.1f} s "
          f"({parallel / n * 1e3:.0f} ms a set); speed-up {sequential / parallel:.2f}x "
          "(tables identical)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64, help="replay points (64: W1 grid)")
    parser.add_argument("--years", type=float, default=None,
                        help="replay only this many years from 1990-05-03 (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--vectorbt-points", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--skip-replay", action="store_true")
    args = parser.parse_args()
    print(machine())
    if not args.skip_replay:
        replay_part(args.points, args.years, args.jobs)
    if args.vectorbt_points:
        vectorbt_part(args.vectorbt_points, args.jobs, args.chunk)


if __name__ == "__main__":
    main()
