"""From a new bar to orders handed to the broker, for a 20-symbol portfolio.

The live runner's per-bar path (risk refit on a new session, rebalance decision, parent
registration, ExecutionEngine.on_bar with the real journal and pre-trade risk check) runs
against a broker stub that records submits, so the broker round-trip is excluded.

Two cases: the session's first bar (rebalance of 20 names + 20 child orders; the risk
refit and target weights are prepared before the open, as ``qlab live`` does, and timed on
their own row) and a steady-state bar of 20 working TWAP parents (20 child orders per bar).

The journal keeps SQLite ``synchronous=FULL`` (write-ahead: every intent is durable before it
is sent), so the window contains one fsync per bar. Its time is measured separately (the
``write-ahead commit`` rows) and subtracted in the ``... minus commit`` rows: the fsync is a
property of the disk, not of the code. Logging, metrics and the cost-model prediction run
after the last order of the bar and are reported as ``whole bar`` rows.

    python benchmarks/bench_live.py [--no-instrument] [--journal-dir DIR]
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
JOURNAL_DIR = (sys.argv[sys.argv.index("--journal-dir") + 1]
               if "--journal-dir" in sys.argv else None)


class TimedCommits:
    """Wraps a journal's ``commit`` and records (start, end) perf_counter intervals."""

    def __init__(self, journal):
        self.inner = journal.commit
        self.spans: list[tuple[float, float]] = []
        journal.commit = self

    def __call__(self):
        t0 = time.perf_counter()
        self.inner()
        self.spans.append((t0, time.perf_counter()))


def main() -> None:
    from live.monitoring import make_logger
    from live.runner import LiveRunner
    from research.costs import CostModel
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
    tmp = Path(tempfile.mkdtemp(dir=JOURNAL_DIR))
    settings = base.model_copy(update={"execution": ExecutionSettings(
        journal_path=tmp, max_orders_per_second=1000.0, order_burst=1000,
        max_order_notional=5e6)})
    # as live: secrets to redact (a fake key and account) in every line
    log = make_logger("bench", stream=open("/dev/null", "w"),  # noqa: SIM115
                      secrets=["-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
                               "\n-----END PRIVATE KEY-----", "20190000000000900"])
    long = closes.stack().rename("close").reset_index()
    long.columns = ["timestamp", "symbol", "close"]
    long = long.assign(open=long["close"], high=long["close"] * 1.01,
                       low=long["close"] * 0.99, volume=2e6)
    long["timestamp"] = long["timestamp"].dt.tz_localize("America/New_York") + pd.Timedelta(
        hours=16)
    cost_model = CostModel.from_settings(base.costs).fit(long)
    prepare = []
    first, steady, first_commit, steady_commit, first_whole, steady_whole = ([] for _ in range(6))
    for rep in range(40):
        broker = RecordingBroker()
        runner = LiveRunner(config, settings, broker, closes, run_id=f"bench{rep}",
                            journal_dir=tmp, mode="paper", logger=log,
                            instrument=INSTRUMENT, cost_model=cost_model)
        runner.start()
        commits = TimedCommits(runner.engine.journal)
        tp = time.perf_counter()
        runner.prepare_session(day)  # as `qlab live` does before the open
        prepare.append(time.perf_counter() - tp)
        for i in range(12):
            ts = day + pd.Timedelta(hours=9, minutes=31 + i)
            snap = snapshot(i, ts.tz_localize("America/New_York"), symbols, last)
            n0 = len(broker.submitted)
            t0 = time.perf_counter()
            commits.spans.clear()
            runner.on_bar(snap)
            t1 = time.perf_counter()
            if len(broker.submitted) > n0:
                t_last = broker.submitted[-1][0]  # last order handed to the broker
                fsync = sum(b - a for a, b in commits.spans if b <= t_last)
                (first if i == 0 else steady).append(t_last - t0)
                (first_commit if i == 0 else steady_commit).append(fsync)
                (first_whole if i == 0 else steady_whole).append(t1 - t0)
        runner.shutdown()
    def warm(xs, per_rep):
        return np.asarray(xs[3 * per_rep:])

    def row(name, xs):
        xs = np.asarray(xs) * 1e3
        print(f"{name:<46} {len(xs):>5} {statistics.median(xs):>9.3f} "
              f"{np.percentile(xs, 99):>9.3f} {xs.max():>9.3f}")

    print(f"bench_live — {machine()}")
    print(f"{len(symbols)} symbols; broker stub records submits (round-trip excluded); ms")
    print(f"{'case':<46} {'n':>5} {'median':>9} {'p99':>9} {'max':>9}")
    for name, xs, com, whole, per in (
            ("first bar: rebalance of 20 names + 20 orders", first, first_commit,
             first_whole, 1),
            ("steady bar: 20 TWAP parents -> 20 orders", steady, steady_commit, steady_whole,
             11)):
        xs, com, whole = warm(xs, per), warm(com, per), warm(whole, per)
        row(name, xs)
        row("  of which write-ahead commit (fsync)", com)
        row("  minus commit", xs - com)
        row("  whole bar (+ logs, metrics, cost model)", whole)
    row("before the open: prepare_session (risk refit)", warm(prepare, 1))
    print(f"logging+metrics {'on' if INSTRUMENT else 'off'}; journal in {tmp}")
    print("target: p99 < 5 ms")


if __name__ == "__main__":
    main()
