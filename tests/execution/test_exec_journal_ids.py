from __future__ import annotations

import sqlite3

import pytest

from research.execution import EventKind, Journal, client_order_id


def test_client_order_ids_are_deterministic_and_distinct():
    a = client_order_id("run", "parent", 0)
    assert a == client_order_id("run", "parent", 0)
    ids = {client_order_id(r, p, s) for r in ("r1", "r2") for p in ("p1", "p2") for s in range(50)}
    assert len(ids) == 200
    assert len(a) == 20 and a.startswith("Q")
    with pytest.raises(ValueError, match="slice_index"):
        client_order_id("run", "parent", -1)


def test_journal_is_wal_append_only_and_replays_in_order(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.append(EventKind.INTENT, {"a": 1}, "C1", 3)
        j.append_many([(EventKind.REPORT, {"b": 2}, "C1", 4), (EventKind.BAR_DONE, {}, None, 4)])
    with Journal(path, synchronous="NORMAL") as j:
        evs = list(j.events())
        assert [e.kind for e in evs] == [EventKind.INTENT, EventKind.REPORT, EventKind.BAR_DONE]
        assert evs[0].payload == {"a": 1} and evs[1].bar_index == 4
        assert j.client_ids(EventKind.INTENT) == ["C1"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET kind='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")


def test_journal_rejects_unknown_durability(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        Journal(tmp_path / "j.sqlite", synchronous="OFF")
