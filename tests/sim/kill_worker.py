"""Subprocess body of the SIGKILL test (not a test module: no test_ prefix).

One *life* runs (or resumes) an engine and a persistent simulated broker through a fixed
replay. It is killed with SIGKILL at a point tied to its own progress, never to wall-clock time
(a 2-core machine under load would otherwise decide where the kills land):

* ``intent:k``    right after the journal commit that made this life's k-th intent durable
                  (intents written, none of the batch sent yet);
* ``submit:k``    right after this life's k-th order reached the broker (the broker stored it,
                  the engine never saw the answer: an intent without an outcome);
* ``report:k``    right after the broker handed over this life's k-th execution report (the
                  broker forgets it; the engine has not journaled it: a fill only the broker's
                  own records now know);
* ``journaled:k`` right after the journal commit that made this life's k-th report durable.

Commands::

    kill_worker.py run WORKDIR SEED ENGINE [KIND:K]   one life in this process
    kill_worker.py campaign WORKDIR SEED ENGINE N     N lives killed at seeded random points,
                                                      then one life that runs to the end

``campaign`` forks every life from one process (tests/kill_campaign.py); the test runs the
final clean restart in a fresh interpreter (``run``). Output: the ``KILLED`` and ``LIFE`` lines
of tests/kill_campaign.py, and ``DONE`` when a life finished the replay.

ENGINE: ``real`` (the production engine), or one of the deliberately broken test-only variants
of tests/broken_engines.py the kill test must catch: ``drops-fills-at-recovery``,
``resends-unanswered-intents``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from research.config import ExecutionSettings
from research.domain import Algorithm, Side
from research.execution import EventKind, ExecutionEngine, Journal, ParentOrder
from research.execution.errors import SubmitTimeout
from sim import BarReplay, FaultConfig, SimulatedBroker, run_replay
from tests.broken_engines import ENGINES
from tests.kill_campaign import KillPoint
from tests.kill_campaign import campaign as run_campaign

NY = ZoneInfo("America/New_York")
# Two sessions (200 bars each) with parents arriving through both; the session close in between
# expires DAY orders across restarts.
SESSION_BARS, SYMBOLS = 200, ("AAA", "BBB", "CCC")
N_BARS = 2 * SESSION_BARS
ARRIVALS = (1, 90, 201, 290)

KILL_KINDS = ("intent", "submit", "report", "journaled")
# k is drawn from 1..KILL_RANGE[kind]: a fault-free-ish run makes ~690 intents, ~640 submits
# reaching the broker and ~1,400 reports; a range of about a tenth of the run per life spreads
# the kills of a campaign over the whole replay
KILL_RANGE = {"intent": 90, "submit": 80, "report": 180, "journaled": 180}


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
    ParentOrder("twap-a", "AAA", Side.BUY, 6_000, Algorithm.TWAP, horizon_bars=60),
    ParentOrder("pov-b", "BBB", Side.SELL, 5_000, Algorithm.POV, horizon_bars=80,
                params={"rate": 0.05}),
    ParentOrder("lim-c", "CCC", Side.BUY, 3_000, Algorithm.LIMIT, horizon_bars=40,
                params={"offset_bps": 1.0}),
    ParentOrder("twap-c", "CCC", Side.SELL, 4_000, Algorithm.TWAP, horizon_bars=100),
]
PARENTS = [(bar, replace(p, parent_id=f"{p.parent_id}@{bar}"))
           for bar in ARRIVALS for p in BASE_PARENTS]


# ------------------------------------------------------------------ kill points
class KillableJournal(Journal):
    """The real journal; reports each commit's intents and reports to the kill point after
    they are durable."""

    def __init__(self, path: Path, kill_point: KillPoint):
        # NORMAL survives any process crash, SIGKILL included (what this test kills); FULL's
        # fsync per commit would only make the test wait on a disk shared with other jobs
        super().__init__(path, synchronous="NORMAL")
        self.kill_point = kill_point

    def commit(self) -> None:
        kinds = [row[0] for row in self.staged]
        super().commit()
        self.kill_point.progress("intent", kinds.count(EventKind.INTENT))
        self.kill_point.progress("journaled", kinds.count(EventKind.REPORT))


class KillableBroker(SimulatedBroker):
    """The real simulated broker; reports orders it stored and reports it handed over."""

    def __init__(self, *args, kill_point: KillPoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_point = kill_point
        kill_point.where = lambda: self.last_bar  # the bar being traded

    def submit(self, order):
        try:
            broker_order_id = super().submit(order)
        except SubmitTimeout:  # the broker has the order; the answer was lost
            self.kill_point.progress("submit")
            raise
        self.kill_point.progress("submit")
        return broker_order_id

    def poll_reports(self):
        reports = super().poll_reports()
        self.kill_point.progress("report", len(reports))
        return reports


# ------------------------------------------------------------------ one life
def life(workdir: str, seed: int, engine_name: str, kill: str | None) -> None:
    wd = Path(workdir)
    kill_point = KillPoint(kill, KILL_KINDS)
    replay = build_replay()
    faults = FaultConfig(seed=seed, submit_timeout=0.08, submit_reject=0.03, rate_limit=0.03,
                         disconnect=0.02, report_delay=0.1, report_duplicate=0.1,
                         report_reorder=0.3)
    broker = KillableBroker(replay, faults=faults, state_path=wd / "broker.sqlite",
                            tiger_style_reports=seed % 2 == 1, synchronous="NORMAL",
                            kill_point=kill_point)
    settings = ExecutionSettings(
        retry_initial_backoff_s=1e-4, retry_max_backoff_s=1e-3, retry_jitter_s=0.0,
        breaker_max_consecutive_rejects=1000, breaker_max_error_rate=1.0,
        # a slow disk under a loaded machine must not move the breakers: the run stays
        # deterministic, so a campaign's kills land at the same points every time
        breaker_max_broker_latency_ms=1e9,
        max_orders_per_second=100.0, order_burst=100,
    )
    engine = ENGINES[engine_name]("kill-run", SYMBOLS, broker,
                                  KillableJournal(wd / "journal.sqlite", kill_point), settings,
                                  initial_positions={}, sleep=lambda s: None)
    engine.recover()

    def add(e: ExecutionEngine, snap) -> None:
        for bar, p in PARENTS:  # re-adding after a restart is a no-op (idempotent by id)
            if snap.bar_index >= bar:
                e.add_parent(p, snap)

    run_replay(engine, broker, before_bar=add)
    print("DONE", flush=True)


def campaign(workdir: str, seed: int, engine_name: str, n_kills: int) -> None:
    run_campaign(lambda kill: life(workdir, seed, engine_name, kill), n_kills, KILL_RANGE,
                 seed=[seed, 12])


if __name__ == "__main__":
    command, workdir, seed, engine_name, *rest = sys.argv[1:]
    if engine_name not in ENGINES:
        raise SystemExit(f"unknown engine {engine_name!r}; one of {sorted(ENGINES)}")
    if command == "run":
        life(workdir, int(seed), engine_name, rest[0] if rest else None)
    elif command == "campaign":
        campaign(workdir, int(seed), engine_name, int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command!r}; use run or campaign")
