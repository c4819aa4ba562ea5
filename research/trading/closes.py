"""The trading loop's daily closes: the history it was started with plus each session it closes,
kept so that a session's lookups cost the same on the 8,000th session as on the first.

Why not a DataFrame: the loop reads "the closes before day D" every session (risk refit,
strategy, rebalance calendar) and appends one row per session. With a DataFrame each of those
is a copy of the whole history — quadratic over a 33-year daily replay (measured at ~5 ms a
session after 1,000 sessions). Here rows live in a growing numpy buffer, lookups are binary
searches, and only the tail a caller needs becomes a DataFrame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class SessionCloses:
    """Daily closes by session date (naive midnight), ascending, one column per symbol."""

    def __init__(self, closes: pd.DataFrame):
        frame = closes.sort_index()
        index = pd.DatetimeIndex(frame.index)
        if index.tz is not None:
            index = index.tz_localize(None)
        if index.has_duplicates:
            raise ValueError(f"daily closes: session {index[index.duplicated()][0]:%Y-%m-%d} "
                             "appears twice")
        self.columns = list(frame.columns)
        n = len(index)
        cap = max(16, 2 * n)
        self._days = np.empty(cap, dtype="datetime64[ns]")
        self._days[:n] = index.normalize().as_unit("ns").to_numpy()
        self._values = np.empty((cap, len(self.columns)))
        self._values[:n] = frame.to_numpy(dtype=float)
        self._n = n
        # each symbol's last close so far: a name delisted (or cleared, see forget_last) early
        # in a long replay would otherwise make every session's lookup walk back to it
        self._last = self._walk_back(n)

    def __len__(self) -> int:
        return self._n

    def _position(self, day: pd.Timestamp) -> int:
        """Rows strictly before ``day``."""
        return int(np.searchsorted(self._days[:self._n], np.datetime64(day, "ns"), "left"))

    def __contains__(self, day: pd.Timestamp) -> bool:
        k = self._position(day)
        return k < self._n and self._days[k] == np.datetime64(day, "ns")

    def previous_session(self, day: pd.Timestamp) -> pd.Timestamp | None:
        """The last session date before ``day`` (None if there is none)."""
        k = self._position(day)
        return pd.Timestamp(self._days[k - 1]) if k else None

    def values_before(self, day: pd.Timestamp, last: int | None = None) -> np.ndarray:
        """:meth:`before` as a bare (rows, symbols) array (a view: do not write to it)."""
        k = self._position(day)
        lo = 0 if last is None else max(0, k - int(last))
        return self._values[lo:k]

    def before(self, day: pd.Timestamp, last: int | None = None) -> pd.DataFrame:
        """The closes strictly before ``day``: all of them, or the ``last`` rows."""
        k = self._position(day)
        lo = 0 if last is None else max(0, k - int(last))
        return pd.DataFrame(self._values[lo:k], index=pd.DatetimeIndex(self._days[lo:k]),
                            columns=self.columns, copy=True)

    def last_prices_before(self, day: pd.Timestamp) -> np.ndarray:
        """Each symbol's last known close before ``day`` (NaN if it never had one): a symbol
        without a close on the last session keeps its previous one."""
        k = self._position(day)
        return self._last.copy() if k == self._n else self._walk_back(k)

    def last_prices_before_window(self, day: pd.Timestamp, last: int) -> np.ndarray:
        """Each symbol's last close before the ``last`` rows before ``day`` (the window
        :meth:`values_before` gives): where a gap at the window's start began."""
        return self._walk_back(max(0, self._position(day) - int(last)))

    def _walk_back(self, k: int) -> np.ndarray:
        """Each symbol's last close in the first ``k`` rows."""
        out = np.full(len(self.columns), np.nan)
        missing = np.ones(len(self.columns), bool)
        row = k - 1
        while row >= 0 and missing.any():
            v = self._values[row]
            take = missing & np.isfinite(v)
            out[take] = v[take]
            missing &= ~take
            row -= 1
        return out

    def sessions_without_close(self) -> np.ndarray:
        """Per symbol, how many of the last sessions held have no close for it (0: it has one
        on the last session)."""
        missing = ~np.isfinite(self._values[:self._n])
        ended = missing[::-1].cumprod(axis=0)  # 1 while every later session lacks it too
        return ended.sum(axis=0).astype(np.int64)

    def forget_last(self, sessions: int, columns: np.ndarray) -> None:
        """Clear the last ``sessions`` closes of the ``columns`` (a mask): closes carried over
        sessions a symbol did not trade, once they are known not to be a short halt."""
        lo = max(0, self._n - int(sessions))
        columns = np.asarray(columns, dtype=bool)
        self._values[lo:self._n, columns] = np.nan
        self._last[columns] = self._walk_back(self._n)[columns]

    def last_row(self) -> np.ndarray:
        return self._values[self._n - 1].copy()

    def append(self, day: pd.Timestamp, close: np.ndarray) -> None:
        """Add the session ``day`` (after every session held)."""
        stamp = np.datetime64(day, "ns")
        if self._n and stamp <= self._days[self._n - 1]:
            raise ValueError(f"daily closes: {day:%Y-%m-%d} is not after the last session held")
        if self._n == len(self._days):
            self._days = np.concatenate([self._days, np.empty_like(self._days)])
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self._days[self._n] = stamp
        self._values[self._n] = close
        self._n += 1
        self._last = np.where(np.isfinite(self._values[self._n - 1]), self._values[self._n - 1],
                              self._last)

    @property
    def frame(self) -> pd.DataFrame:
        """Every close held, as a DataFrame (a copy)."""
        return self.before(pd.Timestamp.max.normalize())
