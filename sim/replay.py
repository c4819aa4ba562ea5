"""Bar replay: the long bar frame turned into per-field matrices [n_bars, n_symbols].

The simulated broker and the engine read one row per bar; a symbol missing from a bar is NaN
(no trading: the breakers treat it as a halt). Bars are stamped at their close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from research.execution.model import MarketSnapshot

_PRICE_FIELDS = ("open", "high", "low", "close")
_REQUIRED = ("timestamp", "symbol", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class BarReplay:
    """Aligned bar matrices. ``bid``/``ask`` are all-NaN when the data has no quotes."""

    timestamps: tuple[datetime, ...]
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.timestamps), len(self.symbols))
        for name in (*_PRICE_FIELDS, "volume", "bid", "ask"):
            a = getattr(self, name)
            if a.shape != shape:
                raise ValueError(f"bar replay: {name} has shape {a.shape}, expected {shape}")
        if any(t.tzinfo is None for t in self.timestamps):
            raise ValueError("bar replay: timestamps must be tz-aware (America/New_York)")
        if any(b <= a for a, b in zip(self.timestamps, self.timestamps[1:], strict=False)):
            raise ValueError("bar replay: timestamps must be strictly increasing")
        with np.errstate(invalid="ignore"):
            for name in _PRICE_FIELDS:
                a = getattr(self, name)
                bad = np.isfinite(a) & (a <= 0)
                if bad.any():
                    t, s = np.argwhere(bad)[0]
                    raise ValueError(f"bar replay: {name} <= 0 for {self.symbols[s]} at "
                                     f"{self.timestamps[t].isoformat()}")
            bad = np.isfinite(self.high) & np.isfinite(self.low) & (self.high < self.low)
            if bad.any():
                t, s = np.argwhere(bad)[0]
                raise ValueError(f"bar replay: high < low for {self.symbols[s]} at "
                                 f"{self.timestamps[t].isoformat()}")
            bad = self.volume < 0
            if bad.any():
                t, s = np.argwhere(bad)[0]
                raise ValueError(f"bar replay: negative volume for {self.symbols[s]} at "
                                 f"{self.timestamps[t].isoformat()}")

    @property
    def n_bars(self) -> int:
        return len(self.timestamps)

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    def session_last_bar(self) -> np.ndarray:
        """True for the last bar of each calendar date (where DAY orders expire)."""
        dates = [t.date() for t in self.timestamps]
        return np.array([a != b for a, b in zip(dates, dates[1:], strict=False)] + [True])

    def snapshot(self, t: int, price_multiplier: np.ndarray | None = None) -> MarketSnapshot:
        """Bar ``t`` as a :class:`MarketSnapshot`; prices scaled by ``price_multiplier``."""
        m = 1.0 if price_multiplier is None else price_multiplier
        return MarketSnapshot(
            bar_index=t, timestamp=self.timestamps[t], symbols=self.symbols,
            open=self.open[t] * m, high=self.high[t] * m, low=self.low[t] * m,
            close=self.close[t] * m, volume=self.volume[t], bid=self.bid[t] * m,
            ask=self.ask[t] * m,
        )

    @classmethod
    def from_arrays(
        cls,
        timestamps: Sequence[datetime],
        symbols: Sequence[str],
        *,
        close: np.ndarray,
        volume: np.ndarray,
        open: np.ndarray | None = None,  # noqa: A002 - the bar field's name
        high: np.ndarray | None = None,
        low: np.ndarray | None = None,
        bid: np.ndarray | None = None,
        ask: np.ndarray | None = None,
    ) -> BarReplay:
        """From matrices [n_bars, n_symbols]; open/high/low default to close, quotes to NaN."""
        c = np.asarray(close, dtype=float)

        def arr(x: np.ndarray | None, default: np.ndarray) -> np.ndarray:
            return default.copy() if x is None else np.asarray(x, dtype=float)

        nan = np.full_like(c, np.nan)
        return cls(
            timestamps=tuple(timestamps), symbols=tuple(symbols), open=arr(open, c),
            high=arr(high, c), low=arr(low, c), close=c, volume=arr(volume, c),
            bid=arr(bid, nan), ask=arr(ask, nan),
        )

    @classmethod
    def from_frame(cls, bars, symbols: Sequence[str] | None = None) -> BarReplay:
        """From the long bar frame (columns timestamp, symbol, open, high, low, close, volume,
        optional bid, ask). Raises on missing columns or duplicate (timestamp, symbol) rows."""
        missing = [c for c in _REQUIRED if c not in bars.columns]
        if missing:
            raise ValueError(f"bar replay: bar frame lacks column(s) {missing}")
        dup = bars.duplicated(["timestamp", "symbol"])
        if dup.any():
            row = bars.loc[dup].iloc[0]
            raise ValueError(f"bar replay: duplicate bar for {row['symbol']} at {row['timestamp']}")
        syms = tuple(symbols) if symbols is not None else tuple(sorted(bars["symbol"].unique()))
        unknown = set(syms) - set(bars["symbol"].unique())
        if unknown:
            raise ValueError(f"bar replay: no bars for symbol(s) {sorted(unknown)}")
        fields = [*_PRICE_FIELDS, "volume"] + [q for q in ("bid", "ask") if q in bars.columns]
        wide = bars.pivot(index="timestamp", columns="symbol", values=fields).sort_index()
        mats = {f: wide[f].reindex(columns=list(syms)).to_numpy(dtype=float) for f in fields}
        ts = tuple(wide.index.to_pydatetime())
        return cls.from_arrays(ts, syms, **mats)


def bar_minutes_of(timestamps) -> float | None:
    """Typical bar length in minutes: the median spacing of two bars of one session; None when
    no session has two bars (daily bars)."""
    import pandas as pd

    ts = pd.DatetimeIndex(timestamps)
    if len(ts) < 2:
        return None
    diffs = (ts[1:] - ts[:-1]).total_seconds().to_numpy() / 60.0
    inside = diffs[ts.normalize()[1:] == ts.normalize()[:-1]]
    return float(np.median(inside)) if inside.size else None
