"""A run killed with SIGKILL at seeded random points of its progress and restarted never sends
a client order id twice and never loses a fill: the simulated broker's own store is counted
against the journal.

The kill points are tied to the run's progress (the k-th intent, submit or report of a life:
see kill_worker.py), not to wall-clock time, so they land in the middle of trading however
loaded the machine is. The same campaign is run against two deliberately broken engines, and
the test proves it catches each of them: a kill test that cannot fail proves nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from kill_worker import ARRIVALS, SESSION_BARS

from tests.kill_campaign import campaign_outcome

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("kill_worker.py")
N_KILLS = 8


def _worker(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    # one BLAS thread: the campaign forks its lives, and a forked BLAS thread pool can hang
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(WORKER), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _journal(workdir: Path) -> list[tuple[str, str | None, dict]]:
    db = sqlite3.connect(workdir / "journal.sqlite")
    rows = db.execute("SELECT kind, client_order_id, payload FROM events ORDER BY seq").fetchall()
    db.close()
    return [(k, c, json.loads(p)) for k, c, p in rows]


def kill_campaign(workdir: Path, seed: int, engine: str) -> tuple[list[str], list[int]]:
    """Run the campaign, then a clean restart in a fresh interpreter; return (every problem
    found, the bars the kills landed on). No problem = the engine survived every kill."""
    camp = _worker("campaign", workdir, seed, engine, N_KILLS)
    print(camp.stdout)  # shown by pytest when the test fails
    # the clean restart reconciles everything, then idles
    problems, kill_bars = campaign_outcome(
        camp, N_KILLS, lambda: _worker("run", workdir, seed, engine))

    bdb = sqlite3.connect(workdir / "broker.sqlite")
    attempts = Counter(c for (c,) in bdb.execute("SELECT client_id FROM submits"))
    broker_orders = {c for (c,) in bdb.execute("SELECT client_id FROM orders")}
    broker_fills = {f: (c, q) for f, c, q in bdb.execute("SELECT fill_id, client_id, qty FROM fills")}
    bdb.close()
    events = _journal(workdir)
    intents = [c for k, c, _ in events if k == "intent"]
    journal_fills = {}
    for k, c, p in events:
        if k == "report" and p["fill"] is not None:
            journal_fills[p["fill"]["fill_id"]] = (c, p["fill"]["quantity"])
        elif k == "fill":
            journal_fills[p["fill_id"]] = (c, p["quantity"])
    timed_out = {c for k, c, _ in events if k == "submit_timeout"}

    if len(intents) != len(set(intents)):
        problems.append("a client order id was journaled twice")
    twice = sorted(c for c, n in attempts.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} client order id(s) reached the broker twice")
    if not broker_orders <= set(intents):
        problems.append("the broker holds an order the journal never intended")
    if journal_fills != broker_fills:
        lost = set(broker_fills) - set(journal_fills)
        problems.append(f"journal and broker disagree on fills ({len(lost)} broker fill(s) "
                        "never journaled)")
    if any(attempts[c] != 1 for c in timed_out):
        problems.append("a timed-out submit was sent again")
    if len(broker_fills) <= 20:
        problems.append(f"the run hardly traded ({len(broker_fills)} fills)")
    return problems, kill_bars


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])  # odd seeds: Tiger-style status-only partial fills
def test_sigkill_at_random_progress_points_never_duplicates_orders_nor_loses_fills(tmp_path, seed):
    problems, kill_bars = kill_campaign(tmp_path, seed, "real")
    assert problems == []
    # every kill landed while trading, spread over both sessions of the replay
    assert len(kill_bars) == N_KILLS
    assert min(kill_bars) >= ARRIVALS[0]
    assert len(set(kill_bars)) >= N_KILLS - 1
    assert max(kill_bars) > SESSION_BARS


@pytest.mark.slow
def test_the_kill_test_catches_an_engine_that_drops_broker_fills_at_recovery(tmp_path):
    problems, _ = kill_campaign(tmp_path, 1, "drops-fills-at-recovery")
    assert problems, "the kill test passed a broken engine"
    # the restart either refuses to trade on the positions it cannot explain, or the journal
    # misses fills the broker made
    assert any("position" in p or "never journaled" in p for p in problems), problems


@pytest.mark.slow
def test_the_kill_test_catches_an_engine_that_resends_unanswered_intents(tmp_path):
    problems, _ = kill_campaign(tmp_path, 1, "resends-unanswered-intents")
    assert problems, "the kill test passed a broken engine"
    assert any("reached the broker twice" in p for p in problems), problems
