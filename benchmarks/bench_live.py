"""From a new bar to orders handed to the broker, for a 20-symbol portfolio.

The live runner's per-bar path (rebalance decision, parent registration, ExecutionEngine.on_bar
with the real journal and pre-trade risk check) runs against a broker stub that records
submits, so the broker round-trip is excluded. Each repetition is a fresh run set up as
``qlab live`` does it: reconcile (``start``), risk refit and target weights before the open
(``prepare_session``, timed on its own row), start-up heap frozen out of the garbage collector
(``startup_heap_frozen``), then 12 one-minute bars.

Two cases: the session's first bar (rebalance of 20 names: 20 parents registered + 20 child
orders) and a steady-state bar of 20 working TWAP parents (20 child orders per bar). The
window ends when the bar's last order is handed to the broker; logging, metrics and the
cost-model prediction run after it and are in the ``whole bar`` rows.

Journal durability (``ExecutionSettings.journal_synchronous``), one table each:

* NORMAL (the default): WAL commits survive any process kill; an OS crash / power loss may
  roll back the last ones, which restart reconciliation refuses to trade on.
* FULL: every commit is fsync'd, so the window holds one disk flush per bar (the write-ahead
  commit of the bar's intents). It is a property of the disk more than of the code.

The ``write-ahead commit`` rows time that commit (the SQLite transaction, plus the flush with
FULL); ``minus commit`` subtracts it.

    python benchmarks/bench_live.py [--sync NORMAL|FULL|both] [--reps N] [--no-instrument]
                                    [--journal-dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
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

BARS_PER_REP = 12
WARMUP_REPS = 3


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


class Setup:
    """The 20-symbol universe, config, fitted cost model and logger shared by every run."""

    def __init__(self, algorithm: str = "twap"):
        from live.monitoring import make_logger
        from research.costs import CostModel
        from research.data.sources import load_sp500_closes

        self.closes = load_sp500_closes().loc["2021-01-01":"2022-06-30"]
        self.symbols = tuple(self.closes.columns)
        self.day = pd.Timestamp("2022-07-01")
        self.last = self.closes.iloc[-1].to_numpy(float)
        self.config = RunConfig(
            name="bench", universe={"symbols": list(self.symbols)},
            strategy={"kind": "inverse_volatility", "rebalance": "daily", "capital": 1e7},
            execution={"algorithm": algorithm, "horizon_minutes": 390},
            risk={"max_position_weight": 0.2, "max_sector_weight": 0.6, "var_budget": 0.5,
                  "max_pairwise_correlation": 1.0})
        self.base = load_settings(None)
        # as live: secrets to redact (a fake key and account) in every line
        self.log = make_logger(
            "bench", stream=open("/dev/null", "w"),  # noqa: SIM115
            secrets=["-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
                     "\n-----END PRIVATE KEY-----", "20190000000000900"])
        long = self.closes.stack().rename("close").reset_index()
        long.columns = ["timestamp", "symbol", "close"]
        long = long.assign(open=long["close"], high=long["close"] * 1.01,
                           low=long["close"] * 0.99, volume=2e6)
        long["timestamp"] = (long["timestamp"].dt.tz_localize("America/New_York")
                             + pd.Timedelta(hours=16))
        self.cost_model = CostModel.from_settings(self.base.costs).fit(long)


def measure(setup: Setup, sync: str, reps: int, journal_dir: Path, instrument: bool) -> dict:
    """Seconds per row name, warm-up repetitions dropped."""
    from live.runner import LiveRunner, startup_heap_frozen

    settings = setup.base.model_copy(update={"execution": ExecutionSettings(
        journal_path=journal_dir, journal_synchronous=sync, max_orders_per_second=1000.0,
        order_burst=1000, max_order_notional=5e6)})
    rows: dict[str, list[float]] = {k: [] for k in (
        "first", "first_commit", "first_whole", "steady", "steady_commit", "steady_whole",
        "prepare")}
    for rep in range(reps):
        keep = rep >= WARMUP_REPS
        broker = RecordingBroker()
        runner = LiveRunner(setup.config, settings, broker, setup.closes,
                            run_id=f"bench-{sync}-{rep}", journal_dir=journal_dir, mode="paper",
                            logger=setup.log, instrument=instrument,
                            cost_model=setup.cost_model)
        runner.start()
        commits = TimedCommits(runner.engine.journal)
        tp = time.perf_counter()
        runner.prepare_session(setup.day)  # as `qlab live` does before the open
        if keep:
            rows["prepare"].append(time.perf_counter() - tp)
        with startup_heap_frozen():  # as `qlab live` does around its trading loop
            for i in range(BARS_PER_REP):
                ts = setup.day + pd.Timedelta(hours=9, minutes=31 + i)
                snap = snapshot(i, ts.tz_localize("America/New_York"), setup.symbols,
                                setup.last)
                n0 = len(broker.submitted)
                commits.spans.clear()
                t0 = time.perf_counter()
                runner.on_bar(snap)
                t1 = time.perf_counter()
                if keep and len(broker.submitted) > n0:
                    t_last = broker.submitted[-1][0]  # last order handed to the broker
                    commit = sum(b - a for a, b in commits.spans if b <= t_last)
                    case = "first" if i == 0 else "steady"
                    rows[case].append(t_last - t0)
                    rows[f"{case}_commit"].append(commit)
                    rows[f"{case}_whole"].append(t1 - t0)
            runner.shutdown()
    return {k: np.asarray(v) for k, v in rows.items()}


def row(name: str, seconds: np.ndarray) -> None:
    ms = seconds * 1e3
    print(f"{name:<46} {len(ms):>5} {statistics.median(ms):>9.3f} "
          f"{np.percentile(ms, 99):>9.3f} {ms.max():>9.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sync", choices=("NORMAL", "FULL", "both"), default="both",
                    help="journal synchronous mode(s) to measure (default: both)")
    ap.add_argument("--reps", type=int, default=40,
                    help=f"fresh runs of {BARS_PER_REP} bars; the first {WARMUP_REPS} are "
                         "warm-up (default 40: 37 first bars, 407 steady bars)")
    ap.add_argument("--no-instrument", action="store_true", help="no logging or metrics")
    ap.add_argument("--algorithm", default="twap",
                    choices=("market", "limit", "twap", "vwap", "pov", "is"),
                    help="the config's execution algorithm (default twap: a child per parent "
                         "and bar; vwap and is build their schedules from the cost model)")
    ap.add_argument("--journal-dir", default=None, help="folder for the (temporary, removed "
                    "at exit) journals; its disk sets the FULL figures (default: the temp dir)")
    args = ap.parse_args()
    if args.reps <= WARMUP_REPS:
        ap.error(f"--reps must be more than the {WARMUP_REPS} warm-up repetitions")
    setup = Setup(args.algorithm)
    tmp = Path(tempfile.mkdtemp(dir=args.journal_dir))
    print(f"bench_live — {machine()}")
    print(f"{len(setup.symbols)} symbols, algorithm {args.algorithm}; broker stub records "
          "submits (round-trip excluded); "
          f"logging+metrics {'off' if args.no_instrument else 'on'}; journals in {tmp}")
    try:
        for sync in (("NORMAL", "FULL") if args.sync == "both" else (args.sync,)):
            r = measure(setup, sync, args.reps, tmp, not args.no_instrument)
            print(f"\njournal synchronous={sync}{' (default)' if sync == 'NORMAL' else ''}; ms")
            print(f"{'case':<46} {'n':>5} {'median':>9} {'p99':>9} {'max':>9}")
            for case, title in (("first", "first bar: rebalance of 20 names + 20 orders"),
                                ("steady", "steady bar: 20 working parents")):
                row(title, r[case])
                row("  of which write-ahead commit", r[f"{case}_commit"])
                row("  minus commit", r[case] - r[f"{case}_commit"])
                row("  whole bar (+ logs, metrics, cost model)", r[f"{case}_whole"])
            row("before the open: prepare_session (risk refit)", r["prepare"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the journals are of no use afterwards
    print("\ntarget: p99 < 5 ms (first and steady bar)")


if __name__ == "__main__":
    main()
