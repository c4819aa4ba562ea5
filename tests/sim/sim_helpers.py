"""Hand-built bars for the simulated-broker tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from sim import BarReplay

NY = ZoneInfo("America/New_York")


def minute_bars(n=10, symbols=("AAA",), close=100.0, volume=10_000.0, spread=None,
                high_mult=1.0, low_mult=1.0, start=datetime(2024, 3, 4, 10, 0)):
    ts = [start.replace(tzinfo=NY) + timedelta(minutes=i) for i in range(n)]
    c = np.full((n, len(symbols)), close, dtype=float)
    kw = {}
    if spread is not None:
        kw = {"bid": c - spread / 2, "ask": c + spread / 2}
    return BarReplay.from_arrays(ts, symbols, close=c, high=c * high_mult, low=c * low_mult,
                                 volume=np.full_like(c, volume), **kw)
