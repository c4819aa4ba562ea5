"""From a new bar to orders handed to the broker, for a 20-symbol portfolio.

The live runner's per-bar path (risk refit on a new session, rebalance decision, parent
registration, ExecutionEngine.on_bar with the real journal and pre-trade risk check) runs
against a broker stub that records submits, so the broker round-trip is excluded.

Two cases: the session's first bar (risk model refit + rebalance of 20 names + 20 child
orders) and a steady-state bar of 20 working TWAP parents (20 child orders per bar).

    python benchmarks/bench_live.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import machine  # noqa: E402
from research.config import ExecutionSettings, RunConfig, load_settings  # noqa: E402
from research.execution.model import Account, MarketSnapshot  # noqa: E402


class RecordingBroker:
    def __init__(self):
        self.submitted = []

    def submit(self, order):
        self.submitted.append((time.perf_counter(), order))
        return f"b{len(self.submitted)}"

    def cancel(self, cid, bid=None):
        return None

    def get_order(self, cid):
        return None

    def open_orders(self):
        return []

    def fills(self, ids=None, since=None):
        return []

    def positions(self):
        return {}

    def account(self):
        return Account(cash=1e7, equity=1e7, buying_power=2e7)

    def poll_reports(self):
        return []


def snapshot(i, ts, symbols, close):
    n = len(symbols)
    return MarketSnapshot(i, ts.to_pydatetime(), symbols, close, close * 1.001, close * 0.999,
                          close, np.full(n, 2e6), close - 0.01, close + 0.01)


INSTRUMENT = "--no-instrument" not in sys.argv


def main() -> None:
    from live.monitoring import make_logger
    from live.runner import LiveRunner
    from research.data.sources import load_sp500_closes

    closes = load_sp500_closes().loc["2021-01-01":"2022-06-30"]
    symbols = tuple(closes.columns)
    day = pd.Timestamp("2022-07-01")
    last = closes.iloc[-1].to_numpy(float)
    config = RunConfig(name="bench", universe={"symbols": list(symbols)},
                       strategy={"kind": "inverse_volatility", "rebalance": "daily",
                                 "capital": 1e7},
                       execution={"algorithm": "twap", "horizon_minutes": 390},
                       risk={"max_position_weight": 0.2, "max_sector_weight": 0.6,
                             "var_budget": 0.5, "max_pairwise_correlation": 1.0})
    base = load_settings(None)
    tmp = Path(tempfile.mkdtemp())
    settings = base.model_copy(update={"execution": ExecutionSettings(
        journal_path=tmp, max_orders_per_second=1000.0, order_burst=1000,
        max_order_notional=5e6)})
    log = make_logger("bench", stream=open("/dev/null", "w"))  # noqa: SIM115
    first, steady = [], []
    for rep in range(40):
        broker = RecordingBroker()
        runner = LiveRunner(config, settings, broker, closes, run_id=f"bench{rep}",
                            journal_dir=tmp, mode="paper", logger=log,
                            instrument=INSTRUMENT)
        runner.start()
        for i in range(12):
            ts = day + pd.Timedelta(hours=9, minutes=31 + i)
            snap = snapshot(i, ts.tz_localize("America/New_York"), symbols, last)
            n0 = len(broker.submitted)
            t0 = time.perf_counter()
            runner.on_bar(snap)
            if len(broker.submitted) > n0:
                dt = broker.submitted[-1][0] - t0  # last order handed to the broker
                (first if i == 0 else steady).append(dt)
        runner.shutdown()
    warm_first, warm_steady = first[3:], steady[3 * 11:]

    def row(name, xs):
        xs = np.asarray(xs) * 1e3
        print(f"{name:<46} {len(xs):>5} {statistics.median(xs):>9.3f} "
              f"{np.percentile(xs, 99):>9.3f} {xs.max():>9.3f}")

    print(f"bench_live — {machine()}")
    print(f"{len(symbols)} symbols; broker stub records submits (round-trip excluded); ms")
    print(f"{'case':<46} {'n':>5} {'median':>9} {'p99':>9} {'max':>9}")
    row("first bar: risk refit + rebalance + 20 orders", warm_first)
    row("steady bar: 20 TWAP parents -> 20 orders", warm_steady)
    print("target: p99 < 5 ms")


if __name__ == "__main__":
    main()
