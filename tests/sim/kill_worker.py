"""Subprocess body of the SIGKILL test: runs (or resumes) one engine + persistent simulated
broker through a fixed replay, then prints DONE. Not a test module (no test_ prefix)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from research.config import ExecutionSettings
from research.domain import Side, Strategy
from research.execution import ExecutionEngine, Journal, ParentOrder
from sim import BarReplay, FaultConfig, SimulatedBroker, run_replay

NY = ZoneInfo("America/New_York")
# Two sessions (200 bars each) with parents arriving through both: the run must last long enough (the
# engine is fast) for the random kills to land in the middle of trading, and the session close
# in between expires DAY orders across restarts.
SESSION_BARS, SYMBOLS = 200, ("AAA", "BBB", "CCC")
N_BARS = 2 * SESSION_BARS
ARRIVALS = (1, 90, 201, 290)


def build_replay() -> BarReplay:
    rng = np.random.default_rng(42)
    ts = [datetime(2024, 3, 4 + i // SESSION_BARS, 9, 31, tzinfo=NY)
          + timedelta(minutes=i % SESSION_BARS) for i in range(N_BARS)]
    close = 50 * np.exp(np.cumsum(rng.normal(0, 4e-4, (N_BARS, 3)), axis=0))
    return BarReplay.from_arrays(
        ts, SYMBOLS, close=close, high=close * 1.0006, low=close * 0.9994,
        volume=rng.uniform(5_000, 15_000, (N_BARS, 3)),
    )


BASE_PARENTS = [
    ParentOrder("twap-a", "AAA", Side.BUY, 6_000, Strategy.TWAP, horizon_bars=60),
    ParentOrder("pov-b", "BBB", Side.SELL, 5_000, Strategy.POV, horizon_bars=80,
                params={"rate": 0.05}),
    ParentOrder("lim-c", "CCC", Side.BUY, 3_000, Strategy.LIMIT, horizon_bars=40,
                params={"offset_bps": 1.0}),
    ParentOrder("twap-c", "CCC", Side.SELL, 4_000, Strategy.TWAP, horizon_bars=100),
]
PARENTS = [(bar, replace(p, parent_id=f"{p.parent_id}@{bar}"))
           for bar in ARRIVALS for p in BASE_PARENTS]


def main(workdir: str, seed: int) -> None:
    wd = Path(workdir)
    replay = build_replay()
    faults = FaultConfig(seed=seed, submit_timeout=0.08, submit_reject=0.03, rate_limit=0.03,
                         disconnect=0.02, report_delay=0.1, report_duplicate=0.1,
                         report_reorder=0.3)
    broker = SimulatedBroker(replay, faults=faults, state_path=wd / "broker.sqlite",
                             tiger_style_reports=seed % 2 == 1)
    settings = ExecutionSettings(
        retry_initial_backoff_s=1e-4, retry_max_backoff_s=1e-3, retry_jitter_s=0.0,
        breaker_max_consecutive_rejects=1000, breaker_max_error_rate=1.0,
        max_orders_per_second=100.0, order_burst=100,
    )
    engine = ExecutionEngine("kill-run", SYMBOLS, broker, Journal(wd / "journal.sqlite"),
                             settings, initial_positions={}, sleep=lambda s: None)
    engine.recover()

    def add(e: ExecutionEngine, snap) -> None:
        for bar, p in PARENTS:  # re-adding after a restart is a no-op (idempotent by id)
            if snap.bar_index >= bar:
                e.add_parent(p, snap)

    run_replay(engine, broker, before_bar=add)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
