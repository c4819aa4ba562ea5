"""Append-only SQLite journal of every intent and execution report.

The engine writes an event *before* it acts on it (an INTENT before ``submit``, a REPORT before
applying it), so its state after a crash is the fold of the journal. Durability choice:

* WAL mode, ``synchronous=FULL`` (this class's default): every commit is fsync'd, so a
  journaled intent survives a power loss, not only a process kill; one disk flush per commit.
* ``synchronous="NORMAL"`` (WAL): commits survive any *process* crash (SIGKILL included) but the
  last transactions may roll back on an OS crash / power loss. Backtests use it, and so does
  live trading by default (``ExecutionSettings.journal_synchronous``): what recovery needs is
  process-crash durability, and after a power loss the restart reconciliation finds the orders
  the journal forgot (open at the broker, or filled into its positions) and refuses to trade on
  the mismatch; it never re-sends them. FULL is the live option for power-loss durability, at
  the price of a flush inside every active bar (benchmarks/bench_live.py).

Events are never updated or deleted. A batch (e.g. the reports of one poll) is one
transaction: all of it or none of it is on disk.

Staging (why): a commit costs tens of microseconds even in WAL mode, and a bar can produce
hundreds of events. ``stage`` queues events in memory; ``commit`` writes everything staged in
one transaction, in staging order. The engine commits before every call that changes the
broker's state (submit, cancel), so the write-ahead rule holds: an intent is durable before it
is sent, and every report it acted on is durable before the action. Anything staged but lost in
a crash was never acted on outside the process, and recovery rebuilds it from the broker.
Payloads are JSON-encoded at commit time by one reused encoder (cheaper than ``json.dumps``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal


class EventKind(StrEnum):
    RUN = "run"  # run id and start metadata
    PARENT = "parent"  # a new parent order
    INTENT = "intent"  # a child about to be sent (written before submit)
    SENT = "sent"  # submit returned the broker order id
    SUBMIT_TIMEOUT = "submit_timeout"  # submit timed out: outcome unknown, resolve by query
    SUBMIT_FAILED = "submit_failed"  # the broker refused / throttled / was unreachable
    RESOLVED = "resolved"  # an in-flight order found (or given up) by query
    REPORT = "report"  # an execution report, before it is applied
    FILL = "fill"  # a fill fetched by query (reconciliation, fill sync)
    CANCEL_REQUEST = "cancel_request"
    LOCAL_REJECT = "local_reject"  # pre-trade validation refused a child
    PARENT_DONE = "parent_done"
    BREAKER = "breaker"  # trading state / symbol pause change
    BAR_DONE = "bar_done"


@dataclass(frozen=True, slots=True)
class JournalEvent:
    seq: int
    kind: EventKind
    client_order_id: str | None
    bar_index: int | None
    payload: dict[str, Any]


# one encoder for every payload: json.dumps with custom separators builds a new encoder per
# call, which costs more than the encoding of a small payload
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_INSERT = "INSERT INTO events(kind, client_order_id, bar_index, payload) VALUES (?,?,?,?)"

# payload: a dict, or its JSON text when the producer encoded it already (hot paths)
Row = tuple[EventKind, dict[str, Any] | str, str | None, int | None]


class Journal:
    """SQLite journal at ``path`` (created if missing). Use as a context manager or ``close()``.

    ``autocheckpoint=False`` stops SQLite from folding the WAL back into the database inside a
    commit (an fsync'd copy of up to 1,000 pages, even under NORMAL): live trading calls
    :meth:`checkpoint` before the open instead, so no bar pays for it. Closing checkpoints too.
    """

    def __init__(self, path: str | Path, synchronous: Literal["FULL", "NORMAL"] = "FULL",
                 autocheckpoint: bool = True):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"journal synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.path = Path(path)
        self._in_memory = str(path) == ":memory:"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._staged: list[Row] = []
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        if not autocheckpoint:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " kind TEXT NOT NULL,"
            " client_order_id TEXT,"
            " bar_index INTEGER,"
            " payload TEXT NOT NULL)"
        )
        # No index on client_order_id: client ids are hashes, so every insert would touch a
        # random index page and each commit would rewrite hundreds of pages to the WAL (measured:
        # 30 us per event instead of 7). Recovery reads the journal sequentially anyway; ad-hoc
        # lookups by client id scan (``events_of``), or an operator adds the index offline.
        # append-only is enforced, not only promised
        self._db.execute(
            "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END"
        )
        self._db.execute(
            "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events "
            "BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END"
        )

    def append(
        self,
        kind: EventKind,
        payload: dict[str, Any],
        client_order_id: str | None = None,
        bar_index: int | None = None,
    ) -> None:
        """Write one event (and anything staged before it) and commit: durable on return."""
        self._staged.append((kind, payload, client_order_id, bar_index))
        self.commit()

    def append_many(self, rows: Iterable[Row]) -> None:
        """Write several events (after anything staged) in one transaction."""
        self._staged.extend(rows)
        self.commit()

    def stage(self, kind: EventKind, payload: dict[str, Any] | str,
              client_order_id: str | None = None, bar_index: int | None = None) -> None:
        """Queue one event for the next ``commit`` (not durable until then). ``payload`` is a
        JSON-able dict, or a str holding its compact JSON text already (stored verbatim)."""
        self._staged.append((kind, payload, client_order_id, bar_index))

    @property
    def staged(self) -> list[Row]:
        """Events queued for the next commit, oldest first (read-only view for callers)."""
        return self._staged

    def commit(self) -> None:
        """Write every staged event in one transaction (all or nothing), in staging order."""
        if not self._staged:
            return
        # a str payload was encoded by its producer already (ExecutionReport.to_json_text)
        data = [(k._value_, cid, bar, p if p.__class__ is str else _ENCODE(p))
                for k, p, cid, bar in self._staged]
        self._db.execute("BEGIN")
        try:
            self._db.executemany(_INSERT, data)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._staged = []

    def events(self, kinds: Iterable[EventKind] | None = None) -> Iterator[JournalEvent]:
        """Every event in write order (staged events are committed first); only those of
        ``kinds`` when given, selected by SQLite (the payloads of the others, bar markers with
        a volume per symbol among them, are never decoded)."""
        self.commit()
        if kinds is None:
            cur = self._db.execute(
                "SELECT seq, kind, client_order_id, bar_index, payload FROM events ORDER BY seq"
            )
        else:
            values = [k.value for k in kinds]
            cur = self._db.execute(
                "SELECT seq, kind, client_order_id, bar_index, payload FROM events WHERE kind "
                f"IN ({','.join('?' * len(values))}) ORDER BY seq", values
            )
        for seq, kind, cid, bar, payload in cur:
            yield JournalEvent(seq, EventKind(kind), cid, bar, json.loads(payload))

    def events_of(self, client_order_id: str) -> list[JournalEvent]:
        """Every event of one client order id, in write order (a table scan)."""
        self.commit()
        cur = self._db.execute(
            "SELECT seq, kind, client_order_id, bar_index, payload FROM events "
            "WHERE client_order_id=? ORDER BY seq", (client_order_id,)
        )
        return [JournalEvent(seq, EventKind(k), c, b, json.loads(p)) for seq, k, c, b, p in cur]

    def count(self, kind: EventKind | None = None) -> int:
        self.commit()
        if kind is None:
            return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return self._db.execute(
            "SELECT COUNT(*) FROM events WHERE kind=?", (kind.value,)
        ).fetchone()[0]

    def client_ids(self, kind: EventKind) -> list[str]:
        """Client order ids of every event of ``kind`` (in write order, repeats kept)."""
        self.commit()
        cur = self._db.execute(
            "SELECT client_order_id FROM events WHERE kind=? ORDER BY seq", (kind.value,)
        )
        return [r[0] for r in cur]

    def checkpoint(self) -> bool:
        """Commit what is staged, then copy the WAL into the database and truncate it (call
        it when no bar is being processed). False if another connection kept it from
        completing (the WAL then keeps growing until a later checkpoint succeeds)."""
        self.commit()
        if self._in_memory:  # no WAL to fold back (a replay's journal)
            return True
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def close(self) -> None:
        """Commit what is staged, then close."""
        self.commit()
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
