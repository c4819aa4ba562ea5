from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from research.risk import (
    AlertManager,
    AlertState,
    CallbackSink,
    LimitKind,
    LimitStatus,
    LogSink,
    MemorySink,
    RiskInputError,
    Severity,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def position(measured: float, subject: str = "AAPL") -> LimitStatus:
    return LimitStatus(LimitKind.POSITION_WEIGHT, measured, 0.10, subject)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory() -> MemorySink:
    return MemorySink()


@pytest.fixture
def alerts(clock, memory) -> AlertManager:
    return AlertManager([memory], cooldown_seconds=600, warning_level=0.9, clock=clock)


def test_breach_fires_once_then_waits_for_the_cooldown(alerts, clock, memory):
    assert alerts.process([position(0.12)])[0].severity is Severity.CRITICAL
    for _ in range(5):  # unchanged breach, every 10 seconds: no storm
        clock.advance(10)
        assert alerts.process([position(0.12)]) == []
    clock.advance(600)
    again = alerts.process([position(0.13)])
    assert len(again) == 1 and again[0].state is AlertState.BREACH
    assert again[0].previous_state is AlertState.BREACH
    assert len(memory.events) == 2


def test_event_carries_limit_value_threshold_and_time(alerts, clock):
    event = alerts.process([position(0.12, "MSFT")])[0]
    assert event.limit == "position_weight"
    assert event.subject == "MSFT"
    assert (event.measured, event.threshold) == (0.12, 0.10)
    assert event.time == clock.now
    assert "MSFT" in event.message and "0.12" in event.message
    assert event.as_dict()["severity"] == "critical"


def test_state_changes_fire_immediately(alerts, clock, memory):
    assert alerts.process([position(0.05)]) == []  # ok from the start: silent
    warning = alerts.process([position(0.095)])
    assert warning[0].severity is Severity.WARNING
    clock.advance(1)
    breach = alerts.process([position(0.11)])
    assert breach[0].state is AlertState.BREACH and breach[0].previous_state is AlertState.WARNING
    clock.advance(1)
    recovery = alerts.process([position(0.05)])
    assert recovery[0].severity is Severity.INFO and recovery[0].previous_state is AlertState.BREACH
    clock.advance(1)
    assert alerts.process([position(0.05)]) == []
    assert [e.state for e in memory.events] == [
        AlertState.WARNING,
        AlertState.BREACH,
        AlertState.OK,
    ]


def test_breach_moving_to_another_symbol_does_not_refire_before_cooldown(alerts, clock):
    assert len(alerts.process([position(0.12, "AAPL")])) == 1
    clock.advance(30)
    assert alerts.process([position(0.12, "MSFT")]) == []


def test_each_limit_has_its_own_state(alerts):
    statuses = [position(0.12), LimitStatus(LimitKind.DAILY_LOSS, 0.035, 0.03, "portfolio")]
    events = alerts.process(statuses)
    assert {e.limit for e in events} == {"position_weight", "daily_loss"}


def test_callback_sink_and_a_failing_sink_do_not_stop_the_others(clock, caplog):
    received = []

    def broken(event):
        raise RuntimeError("pager down")

    manager = AlertManager(
        [CallbackSink(broken), CallbackSink(received.append)], cooldown_seconds=0, clock=clock
    )
    with caplog.at_level(logging.ERROR):
        manager.process([position(0.12)])
    assert len(received) == 1
    assert manager.failed_deliveries == 1
    assert "pager down" in caplog.text


def test_log_sink_with_standard_logging(alerts, caplog):
    logger = logging.getLogger("test.risk.alerts")
    alerts.add_sink(LogSink(logger))
    with caplog.at_level(logging.WARNING, logger="test.risk.alerts"):
        alerts.process([position(0.12)])
    record = caplog.records[-1]
    assert record.levelno == logging.ERROR
    assert record.risk_alert["limit"] == "position_weight"


def test_log_sink_with_structlog(clock):
    import structlog

    with structlog.testing.capture_logs() as captured:
        AlertManager([LogSink()], cooldown_seconds=0, clock=clock).process([position(0.095)])
    assert captured[0]["log_level"] == "warning"
    assert captured[0]["limit"] == "position_weight" and captured[0]["measured"] == 0.095


def test_zero_cooldown_refires_every_time(clock, memory):
    manager = AlertManager([memory], cooldown_seconds=0, clock=clock)
    manager.process([position(0.12)])
    manager.process([position(0.12)])
    assert len(memory.events) == 2


def test_default_cooldown_comes_from_settings():
    assert AlertManager().cooldown_seconds == 900.0


def test_bad_configuration():
    with pytest.raises(RiskInputError):
        AlertManager(cooldown_seconds=-1)
    with pytest.raises(RiskInputError):
        AlertManager(cooldown_seconds=0, warning_level=1.5)


def test_naive_replay_times_are_taken_as_utc(memory):
    manager = AlertManager([memory], cooldown_seconds=60)
    manager.process([position(0.12)], now=datetime(2024, 3, 4, 10, 0))
    assert manager.process([position(0.12)], now=datetime(2024, 3, 4, 10, 0, 30, tzinfo=UTC)) == []
    assert len(manager.process([position(0.12)], now=datetime(2024, 3, 4, 10, 2))) == 1
    assert memory.events[0].time.tzinfo is UTC


def test_a_sink_that_asks_is_shown_what_the_cooldown_held_back(alerts, clock, memory):
    """Storm suppression made visible: the held-back alerts reach ``suppressed``, not ``emit``,
    and do not restart the cool-down."""
    plain = CallbackSink(lambda e: None)  # no ``suppressed``: it sees only what is sent
    alerts.add_sink(plain)
    alerts.process([position(0.12)])
    for _ in range(3):
        clock.advance(200)
        alerts.process([position(0.12, "MSFT")])
    assert len(memory.events) == 2  # the first, and the one at 600 s (cool-down from 0 s)
    assert [e.subject for e in memory.suppressed_events] == ["MSFT", "MSFT"]
    assert all(e.state is AlertState.BREACH for e in memory.suppressed_events)
    assert memory.events[1].time - memory.events[0].time == timedelta(seconds=600)
