"""Journal staging (one transaction per batch) and the system breaker's running error count."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from research.execution import EventKind, Journal, SystemBreaker, TradingState


def _rows(path):
    db = sqlite3.connect(path)
    out = db.execute("SELECT kind, client_order_id FROM events ORDER BY seq").fetchall()
    db.close()
    return out


def test_staged_events_are_invisible_until_commit_then_written_in_order(tmp_path):
    path = tmp_path / "j.sqlite"
    j = Journal(path, synchronous="NORMAL")
    j.stage(EventKind.INTENT, {"q": 1}, "C1", 0)
    j.stage(EventKind.REPORT, {"r": 1}, "C1", 1)
    assert _rows(path) == []  # another reader (a restarted process) sees nothing yet
    j.append(EventKind.BAR_DONE, {}, None, 1)  # append commits what was staged before it
    assert _rows(path) == [("intent", "C1"), ("report", "C1"), ("bar_done", None)]
    j.stage(EventKind.FILL, {"f": 1}, "C2", 2)
    assert [e.client_order_id for e in j.events()][-1] == "C2"  # reading commits first
    j.stage(EventKind.REPORT, {"r": 2}, "C3", 3)
    j.close()  # closing commits too
    assert _rows(path)[-1] == ("report", "C3")
    assert [e.kind for e in Journal(path).events_of("C1")] == [EventKind.INTENT,
                                                              EventKind.REPORT]


def test_error_rate_window_counts_like_a_recount():
    now = datetime(2024, 3, 4, 10, tzinfo=ZoneInfo("America/New_York"))
    b = SystemBreaker(max_error_rate=0.5, max_consecutive_rejects=5, max_latency_ms=1e9,
                      max_staleness_s=60, cooldown_s=0, error_window=4, min_calls_for_rate=4)
    # window of 4 after each call from the 4th: FFTT 50% (not > 50%), FTTT 25%, TTTF 25%,
    # TTFF 50%; then one more F gives TFFF = 75%
    for ok in (False, False, True, True, True, False, False):
        assert b.record_call(ok, 1.0, now) is None
        assert b._failed_calls == sum(not c for c in b._calls)
    ev = b.record_call(False, 1.0, now)
    assert ev is not None and b.state is TradingState.REDUCING and "75%" in ev.reason


def test_without_autocheckpoint_the_wal_is_folded_back_only_on_request(tmp_path):
    from research.execution.journal import EventKind, Journal

    path = tmp_path / "j.sqlite"
    wal = tmp_path / "j.sqlite-wal"
    with Journal(path, synchronous="NORMAL", autocheckpoint=False) as j:
        for i in range(3000):  # ~15 MB of WAL: past the default 1,000-page autocheckpoint
            j.append(EventKind.BAR_DONE, {"running_volume": [float(i)] * 500}, None, i)
        grown = wal.stat().st_size
        assert grown > 2 * 1000 * 4096  # nothing was checkpointed inside the commits
        assert j.checkpoint() is True
        assert wal.stat().st_size == 0  # folded back and truncated
        assert sum(1 for _ in j.events()) == 3000
