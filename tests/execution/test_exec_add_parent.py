"""Parent registration: the arrival price is the snapshot's mid of the parent's symbol."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from research.domain import Side
from research.execution import EventKind, ExecutionEngine, Journal, MarketSnapshot, ParentOrder

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")


class EmptyBroker:
    """A broker holding nothing: registration never calls it, recovery finds nothing."""

    def submit(self, order):
        raise AssertionError("add_parent must not send anything")

    def cancel(self, client_order_id, broker_order_id=None):
        raise AssertionError("add_parent must not cancel anything")

    def get_order(self, client_order_id):
        return None

    def open_orders(self):
        return []

    def fills(self, client_order_ids=None, since=None):
        return []

    def positions(self):
        return {}

    def poll_reports(self):
        return []


def snapshot(bid, ask, close) -> MarketSnapshot:
    close = np.asarray(close, dtype=float)
    return MarketSnapshot(5, datetime(2024, 3, 5, 15, 0, tzinfo=UTC), SYMBOLS, close,
                          close, close, close, np.full(len(SYMBOLS), 1e5),
                          np.asarray(bid, dtype=float), np.asarray(ask, dtype=float))


def test_arrival_price_is_the_mid_of_the_symbol_or_its_close_without_two_quotes(tmp_path):
    nan = float("nan")
    # quoted, bid missing, ask missing, both missing
    snap = snapshot(bid=[99.98, nan, 20.10, nan], ask=[100.03, 50.02, nan, nan],
                    close=[100.0, 50.0, 20.0, 7.25])
    engine = ExecutionEngine("run", SYMBOLS, EmptyBroker(), Journal(tmp_path / "j.sqlite"))
    engine.recover()
    for k, sym in enumerate(SYMBOLS):
        assert engine.add_parent(ParentOrder(f"p-{sym}", sym, Side.BUY, 100 + k), snap)
    arrival = [engine.parents[f"p-{s}"].arrival_price for s in SYMBOLS]
    assert arrival == snap.mid().tolist() == [0.5 * (99.98 + 100.03), 50.0, 20.0, 7.25]
    assert all(type(a) is float for a in arrival)
    assert not engine.add_parent(ParentOrder("p-AAA", "AAA", Side.BUY, 100), snap)  # idempotent
    # the journal holds what was applied: a restart rebuilds the same arrival prices
    engine.journal.close()
    again = ExecutionEngine("run", SYMBOLS, EmptyBroker(), Journal(tmp_path / "j.sqlite"))
    again.recover()
    assert [again.parents[f"p-{s}"].arrival_price for s in SYMBOLS] == arrival
    assert again.journal.count(EventKind.PARENT) == len(SYMBOLS)
    again.journal.close()


def test_a_parent_without_any_price_is_refused_before_anything_is_journaled(tmp_path):
    nan = float("nan")
    snap = snapshot(bid=[nan] * 4, ask=[nan] * 4, close=[100.0, nan, 20.0, 7.0])
    engine = ExecutionEngine("run", SYMBOLS, EmptyBroker(), Journal(tmp_path / "j.sqlite"))
    engine.recover()
    with pytest.raises(ValueError, match="no price for BBB on bar 5"):
        engine.add_parent(ParentOrder("p-BBB", "BBB", Side.SELL, 10), snap)
    with pytest.raises(ValueError, match="not traded"):
        engine.add_parent(ParentOrder("p-ZZZ", "ZZZ", Side.SELL, 10), snap)
    assert engine.parents == {}
    assert engine.journal.count(EventKind.PARENT) == 0
    engine.journal.close()
