"""Instrument rules of US equities at Tiger Brokers, shared by the engine and the simulated broker.

* Tick size (SEC Rule 612): $0.01 for prices at or above $1, $0.0001 below.
* Lot size: one share (no fractional shares through this engine).
* Regular trading hours 09:30-16:00 America/New_York: Tiger accepts no market order outside
  them (``outside_rth`` must be false for MKT). A bar is stamped at its close, so a bar stamped
  16:00 still counts as regular; a daily bar (stamped 16:00 or at midnight) is regular.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from research.data.schema import EXCHANGE_TZ

NEW_YORK = ZoneInfo(EXCHANGE_TZ)
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
LOT_SIZE = 1
_TICK_TOLERANCE = 1e-9


def tick_size(price: float | np.ndarray) -> float | np.ndarray:
    """Minimum price increment in dollars: 0.01 at or above $1, 0.0001 below."""
    if np.ndim(price) == 0:
        return 0.01 if float(price) >= 1.0 else 0.0001
    return np.where(np.asarray(price) >= 1.0, 0.01, 0.0001)


def is_on_tick(price: float | np.ndarray) -> bool | np.ndarray:
    """True where ``price`` is a whole number of ticks (within float tolerance)."""
    p = np.asarray(price, dtype=float)
    ticks = p / tick_size(p)
    ok = np.abs(ticks - np.round(ticks)) < 1e-6
    return bool(ok) if ok.ndim == 0 else ok


def round_to_tick(price: float, passive_side_sign: int) -> float:
    """Round a limit price onto the tick grid on the passive side.

    ``passive_side_sign`` is +1 for a buy (rounds down, never pays more than asked) and -1 for a
    sell (rounds up).
    """
    tick = tick_size(price)
    n = price / tick
    n = np.floor(n + _TICK_TOLERANCE) if passive_side_sign > 0 else np.ceil(n - _TICK_TOLERANCE)
    return round(float(n * tick), 4)


def is_regular_hours(timestamp: datetime) -> bool:
    """True when ``timestamp`` (tz-aware; naive is read as New York) is within 09:30-16:00 ET.

    A date-only daily bar (midnight) is treated as regular: it stands for the whole session.
    """
    ts = timestamp.astimezone(NEW_YORK) if timestamp.tzinfo is not None else timestamp
    t = ts.time()
    if t == time(0, 0):
        return True
    return REGULAR_OPEN <= t <= REGULAR_CLOSE
