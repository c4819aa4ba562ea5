"""The write-ahead rule under journal batching: whatever the engine stages, an intent is on disk
before its submit, a cancel request before its cancel, and every report the engine had read
before it acts; idle bars cost no commit but a restart still knows the last bar done."""

from __future__ import annotations

import sqlite3

import pytest
from sim_helpers import minute_bars

from research.domain import Algorithm, Side
from research.execution import ExecutionEngine, Journal, ParentOrder
from sim import SimulatedBroker, run_replay


class CheckingBroker(SimulatedBroker):
    """Reads the journal file through its own connection at every state-changing call."""

    journal_path = None
    engine = None

    def _durable(self):
        db = sqlite3.connect(self.journal_path)
        rows = db.execute("SELECT kind, client_order_id FROM events").fetchall()
        db.close()
        return rows

    def _check_reports(self, rows):
        durable_reports = sum(1 for k, _ in rows if k == "report")
        assert durable_reports >= self.engine.stats.reports, "acted on a report not on disk"

    def submit(self, order):
        rows = self._durable()
        assert ("intent", order.client_order_id) in rows, "submit before its intent was durable"
        self._check_reports(rows)
        self.checked_submits += 1
        return super().submit(order)

    def cancel(self, client_order_id, broker_order_id=None):
        rows = self._durable()
        assert ("cancel_request", client_order_id) in rows, "cancel before it was journaled"
        self._check_reports(rows)
        self.checked_cancels += 1
        return super().cancel(client_order_id, broker_order_id)


@pytest.mark.parametrize("every_bar", [True, False])
def test_intents_cancels_and_reports_are_durable_before_the_broker_hears(
        tmp_path, fast_settings, every_bar):
    rp = minute_bars(n=40, symbols=("AAA", "BBB"), spread=0.02, high_mult=1.001,
                     low_mult=0.999, volume=2_000)
    b = CheckingBroker(rp)
    b.checked_submits = b.checked_cancels = 0
    b.journal_path = tmp_path / "j.sqlite"
    e = ExecutionEngine("run", rp.symbols, b, Journal(b.journal_path), fast_settings,
                        sleep=lambda s: None, commit_every_bar=every_bar)
    b.engine = e
    e.recover()
    parents = [ParentOrder("T", "AAA", Side.BUY, 3_000, Algorithm.TWAP, horizon_bars=10),
               ParentOrder("L", "BBB", Side.SELL, 500, Algorithm.LIMIT, horizon_bars=8,
                           params={"offset_bps": 50.0, "tif_bars": 4})]

    def hook(engine, snap):
        if snap.bar_index == 2:
            for p in parents:
                engine.add_parent(p, snap)

    run_replay(e, b, before_bar=hook)
    assert b.checked_submits == len(b.submit_attempts) >= 10
    assert b.checked_cancels >= 1  # the limit's time in force elapsed
    e.journal.close()


def test_idle_bars_share_one_marker_and_a_restart_resumes_after_the_last_bar(
        tmp_path, fast_settings):
    rp = minute_bars(n=30, spread=0.02)
    b = SimulatedBroker(rp)
    e = ExecutionEngine("run", rp.symbols, b, Journal(tmp_path / "j.sqlite"), fast_settings,
                        sleep=lambda s: None)
    e.recover()

    def hook(engine, snap):
        if snap.bar_index == 20:
            engine.add_parent(ParentOrder("M", "AAA", Side.BUY, 100, Algorithm.MARKET,
                                          horizon_bars=2), snap)

    run_replay(e, b, before_bar=hook)
    e.journal.close()
    j = Journal(tmp_path / "j.sqlite")
    bars_done = [ev.bar_index for ev in j.events() if ev.kind.value == "bar_done"]
    assert len(bars_done) < 30 and bars_done[-1] == 29
    assert 19 in bars_done  # the idle run before the parent is journaled by its last bar
    e2 = ExecutionEngine("run", rp.symbols, b, j, fast_settings, sleep=lambda s: None)
    e2.recover()
    assert e2.last_bar_done == 29 and e2.positions["AAA"] == 100
