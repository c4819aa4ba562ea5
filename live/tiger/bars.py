"""Bars from Tiger's quote API (``kline``) in qlab's bar schema.

Time stamps. The schema stamps a bar at its *close* in exchange time. Tiger stamps a daily bar
with the session date (midnight exchange time); it is moved to that session's close from the
XNYS calendar (16:00, or 13:00 on early-close days). Tiger stamps a minute bar with the minute
it *starts* (09:30 for 09:30-09:31) — an assumption taken from Tiger's charts and not verified
against the live API here; ``minute_stamp="end"`` switches it off if Tiger turns out to stamp
closes. A wrong assumption cannot pass silently: a 16:00-stamped first bar shifted to 16:01
fails validation as ``outside_session``.

Prices: ``adjust="br"`` (Tiger's default, forward-adjusted: the latest prices are the traded
ones, older prices adjusted for splits/dividends) or ``"nr"`` (raw). The values are tigeropen's
``QuoteRight`` (``BR``/``NR``), sent as k-line ``right``. Forward-adjusted history is rewritten by
every later split or dividend, so it depends on the day it was fetched; raw prices are the ones
that traded, which per-share fees, minimums, tick-size rules and %ADV need.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from live.tiger.session import TigerSession
from research.data.calendar import sessions
from research.data.schema import EXCHANGE_TZ, REQUIRED_COLUMNS, Frequency
from research.data.validation import validate_bars
from research.execution.errors import RateLimited

_PERIOD = {Frequency.DAILY: "day", Frequency.MINUTE: "1min"}


class NoBarsError(ValueError):
    """Tiger answered with no bars (unknown symbol, or no session in the date range)."""


#: Seconds a bar must have been closed when the poll began, to be taken as complete: the local
#: clock may run ahead of Tiger's by a little.
FORMING_MARGIN_S = 2.0

#: Symbols in one k-line request at most (Tiger's quote API takes up to 50 a request).
MAX_SYMBOLS_PER_REQUEST = 50


class TigerBarSource:
    """A bar source (``research.data.sources.BarSource``) over Tiger's k-line API.

    ``symbols_per_request`` > 1 asks Tiger for that many symbols in one k-line request (it
    takes a list; at most :data:`MAX_SYMBOLS_PER_REQUEST`): what the live feed does, so that
    a poll of today's minutes costs one request per batch instead of one per symbol (60 a
    minute) and lasts a second, not a minute, for a large universe. A symbol whose answer in a
    batch is cut short (a next-page token) is fetched again on its own, page by page.
    ``page_size`` is the number of bars asked per request (Tiger caps a request at 1200 bars);
    every request draws from the session's ``kline`` rate budget (60/min) and waits up to
    ``max_wait_s`` seconds for it: a long download is paced, not failed. When Tiger throttles
    a request anyway (code 4 / HTTP 429) the session silences ``kline`` for its cool-down;
    ``rate_limit_retries`` > 0 then re-asks the same page after it, that many times at most
    (0: the :class:`RateLimited` reaches the caller, as the live feed wants).
    """

    def __init__(
        self,
        session: TigerSession,
        frequency: Frequency | str = Frequency.DAILY,
        *,
        adjust: Literal["br", "nr"] = "br",
        minute_stamp: Literal["start", "end"] = "start",
        page_size: int = 1200,
        max_pages: int = 1000,
        max_wait_s: float = 120.0,
        rate_limit_retries: int = 0,
        symbols_per_request: int = 1,
    ):
        if not 1 <= int(symbols_per_request) <= MAX_SYMBOLS_PER_REQUEST:
            raise ValueError(f"TigerBarSource: symbols_per_request must be 1..."
                             f"{MAX_SYMBOLS_PER_REQUEST}, got {symbols_per_request!r}")
        self.symbols_per_request = int(symbols_per_request)
        self.session = session
        self.frequency = Frequency.parse(frequency)
        if adjust not in ("br", "nr"):
            raise ValueError(f"TigerBarSource: adjust must be 'br' or 'nr', got {adjust!r}")
        if minute_stamp not in ("start", "end"):
            raise ValueError(f"TigerBarSource: minute_stamp must be 'start' or 'end', got "
                             f"{minute_stamp!r}")
        self.adjust = adjust
        self.minute_stamp = minute_stamp
        self.page_size = int(page_size)
        self.max_pages = int(max_pages)
        self.max_wait_s = float(max_wait_s)
        self.rate_limit_retries = int(rate_limit_retries)

    def __repr__(self) -> str:
        return f"TigerBarSource({self.frequency.value}, adjust={self.adjust!r})"

    def load(self, symbols: list[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """Validated bars of ``symbols`` from ``start`` to ``end`` (dates inclusive)."""
        if not symbols:
            raise ValueError("TigerBarSource.load: give the symbols to fetch (Tiger has no "
                             "'all symbols' k-line request)")
        begin_ms = self._ms(start, end_of_day=False) if start is not None else -1
        end_ms = self._ms(end, end_of_day=True) if end is not None else -1
        # the clock is read before the first request, and every symbol is cut there: a poll of
        # many symbols is paced over seconds (k-line requests: 60 a minute), so a
        # minute that ends mid-poll is still forming in the earlier answers and complete in
        # the later ones. Cut per symbol, the minute would go to the engine without the
        # symbols asked first (no trading in them, to it) and their bars arrive too late;
        # cut at the poll's start, it comes whole with the next poll
        asked = float(self.session.clock())
        names = [sym.upper() for sym in symbols]
        step = self.symbols_per_request
        frames = []
        for k in range(0, len(names), step):
            frames += self._fetch_batch(names[k:k + step], begin_ms, end_ms)
        raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if raw.empty:
            raise NoBarsError(f"Tiger returned no {self.frequency.value} bars for {symbols} "
                             f"between {start} and {end}")
        bars = self._to_schema(raw)
        # Tiger's k-line of the current session also carries the bar still forming (its
        # volume partial, its close not final), stamped at a close still to come. Dropped: it
        # is fetched again once complete, and a bar must never be used before its close (a
        # live feed that took it also skipped the completed bar, having "seen" that stamp)
        cut = pd.Timestamp(asked - FORMING_MARGIN_S, unit="s", tz="UTC")
        complete = (bars["timestamp"] <= cut).to_numpy()
        if not complete.all():
            bars = bars[complete].reset_index(drop=True)
            if bars.empty:
                raise NoBarsError(f"Tiger returned no completed {self.frequency.value} bars "
                                  f"for {symbols} between {start} and {end} (only bars still "
                                  "forming)")
        validate_bars(bars, self.frequency).raise_if_invalid(
            f"Tiger kline ({self.frequency.value}, {', '.join(symbols)})"
        )
        return bars

    @staticmethod
    def _ms(value, end_of_day: bool) -> int:
        ts = pd.Timestamp(value)
        ts = ts.tz_localize(EXCHANGE_TZ) if ts.tzinfo is None else ts.tz_convert(EXCHANGE_TZ)
        if end_of_day and ts == ts.normalize():
            ts += pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
        return int(ts.value // 1_000_000)

    def _fetch_batch(self, symbols: list[str], begin_ms: int, end_ms: int
                     ) -> list[pd.DataFrame]:
        """Each symbol's bars, from one request for all of them. A symbol whose answer was
        cut short is fetched again on its own (a page token is for one symbol only), and so is
        one a non-empty answer leaves out: it may have no bars (halted), or the gateway may
        answer fewer symbols than asked — a request each then, as unbatched, rather than a
        symbol silently without bars. An empty answer is taken as no bars for any."""
        if len(symbols) == 1:
            return [self._fetch(symbols[0], begin_ms, end_ms)]
        df = self._page(self.session.quote, symbols, begin_ms, end_ms, None)
        if df is None or len(df) == 0:
            # none has a bar yet (before the first close, a holiday): not asked one by one,
            # which before the open would cost a paced request per symbol every poll
            return []
        answered = dict(tuple(df.groupby(df["symbol"].astype(str).str.upper(), sort=False)))
        frames = []
        for sym in symbols:
            part = answered.get(sym)
            token = (part["next_page_token"].iloc[-1]
                     if part is not None and "next_page_token" in part.columns else None)
            if part is None or (isinstance(token, str) and token):
                frames.append(self._fetch(sym, begin_ms, end_ms))
            else:
                frames.append(part)
        return frames

    def _fetch(self, symbol: str, begin_ms: int, end_ms: int) -> pd.DataFrame:
        quote = self.session.quote
        parts, token = [], None
        for _ in range(self.max_pages):
            df = self._page(quote, [symbol], begin_ms, end_ms, token)
            if df is None or len(df) == 0:
                break
            parts.append(df)
            nxt = df["next_page_token"].iloc[-1] if "next_page_token" in df.columns else None
            token = nxt if isinstance(nxt, str) and nxt else None
            if token is None:
                break
        else:
            raise ValueError(f"Tiger kline {symbol}: more than {self.max_pages} pages; "
                             "narrow the date range")
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def _page(self, quote, symbols: list[str], begin_ms: int, end_ms: int,
              token: str | None):
        attempt = 0
        while True:
            try:
                with warnings.catch_warnings():  # tigeropen's own pandas deprecation noise
                    warnings.filterwarnings("ignore", module=r"tigeropen\.")
                    return self.session.call(
                        "kline", quote.get_bars, symbols, period=_PERIOD[self.frequency],
                        begin_time=begin_ms, end_time=end_ms, right=self.adjust,
                        limit=self.page_size, page_token=token, max_wait_s=self.max_wait_s,
                    )
            except RateLimited as exc:
                if attempt >= self.rate_limit_retries:
                    raise
                if exc.code != 0:
                    # Tiger throttled the request (the session has blocked kline for its
                    # cool-down): double the silence each time it happens again, so a
                    # repeated throttle never turns into hammering (Tiger blacklists that)
                    self.session.limiter.bucket("kline").penalize(
                        min(self.session.rate_limit_cooldown_s * 2**attempt, self.max_wait_s))
                attempt += 1

    def _to_schema(self, raw: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in ("symbol", "time", "open", "high", "low", "close", "volume")
                   if c not in raw.columns]
        if missing:
            raise ValueError(f"Tiger kline answer lacks column(s) {missing}")
        stamp = pd.to_datetime(raw["time"].astype("int64"), unit="ms", utc=True).dt.tz_convert(
            EXCHANGE_TZ
        )
        if self.frequency is Frequency.DAILY:
            days = stamp.dt.tz_localize(None).dt.normalize()
            sched = sessions(days.min(), days.max())
            pos = sched.index.get_indexer(days)
            bad = np.flatnonzero(pos < 0)
            if len(bad):
                i = bad[0]
                raise ValueError(f"Tiger kline {raw['symbol'].iloc[i]}: daily bar dated "
                                 f"{days.iloc[i].date()} is not an XNYS session")
            stamp = pd.Series(pd.DatetimeIndex(sched["close"].to_numpy()[pos]), index=raw.index)
            stamp = stamp.dt.tz_convert(EXCHANGE_TZ)
        elif self.minute_stamp == "start":
            stamp = stamp + pd.Timedelta(minutes=1)
        out = pd.DataFrame({
            "timestamp": stamp.dt.as_unit("ns"),
            "symbol": raw["symbol"].astype(str).str.upper(),
            **{c: raw[c].astype("float64") for c in ("open", "high", "low", "close", "volume")},
        })
        out = out.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)
        return out[list(REQUIRED_COLUMNS)]
