"""The live runner killed with SIGKILL at seeded random points of its progress and restarted,
in a separate process against the loopback Tiger gateway (the real tigeropen client): no client
order id ever reaches Tiger twice, no fill is lost, and the run finishes its parents.

The kill points are tied to the run's progress (tests/live/live_kill_worker.py), not to
wall-clock time. The same campaign against two deliberately broken engines
(tests/broken_engines.py) must fail, and the tests prove it does.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.kill_campaign import campaign_outcome
from tests.live.test_live_runner import script_market

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("live_kill_worker.py")
N_KILLS = 6
N_MINUTES = 30  # one scripted session: TWAP parents of 20 minutes, then idle bars


def _worker(workdir: Path, *args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    # one BLAS thread: the campaign forks its lives, and a forked BLAS thread pool can hang
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(WORKER), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=workdir)


def live_kill_campaign(gateway, client_keys, server_keys, workdir: Path,
                       engine: str) -> tuple[list[str], list[int]]:
    """Script the session, run the campaign, then a clean restart in a fresh interpreter;
    return (every problem found, the bars the kills landed on)."""
    script_market(gateway, n_minutes=N_MINUTES)
    (workdir / "key.pem").write_text(client_keys.private_pem)
    (workdir / "gateway.pub").write_text(server_keys.public_b64)
    camp = _worker(workdir, "campaign", workdir, gateway.url, engine, N_KILLS)
    print(camp.stdout)  # shown by pytest when the test fails
    problems, kill_bars = campaign_outcome(  # the clean restart reconciles, then idles
        camp, N_KILLS, lambda: _worker(workdir, "run", workdir, gateway.url, engine))

    db = sqlite3.connect(workdir / "journal" / "kill-run.sqlite")
    events = [(k, c, json.loads(p)) for k, c, p in db.execute(
        "SELECT kind, client_order_id, payload FROM events ORDER BY seq")]
    db.close()
    intents = [c for k, c, _ in events if k == "intent"]
    journal_filled: dict[str, int] = defaultdict(int)
    seen_fills: set[str] = set()
    for k, c, p in events:
        fill = p if k == "fill" else (p.get("fill") if k == "report" else None)
        if fill is not None and fill["fill_id"] not in seen_fills:
            seen_fills.add(fill["fill_id"])
            journal_filled[c] += fill["quantity"]
    marks = Counter(o.user_mark for o in gateway.orders.values())
    tiger_filled = {o.user_mark: o.filled for o in gateway.orders.values() if o.filled}

    if len(intents) != len(set(intents)):
        problems.append("a client order id was journaled twice")
    twice = sorted(m for m, n in marks.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} client order id(s) reached Tiger twice")
    if not set(marks) <= set(intents):
        problems.append("Tiger holds an order the journal never intended")
    if dict(journal_filled) != tiger_filled:
        lost = sum(q - journal_filled.get(m, 0) for m, q in tiger_filled.items())
        problems.append(f"journal and Tiger disagree on fills ({lost} filled share(s) at Tiger "
                        "never journaled)")
    if len(tiger_filled) < 20:
        problems.append(f"the run hardly traded ({len(tiger_filled)} filled orders)")
    return problems, kill_bars


@pytest.mark.slow
def test_live_runner_killed_at_random_progress_points_never_duplicates_nor_loses_fills(
        make_gateway, client_keys, server_keys, tmp_path):
    gateway = make_gateway()
    problems, kill_bars = live_kill_campaign(gateway, client_keys, server_keys, tmp_path, "real")
    assert problems == []
    # bar -1: a kill during a restart's reconciliation, before the first bar
    assert len(kill_bars) == N_KILLS and min(kill_bars) >= -1
    # spread over the parents' 20-bar horizon, not all on one bar
    assert len(set(kill_bars)) >= 3 and max(kill_bars) >= 6
    # despite the kills every parent completed: Tiger holds exactly what the parents bought
    db = sqlite3.connect(tmp_path / "journal" / "kill-run.sqlite")
    parents = [json.loads(p)["parent"] for (p,) in
               db.execute("SELECT payload FROM events WHERE kind = 'parent'")]
    db.close()
    assert len(parents) == 3
    wanted = {p["symbol"]: p["quantity"] * (1 if p["side"] == "buy" else -1) for p in parents}
    assert {s: int(p[0]) for s, p in gateway.positions.items() if p[0]} == wanted


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "symptom"), [
    ("drops-fills-at-recovery", r"position|never journaled"),
    ("resends-unanswered-intents", r"reached Tiger twice"),
])
def test_the_live_kill_test_catches_a_broken_engine(make_gateway, client_keys, server_keys,
                                                    tmp_path, engine, symptom):
    gateway = make_gateway()
    problems, _ = live_kill_campaign(gateway, client_keys, server_keys, tmp_path, engine)
    assert problems, "the kill test passed a broken engine"
    assert any(re.search(symptom, p) for p in problems), problems
