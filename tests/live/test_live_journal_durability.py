"""The live journal's durability setting, and why its default (NORMAL) is safe after a power loss.

With WAL + NORMAL a process kill loses nothing, but an OS crash or a power cut may roll back the
journal's last transactions, so the journal can forget orders that Tiger did receive. What makes
that safe: on restart the live runner reconciles with the broker before anything is sent, finds
orders (open, or filled into positions) that its journal cannot explain, and refuses to trade.
It never re-sends what it forgot. Driven by the real tigeropen client against the loopback
gateway.
"""

from __future__ import annotations

import shutil

import pytest

from research.config import Settings, TrackingSettings
from research.execution import EventKind, Journal, ReconciliationError
from tests.live.conftest import tiger_settings
from tests.live.test_live_runner import SYMBOLS, make_runner, minute_feed, script_market


def lose_last_commits(path) -> list[str]:
    """Rewrite the journal at ``path`` as a power loss under NORMAL may leave it: the events
    from the last bar's write-ahead commit on are gone (its INTENTs, the SENTs, the bar's end).
    Returns the client order ids of the forgotten orders."""
    with Journal(path) as journal:
        events = list(journal.events())
    last_bar = max(e.bar_index for e in events if e.kind is EventKind.INTENT)
    cut = next(i for i, e in enumerate(events)
               if e.kind is EventKind.INTENT and e.bar_index == last_bar)
    forgotten = [e.client_order_id for e in events[cut:] if e.kind is EventKind.INTENT]
    # the journal is append-only (triggers refuse DELETE): keep the surviving prefix in a
    # fresh file, as SQLite's recovery of the WAL would
    shutil.move(path, path.with_suffix(".before-power-loss"))
    with Journal(path) as journal:
        journal.append_many((e.kind, e.payload, e.client_order_id, e.bar_index)
                            for e in events[:cut])
    return forgotten


@pytest.mark.parametrize("fills", [False, True], ids=["orders-still-open", "orders-filled"])
def test_restart_after_lost_commits_refuses_and_sends_nothing(gateway, settings, server_keys,
                                                               fills):
    script_market(gateway)
    gateway.fill_on_place = fills
    runner, session = make_runner(gateway, settings, server_keys)
    assert runner.engine is None
    runner.run(minute_feed(session), max_bars=2)
    assert settings.execution.journal_synchronous == "NORMAL"  # the default under test
    forgotten = lose_last_commits(runner.journal_path)
    assert len(forgotten) == len(SYMBOLS)  # one TWAP child per symbol on the second bar
    for cid in forgotten:  # Tiger did receive every order the journal forgot
        assert len(gateway.orders_with_mark(cid)) == 1
    placed, cancelled = gateway.calls("place_order"), gateway.calls("cancel_order")

    runner2, session2 = make_runner(gateway, settings, server_keys)
    with pytest.raises(ReconciliationError) as refused:
        runner2.run(minute_feed(session2), max_bars=10)

    report = str(refused.value)
    if fills:  # filled orders are no longer open: the positions give them away
        for sym in SYMBOLS:
            assert any(m.startswith(f"position {sym}: broker ") for m in refused.value.mismatches)
    else:
        for cid in forgotten:
            assert f"client id {cid}" in report and "journal does not know" in report
    assert "trading stopped" in report
    assert runner2.engine is None  # no engine: nothing can trade
    assert gateway.calls("place_order") == placed  # nothing re-sent
    assert gateway.calls("cancel_order") == cancelled  # nor touched


@pytest.mark.parametrize(("env", "pragma"), [(None, 1), ("NORMAL", 1), ("FULL", 2)])
def test_the_live_journal_opens_with_the_configured_synchronous_mode(
        gateway, client_keys, server_keys, tmp_path, monkeypatch, env, pragma):
    """QLAB_EXECUTION__JOURNAL_SYNCHRONOUS reaches the SQLite connection of the live journal
    (PRAGMA synchronous: 1 = NORMAL, 2 = FULL); NORMAL when unset."""
    if env is not None:
        monkeypatch.setenv("QLAB_EXECUTION__JOURNAL_SYNCHRONOUS", env)
    monkeypatch.setenv("QLAB_EXECUTION__JOURNAL_PATH", str(tmp_path / "journal"))
    settings = Settings(tiger=tiger_settings(gateway.url, client_keys.private_pem),
                        tracking=TrackingSettings(
                            mlflow_tracking_uri=f"sqlite:///{tmp_path}/ml/mlflow.db"))
    script_market(gateway)
    runner, _ = make_runner(gateway, settings, server_keys)
    runner.start()
    try:
        db = runner.engine.journal._db
        assert db.execute("PRAGMA synchronous").fetchone()[0] == pragma
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        runner.shutdown()


def test_an_unknown_synchronous_mode_is_a_settings_error(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("QLAB_EXECUTION__JOURNAL_SYNCHRONOUS", "OFF")
    with pytest.raises(ValidationError, match="journal_synchronous"):
        Settings()
