"""Limit alerts: events, pluggable sinks and de-duplication.

Each limit is in one of three states: ``ok``, ``warning`` (usage at or above
``warning_level`` of its threshold) or ``breach`` (above the threshold). An event is sent
when a limit changes state (including back to ``ok``: a recovery, severity ``info``) and,
while a limit stays in ``warning`` or ``breach``, again only once ``cooldown_seconds`` have
passed since its last event. State is tracked per limit kind, so a breach that moves from
one symbol to another does not re-fire before the cool-down (no alert storms when two
names trade places at the top).

A sink is anything with ``emit(event)``. A sink that raises is logged and skipped: one
broken sink must not stop the others, nor the risk manager. A sink may also have
``suppressed(event)``: it is then shown each event the cool-down held back (the same event,
not sent) — a replay records them so that storm suppression can be seen and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from research.risk.errors import RiskInputError
from research.risk.limits import LimitStatus

_log = logging.getLogger(__name__)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACH = "breach"


_SEVERITY = {
    AlertState.OK: Severity.INFO,
    AlertState.WARNING: Severity.WARNING,
    AlertState.BREACH: Severity.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert. ``measured`` and ``threshold`` are in the limit's units (fractions)."""

    limit: str
    subject: str
    measured: float
    threshold: float
    severity: Severity
    state: AlertState
    previous_state: AlertState
    time: datetime
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "subject": self.subject,
            "measured": self.measured,
            "threshold": self.threshold,
            "severity": self.severity.value,
            "state": self.state.value,
            "previous_state": self.previous_state.value,
            "time": self.time.isoformat(),
            "message": self.message,
        }


class AlertSink(Protocol):
    def emit(self, event: AlertEvent) -> None: ...


class LogSink:
    """Logs events through structlog (key-value fields) or a standard ``logging`` logger."""

    _LEVELS = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "error"}

    def __init__(self, logger: Any = None):
        if logger is None:
            try:
                import structlog

                logger = structlog.get_logger("research.risk.alerts")
            except ImportError:  # structlog is a declared dependency; stay usable without it
                logger = logging.getLogger("research.risk.alerts")
        self.logger = logger

    def emit(self, event: AlertEvent) -> None:
        method = getattr(self.logger, self._LEVELS[event.severity])
        if isinstance(self.logger, logging.Logger):
            method("risk alert: %s", event.message, extra={"risk_alert": event.as_dict()})
        else:
            fields = event.as_dict()
            fields.pop("message")
            method("risk alert", alert=event.message, **fields)


class CallbackSink:
    """Calls ``callback(event)``: the live runner plugs its pager/Slack/metrics in here."""

    def __init__(self, callback: Callable[[AlertEvent], Any]):
        self.callback = callback

    def emit(self, event: AlertEvent) -> None:
        self.callback(event)


class MemorySink:
    """Keeps every event in ``events`` and those the cool-down held back in ``suppressed``
    (tests, notebooks, replays)."""

    def __init__(self) -> None:
        self.events: list[AlertEvent] = []
        self.suppressed_events: list[AlertEvent] = []

    def emit(self, event: AlertEvent) -> None:
        self.events.append(event)

    def suppressed(self, event: AlertEvent) -> None:
        self.suppressed_events.append(event)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlertManager:
    """Turns limit statuses into de-duplicated alert events delivered to sinks.

    Parameters
    ----------
    sinks : where events go.
    cooldown_seconds : an unchanged warning/breach re-fires after this long
        (default: ``RiskSettings.alert_cooldown_seconds``).
    warning_level : usage (measured / threshold) from which a limit is in ``warning``.
    clock : returns the current time (tz-aware); injectable for tests and replays.
    """

    def __init__(
        self,
        sinks: Iterable[AlertSink] = (),
        *,
        cooldown_seconds: float | None = None,
        warning_level: float = 0.9,
        clock: Callable[[], datetime] | None = None,
    ):
        if cooldown_seconds is None:  # the settings' default; the caller passes its own
            from research.config import RiskSettings

            cooldown_seconds = RiskSettings.model_fields["alert_cooldown_seconds"].default
        if cooldown_seconds < 0:
            raise RiskInputError(f"cooldown_seconds must be >= 0, got {cooldown_seconds}")
        if not 0.0 < warning_level <= 1.0:
            raise RiskInputError(f"warning_level must be in (0, 1], got {warning_level}")
        self.sinks = list(sinks)
        self.cooldown_seconds = float(cooldown_seconds)
        self.warning_level = float(warning_level)
        self.clock = clock or _utc_now
        self._state: dict[str, AlertState] = {}
        self._last_sent: dict[str, datetime] = {}
        self.failed_deliveries = 0

    def add_sink(self, sink: AlertSink) -> None:
        self.sinks.append(sink)

    def state_of(self, status: LimitStatus) -> AlertState:
        if status.breached:
            return AlertState.BREACH
        if status.usage >= self.warning_level:
            return AlertState.WARNING
        return AlertState.OK

    def process(
        self, statuses: Iterable[LimitStatus], now: datetime | None = None
    ) -> list[AlertEvent]:
        """Update states from ``statuses``; send and return the events due now.

        ``now`` defaults to the clock; a naive time (a replayed bar stamp) is taken as UTC so
        that replayed and live times compare.
        """
        now = self.clock() if now is None else now
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        events = []
        for status in statuses:
            key = str(status.kind)
            state = self.state_of(status)
            previous = self._state.get(key, AlertState.OK)
            self._state[key] = state
            held_back = False
            if state == previous:
                if state is AlertState.OK:
                    continue
                last = self._last_sent.get(key)
                held_back = (last is not None
                             and (now - last).total_seconds() < self.cooldown_seconds)
                if held_back and not self._watch_suppressed:
                    continue
            event = AlertEvent(
                limit=key,
                subject=status.subject,
                measured=status.measured,
                threshold=status.threshold,
                severity=_SEVERITY[state],
                state=state,
                previous_state=previous,
                time=now,
                message=self._message(status, state, previous),
            )
            if held_back:
                self._deliver(event, "suppressed")
                continue
            self._last_sent[key] = now
            events.append(event)
            self._deliver(event)
        return events

    @property
    def _watch_suppressed(self) -> bool:
        return any(hasattr(sink, "suppressed") for sink in self.sinks)

    def _deliver(self, event: AlertEvent, method: str = "emit") -> None:
        for sink in self.sinks:
            if not hasattr(sink, method):
                continue
            try:
                getattr(sink, method)(event)
            except Exception:  # a broken sink must not silence the others
                self.failed_deliveries += 1
                _log.exception("alert sink %r failed on %s", sink, event.limit)

    @staticmethod
    def _message(status: LimitStatus, state: AlertState, previous: AlertState) -> str:
        if state is AlertState.OK:
            return (
                f"{status.kind} back within limit: {status.measured:.4g} <= {status.threshold:.4g} "
                f"({status.subject}; was {previous})"
            )
        relation = ">" if state is AlertState.BREACH else "near"
        return (
            f"{status.kind} {state}: {status.measured:.4g} {relation} limit {status.threshold:.4g} "
            f"({status.subject}, usage {status.usage:.0%})"
        )
