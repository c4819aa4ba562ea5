"""Session arithmetic of the trading loop on the exchange calendar: where a session ends and
which comes next, and where a bar falls in its session."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from research.data.schema import EXCHANGE_TZ

_EXCHANGE = ZoneInfo(EXCHANGE_TZ)


def minutes_after_open(timestamp: datetime) -> float:
    """Minutes after 09:30 exchange time (naive stamps are exchange wall time); plain datetime
    arithmetic, as it runs on the bar-to-orders path (a pandas conversion costs ~100 us)."""
    t = timestamp.astimezone(_EXCHANGE) if timestamp.tzinfo is not None else timestamp
    return t.hour * 60.0 + t.minute + t.second / 60.0 - 570.0


def _exchange_wall_time(moment: datetime) -> datetime:
    """``moment`` as naive exchange wall time (a naive moment already is)."""
    return moment.astimezone(_EXCHANGE).replace(tzinfo=None) if moment.tzinfo is not None else moment


def exchange_date(moment: datetime) -> date:
    """The exchange's calendar date at ``moment`` (naive moments are exchange wall time): a
    broker may stamp fills in UTC, whose date turns in the New York evening."""
    return _exchange_wall_time(moment).date()


def session_opened_by(day: pd.Timestamp, moment: datetime) -> bool:
    """Whether ``day``'s session (naive midnight) had opened, 09:30 exchange time, at
    ``moment`` (naive: exchange wall time)."""
    return _exchange_wall_time(moment) >= day.to_pydatetime() + timedelta(hours=9, minutes=30)


def session_edges(day: pd.Timestamp) -> tuple[datetime | None, pd.Timestamp | None]:
    """(the stamp of ``day``'s last bar — bars are stamped at their close, so the session's
    close, tz-aware; the next session's date) from the exchange calendar; (None, None) when
    the calendar does not know ``day``."""
    from research.data.calendar import session_close_and_next

    try:
        return session_close_and_next(day)
    except Exception:  # noqa: BLE001 - a date outside the calendar: no early preparation
        return None, None
