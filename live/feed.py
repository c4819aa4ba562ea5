"""Market snapshots for the engine from Tiger: the latest minute bars (k-line) of every symbol,
optionally with live quotes, one snapshot per new bar close."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
import pandas as pd

from live.tiger.bars import NoBarsError
from research.data.schema import EXCHANGE_TZ
from research.execution.model import MarketSnapshot

log = logging.getLogger(__name__)


def snapshots_from_bars(bars: pd.DataFrame, symbols: tuple[str, ...],
                        first_index: int = 0) -> Iterator[MarketSnapshot]:
    """One snapshot per bar close in ``bars`` (long schema); a symbol without a bar at that
    close gets NaN prices and zero volume (no trading in it that bar)."""
    cols = ("open", "high", "low", "close", "volume")
    wide = {c: bars.pivot(index="timestamp", columns="symbol", values=c).reindex(
        columns=list(symbols)) for c in cols}
    quotes = {c: (bars.pivot(index="timestamp", columns="symbol", values=c).reindex(
        columns=list(symbols)) if c in bars.columns else None) for c in ("bid", "ask")}
    index = wide["close"].index
    arrays = {c: wide[c].to_numpy(float) for c in cols}
    arrays["volume"] = np.nan_to_num(arrays["volume"])
    nan = np.full(len(symbols), np.nan)
    for i, ts in enumerate(index):
        yield MarketSnapshot(
            first_index + i, ts.to_pydatetime(), symbols,
            *(arrays[c][i] for c in cols),
            quotes["bid"].to_numpy(float)[i] if quotes["bid"] is not None else nan,
            quotes["ask"].to_numpy(float)[i] if quotes["ask"] is not None else nan,
        )


class TigerBarFeed:
    """Polls ``source`` (a minute ``TigerBarSource``) for ``symbols`` and yields a snapshot for
    each bar close newer than the last one yielded, in order. ``poll_s`` is the wait between
    polls (seconds); ``idle_polls`` > 0 ends the feed after that many polls without a new bar
    (tests, replays); ``since`` is the first session date to load (default: today)."""

    def __init__(self, source, symbols: tuple[str, ...], *, poll_s: float = 5.0,
                 idle_polls: int = 0, since=None, sleep: Callable[[float], None] = time.sleep):
        self.source = source
        self.symbols = symbols
        self.poll_s = poll_s
        self.idle_polls = idle_polls
        self.since = since
        self.sleep = sleep
        self.last: datetime | None = None
        self._next_index = 0
        self._without_bar: dict[pd.Timestamp, set[str]] = {}  # recent minutes' missing symbols

    def __iter__(self) -> Iterator[MarketSnapshot]:
        idle = 0
        while True:
            since = self.since or pd.Timestamp.now(tz=EXCHANGE_TZ).normalize()
            try:
                bars = self.source.load(list(self.symbols), start=since)
            except NoBarsError as exc:  # before the session's first bar has completed...
                bars = None
                # ... or a holiday, symbols Tiger does not know, no quote permission: said
                # once a spell (and every ~10 minutes of it), never silently polled for ever
                if idle % 120 == 0:
                    log.warning("no bars yet (poll %d of this spell): %s", idle + 1, exc)
            if bars is not None and self.last is not None:
                self._say_late(bars[bars["timestamp"] <= self.last])
                bars = bars[bars["timestamp"] > self.last]
            if bars is None or bars.empty:
                idle += 1
                if self.idle_polls and idle >= self.idle_polls:
                    return
                self.sleep(self.poll_s)
                continue
            idle = 0
            for snap in snapshots_from_bars(bars, self.symbols, self._next_index):
                self._next_index = snap.bar_index + 1
                self.last = pd.Timestamp(snap.timestamp)
                self._without_bar[self.last] = {s for s, c in zip(self.symbols, snap.close,
                                                                   strict=True) if c != c}
                while len(self._without_bar) > 30:  # the last half hour is enough to tell
                    self._without_bar.pop(next(iter(self._without_bar)))
                yield snap

    def _say_late(self, seen: pd.DataFrame) -> None:
        """A bar Tiger delivered after its minute was yielded without it (another symbol's
        bar came first): the engine saw no trading in the symbol then, and it is not replayed
        — said once, not silently dropped."""
        for ts, sym in zip(seen["timestamp"], seen["symbol"], strict=True):
            missing = self._without_bar.get(pd.Timestamp(ts))
            if missing and sym in missing:
                missing.discard(sym)
                log.warning("late bar: %s at %s arrived after that minute was traded without "
                            "it (not replayed: the engine saw no bar for it then)", sym, ts)
