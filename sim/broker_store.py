"""The simulated broker's own SQLite file: what the "exchange" received, accepted and filled,
so that a test can kill the trading process and still count it (a crash test's ground truth).

Separate from the broker's order handling: this module knows the tables and the SQL, the broker
knows what its state means. Each write is its own autocommit statement except a bar's, which is
one transaction (fills, status changes and the market state after the bar).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from research.domain import Fill, Order, OrderStatus, OrderType

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS orders(row INTEGER PRIMARY KEY, client_id TEXT UNIQUE,"
    " symbol TEXT, side TEXT, qty INTEGER, limit_price REAL, eligible INTEGER,"
    " day INTEGER, status TEXT)",
    "CREATE TABLE IF NOT EXISTS fills(fill_id TEXT PRIMARY KEY, client_id TEXT,"
    " row INTEGER, qty INTEGER, price REAL, fees REAL, bar INTEGER, ts TEXT)",
    "CREATE TABLE IF NOT EXISTS submits(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " client_id TEXT)",
)


class BrokerStore:
    """Opens (creating if needed) the store at ``path`` with SQLite's ``synchronous`` level and
    starts a new session: ``session`` counts the broker processes that opened this file (report
    ids carry it, so a restarted broker never reuses one)."""

    def __init__(self, path: Path, synchronous: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        for statement in _SCHEMA:
            db.execute(statement)
        self._db = db
        self.meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        self.session = int(self.meta.get("session", "0")) + 1
        db.execute("INSERT OR REPLACE INTO meta VALUES ('session', ?)", (str(self.session),))

    # ------------------------------------------------------------------ what a restart reads
    @property
    def last_bar(self) -> int | None:
        """The last bar a previous session finished, None if none did."""
        return int(self.meta["last_bar"]) if "last_bar" in self.meta else None

    def market_state(self) -> np.ndarray:
        """The permanent impact (log price shift) per symbol after :attr:`last_bar` (the rest
        of the market's response is recomputed from the bars)."""
        return np.asarray(json.loads(self.meta["perm"]), dtype=float)

    def orders(self) -> Iterator[tuple]:
        """(row, client id, symbol, side, qty, limit price or None, eligible bar, day, status or
        None while open) of every accepted order, by row."""
        return self._db.execute(
            "SELECT row, client_id, symbol, side, qty, limit_price, eligible, day, status "
            "FROM orders ORDER BY row")

    def fills(self) -> Iterator[tuple]:
        """(fill id, client id, row, qty, price, fees, bar, ISO time) of every fill, in order."""
        return self._db.execute(
            "SELECT fill_id, client_id, row, qty, price, fees, bar, ts FROM fills ORDER BY rowid")

    def submits(self) -> list[str]:
        """Client ids of every submit attempt, duplicates and rejected ones included."""
        return [r[0] for r in self._db.execute("SELECT client_id FROM submits")]

    # ------------------------------------------------------------------ writes
    def record_submit(self, client_id: str) -> None:
        self._db.execute("INSERT INTO submits(client_id) VALUES (?)", (client_id,))

    def record_order(self, row: int, order: Order, eligible: int, day: bool) -> None:
        self._db.execute(
            "INSERT INTO orders(row, client_id, symbol, side, qty, limit_price, eligible, day)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (row, order.client_order_id, order.symbol, order.side.value, order.quantity,
             order.limit_price if order.order_type is OrderType.LIMIT else None,
             eligible, int(day)),
        )

    def record_status(self, row: int, status: OrderStatus) -> None:
        self._db.execute("UPDATE orders SET status=? WHERE row=?", (status.value, row))

    def record_bar(self, bar: int, fills: list[Fill], fill_rows: list[int],
                   statuses: Iterable[tuple[str, int]], perm: np.ndarray) -> None:
        """One transaction: the bar's ``fills`` (with their order rows), the (status, row) of
        orders that changed, and the market state after bar ``bar``."""
        db = self._db
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?)",
            [(f.fill_id, f.client_order_id, row, f.quantity, f.price, f.fees, bar,
              f.timestamp.isoformat()) for f, row in zip(fills, fill_rows, strict=True)],
        )
        db.executemany("UPDATE orders SET status=? WHERE row=?", list(statuses))
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", [
            ("last_bar", str(bar)),
            ("perm", json.dumps(perm.tolist())),
        ])
        db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
