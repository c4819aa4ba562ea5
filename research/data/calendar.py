"""NYSE sessions, early closes and holidays from ``exchange_calendars`` (never hand-written)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ

#: The first year of daily US equity data most researchers hold (CRSP's daily files start in
#: 1962); the embedded data start in 1990. Earlier dates have no known session.
_CALENDAR_START = "1962-01-02"


@lru_cache(maxsize=4)
def _calendar(code: str):
    import exchange_calendars as xcals

    # The package's default window is the last 20 years (building from 1962 costs ~0.1 s).
    return xcals.get_calendar(code, start=_CALENDAR_START)


@lru_cache(maxsize=4)
def _schedule(code: str) -> pd.DataFrame:
    """Every session the calendar knows, with tz-aware open and close in exchange time, built
    once: a replay asks for the next session thousands of times (~2 ms a query otherwise)."""
    cal = _calendar(code)
    sched = cal.schedule.loc[cal.first_session:cal.last_session]
    return pd.DataFrame({"open": sched["open"].dt.tz_convert(EXCHANGE_TZ).to_numpy(),
                         "close": sched["close"].dt.tz_convert(EXCHANGE_TZ).to_numpy()},
                        index=pd.DatetimeIndex(sched.index).tz_localize(None))


@lru_cache(maxsize=4)
def _session_arrays(code: str) -> tuple[np.ndarray, list]:
    """(session dates as datetime64[ns], their closes as tz-aware datetimes), for lookups on a
    loop's hot path without pandas."""
    sched = _schedule(code)
    return sched.index.as_unit("ns").to_numpy(), list(sched["close"].dt.to_pydatetime())


def calendar_bounds(code: str = "XNYS") -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) session the calendar knows: a date outside them is no session."""
    days = _schedule(code).index
    return days[0], days[-1]


def session_close_and_next(day, code: str = "XNYS"):
    """(``day``'s close, tz-aware; the next session's date) — (None, None) when ``day`` is
    not a session the calendar knows or is its last."""
    days, closes = _session_arrays(code)
    stamp = np.datetime64(pd.Timestamp(day).normalize(), "ns")
    k = int(np.searchsorted(days, stamp))
    if k >= len(days) - 1 or days[k] != stamp:
        return None, None
    return closes[k], pd.Timestamp(days[k + 1])


def sessions(start, end, code: str = "XNYS") -> pd.DataFrame:
    """Trading sessions between two dates (inclusive) with their open and close.

    Returns a frame indexed by session date (naive) with tz-aware ``open`` and ``close``
    columns in exchange time; early closes (13:00) show up as an earlier ``close``.
    """
    sched = _schedule(code)
    # The calendar knows a bounded range of years; dates outside it have no known session.
    first = max(pd.Timestamp(start).normalize(), sched.index[0])
    last = min(pd.Timestamp(end).normalize(), sched.index[-1])
    if first > last:
        empty = pd.DatetimeIndex([], dtype=f"datetime64[ns, {EXCHANGE_TZ}]")
        return pd.DataFrame({"open": empty, "close": empty}, index=pd.DatetimeIndex([]))
    lo, hi = sched.index.searchsorted(first, "left"), sched.index.searchsorted(last, "right")
    return sched.iloc[lo:hi].copy()


def session_numbers(days, anchor, code: str = "XNYS") -> np.ndarray:
    """How many sessions of the calendar lie from ``anchor`` up to each of ``days`` (0 for the
    first session on or after ``anchor``; negative before it). A day that is not a session
    counts as the next session. Without pandas per call: the loop asks once a session."""
    known = _session_arrays(code)[0]
    at = pd.DatetimeIndex(days)
    at = (at.tz_localize(None) if at.tz is not None else at).normalize()
    origin = np.searchsorted(known, np.datetime64(pd.Timestamp(anchor).normalize(), "ns"))
    return np.searchsorted(known, at.as_unit("ns").to_numpy()) - origin


@lru_cache(maxsize=64)
def _anchor_position(anchor, code: str) -> int:
    known = _session_arrays(code)[0]
    return int(np.searchsorted(known, np.datetime64(pd.Timestamp(anchor).normalize(), "ns")))


def session_number(day, anchor, code: str = "XNYS") -> int:
    """:func:`session_numbers` of one day, in microseconds rather than pandas' ~100 us: the
    trading loop asks once a session, and a 30-year replay has 8,000 of them."""
    day = pd.Timestamp(day)
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    stamp = np.datetime64(day.normalize().value, "ns")
    known = _session_arrays(code)[0]
    return int(np.searchsorted(known, stamp)) - _anchor_position(anchor, code)


def epoch_ns(values) -> np.ndarray:
    """UTC nanoseconds since the epoch, whatever the resolution pandas chose for ``values``."""
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def session_bounds_for(timestamps: pd.Series, code: str = "XNYS") -> tuple[np.ndarray, np.ndarray]:
    """For each timestamp, its date's session open and close as int64 ns (NaT-like -1 if none).

    Used to check that intraday bars lie inside regular trading hours.
    """
    ts = pd.DatetimeIndex(timestamps)
    if len(ts) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    local_days = ts.tz_convert(EXCHANGE_TZ).normalize().tz_localize(None)
    sched = sessions(local_days.min(), local_days.max(), code)
    if len(sched) == 0:  # e.g. only a weekend: no timestamp has a session
        none = np.full(len(ts), -1, dtype=np.int64)
        return none, none.copy()
    pos = sched.index.get_indexer(local_days)
    opens = epoch_ns(sched["open"])
    closes = epoch_ns(sched["close"])
    out_open = np.where(pos >= 0, opens[pos.clip(0)], -1)
    out_close = np.where(pos >= 0, closes[pos.clip(0)], -1)
    return out_open, out_close
