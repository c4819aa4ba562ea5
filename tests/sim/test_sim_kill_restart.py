"""A run killed with SIGKILL at random points and restarted never sends a client order id twice
and never loses a fill: the simulated broker's own store is counted against the journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("kill_worker.py")


def _start(workdir: Path, seed: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, str(WORKER), str(workdir), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


def _journal(workdir: Path) -> list[tuple[str, str | None, dict]]:
    db = sqlite3.connect(workdir / "journal.sqlite")
    rows = db.execute("SELECT kind, client_order_id, payload FROM events ORDER BY seq").fetchall()
    db.close()
    return [(k, c, json.loads(p)) for k, c, p in rows]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_points_never_duplicates_orders_nor_loses_fills(tmp_path, seed):
    rng = np.random.default_rng(seed)
    kills = 0
    for _ in range(12):
        proc = _start(tmp_path, seed)
        time.sleep(float(rng.uniform(0.35, 1.0)))
        if proc.poll() is not None:
            out, err = proc.communicate()
            assert proc.returncode == 0, err
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    proc = _start(tmp_path, seed)  # finish the run
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "DONE" in out
    proc = _start(tmp_path, seed)  # a clean restart reconciles (positions included) and idles
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert kills >= 5

    bdb = sqlite3.connect(tmp_path / "broker.sqlite")
    attempts = Counter(c for (c,) in bdb.execute("SELECT client_id FROM submits"))
    broker_orders = {c for (c,) in bdb.execute("SELECT client_id FROM orders")}
    broker_fills = {f: (c, q) for f, c, q in bdb.execute("SELECT fill_id, client_id, qty FROM fills")}
    bdb.close()
    events = _journal(tmp_path)
    intents = [c for k, c, _ in events if k == "intent"]
    journal_fills = {}
    for k, c, p in events:
        if k == "report" and p["fill"] is not None:
            journal_fills[p["fill"]["fill_id"]] = (c, p["fill"]["quantity"])
        elif k == "fill":
            journal_fills[p["fill_id"]] = (c, p["quantity"])
    timed_out = {c for k, c, _ in events if k == "submit_timeout"}

    assert len(intents) == len(set(intents)), "a client order id was journaled twice"
    assert max(attempts.values()) == 1, "a client order id reached the broker twice"
    assert broker_orders <= set(intents), "the broker holds an order the journal never intended"
    assert journal_fills == broker_fills, "journal and broker disagree on fills"
    assert all(attempts[c] == 1 for c in timed_out)
    assert len(broker_fills) > 20  # the run did trade
