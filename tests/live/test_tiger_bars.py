"""k-line bars from the gateway become validated bars in qlab's schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.data import validate_bars


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").value // 1_000_000)


def _daily(symbol_base: float) -> list[dict]:
    # Tiger stamps a daily bar with its session date at midnight, exchange time.
    # 2022-11-24 is Thanksgiving (no session); 2022-11-25 closes early at 13:00.
    days = ["2022-11-21", "2022-11-22", "2022-11-23", "2022-11-25", "2022-11-28"]
    return [{"time": _ms(d), "open": symbol_base + i, "high": symbol_base + i + 2,
             "low": symbol_base + i - 1, "close": symbol_base + i + 1, "volume": 1e6 + i,
             "amount": 0.0} for i, d in enumerate(days)]


@pytest.fixture
def bar_session(gateway, make_broker):
    from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter

    # a generous k-line budget so paging tests do not wait on the (correct) 60/min pacing
    limiter = RateLimiter(limits={**TIGER_LIMITS_PER_MINUTE, "kline": 600})
    return make_broker(gateway, limiter=limiter).session


def test_daily_bars_are_stamped_at_the_session_close(gateway, bar_session):
    from live.tiger import TigerBarSource

    gateway.set_bars("AAPL", "day", _daily(150.0))
    gateway.set_bars("MSFT", "day", _daily(250.0))
    src = TigerBarSource(bar_session, "daily", page_size=2)
    bars = src.load(["AAPL", "msft"], "2022-11-21", "2022-11-28")
    assert validate_bars(bars, "daily").ok
    assert list(bars.columns) == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    aapl = bars[bars["symbol"] == "AAPL"]
    assert [t.isoformat() for t in aapl["timestamp"]] == [
        "2022-11-21T16:00:00-05:00", "2022-11-22T16:00:00-05:00", "2022-11-23T16:00:00-05:00",
        "2022-11-25T13:00:00-05:00", "2022-11-28T16:00:00-05:00",
    ]
    assert list(aapl["close"]) == [151.0, 152.0, 153.0, 154.0, 155.0]
    assert bars["volume"].dtype == "float64"
    # 5 bars, pages of 2: three k-line requests per symbol, all with the adjustment asked
    kl = [biz for m, biz in gateway.requests if m == "kline"]
    assert len(kl) == 6 and {b["right"] for b in kl} == {"br"} and {b["period"] for b in kl} == {
        "day"}
    assert kl[0]["begin_time"] == _ms("2022-11-21")


def test_date_range_is_inclusive(gateway, bar_session):
    from live.tiger import TigerBarSource

    gateway.set_bars("AAPL", "day", _daily(150.0))
    bars = TigerBarSource(bar_session).load(["AAPL"], "2022-11-22", "2022-11-25")
    assert len(bars) == 3


def test_minute_bars_move_to_their_close(gateway, bar_session):
    from live.tiger import TigerBarSource

    items = [{"time": _ms(f"2022-11-22 09:{30 + i}"), "open": 100.0, "high": 100.5,
              "low": 99.5, "close": 100.2, "volume": 500.0} for i in range(3)]
    items.append({"time": _ms("2022-11-22 15:59"), "open": 101.0, "high": 101.0, "low": 101.0,
                  "close": 101.0, "volume": 9000.0})
    gateway.set_bars("JPM", "1min", items)
    bars = TigerBarSource(bar_session, "minute").load(["JPM"], "2022-11-22", "2022-11-22")
    assert [t.strftime("%H:%M") for t in bars["timestamp"]] == ["09:31", "09:32", "09:33",
                                                                "16:00"]
    assert validate_bars(bars, "minute").ok


def test_bars_outside_the_session_are_refused(gateway, bar_session):
    from live.tiger import TigerBarSource
    from research.data import BarValidationError

    gateway.set_bars("JPM", "1min", [{"time": _ms("2022-11-22 16:30"), "open": 1.0,
                                      "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}])
    with pytest.raises(BarValidationError, match="outside_session"):
        TigerBarSource(bar_session, "minute").load(["JPM"], "2022-11-22", "2022-11-22")


def test_daily_bar_on_a_holiday_is_refused(gateway, bar_session):
    from live.tiger import TigerBarSource

    gateway.set_bars("AAPL", "day", [{"time": _ms("2022-11-24"), "open": 1.0, "high": 1.0,
                                      "low": 1.0, "close": 1.0, "volume": 1.0}])
    with pytest.raises(ValueError, match="2022-11-24 is not an XNYS session"):
        TigerBarSource(bar_session).load(["AAPL"], "2022-11-21", "2022-11-28")


def test_quote_permission_denied(gateway, bar_session):
    from live.tiger import QuotePermissionDenied, TigerBarSource
    from live.tiger.testing import Fault

    gateway.fail_next("kline", Fault("code", code=4000, message=(
        "permission denied(This service is temporarily unavailable)")))
    with pytest.raises(QuotePermissionDenied) as err:
        TigerBarSource(bar_session).load(["AAPL"], "2022-11-21", "2022-11-28")
    assert err.value.code == "4000"


def test_no_bars_is_an_error(gateway, bar_session):
    from live.tiger import TigerBarSource

    with pytest.raises(ValueError, match="no daily bars"):
        TigerBarSource(bar_session).load(["AAPL"], "2022-11-21", "2022-11-28")


def test_kline_requests_are_paced_by_the_rate_budget(gateway, make_broker):
    from live.tiger import RateLimiter, TigerBarSource, WallClockBucket

    limiter = RateLimiter()
    limiter.set_bucket("kline", WallClockBucket(10.0, 1))  # one burst, then 10 per second
    session = make_broker(gateway, limiter=limiter).session
    gateway.set_bars("AAPL", "day", _daily(150.0))
    import time

    t0 = time.perf_counter()
    bars = TigerBarSource(session, page_size=1, max_wait_s=5.0).load(
        ["AAPL"], "2022-11-21", "2022-11-28")
    assert len(bars) == 5 and gateway.calls("kline") == 5
    assert time.perf_counter() - t0 >= 0.4 * 0.95  # 4 waits of 0.1 s


def _minutes(n: int, last_volume: float = 500.0) -> list[dict]:
    """n k-line minutes from 09:30 (Tiger stamps a minute with its start); the last one
    carries ``last_volume`` (a bar still forming has a partial volume)."""
    return [{"time": _ms(f"2022-11-22 09:{30 + i}"), "open": 100.0, "high": 100.5,
             "low": 99.5, "close": 100.2, "volume": last_volume if i == n - 1 else 500.0}
            for i in range(n)]


def _session_at(gateway, make_broker, clock):
    from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter

    limiter = RateLimiter(limits={**TIGER_LIMITS_PER_MINUTE, "kline": 600})
    return make_broker(gateway, limiter=limiter, clock=clock).session


def test_the_minute_still_forming_is_dropped(gateway, make_broker):
    from live.tiger import TigerBarSource
    from live.tiger.bars import NoBarsError

    # 09:40:30: Tiger's answer holds 09:30..09:39 complete and 09:40 forming (close 09:41)
    now = [pd.Timestamp("2022-11-22 09:40:30", tz="America/New_York").timestamp()]
    session = _session_at(gateway, make_broker, lambda: now[0])
    gateway.set_bars("JPM", "1min", _minutes(11, last_volume=37.0))
    bars = TigerBarSource(session, "minute").load(["JPM"], "2022-11-22", "2022-11-22")
    assert bars["timestamp"].iloc[-1].strftime("%H:%M") == "09:40" and len(bars) == 10
    assert 37.0 not in set(bars["volume"])
    now[0] -= 600  # 09:30:30: the session's first minute is still forming
    gateway.set_bars("JPM", "1min", _minutes(1, last_volume=37.0))
    with pytest.raises(NoBarsError, match="still forming"):
        TigerBarSource(session, "minute").load(["JPM"], "2022-11-22", "2022-11-22")


def test_a_minute_that_ends_during_a_poll_comes_whole_with_the_next_poll(gateway, make_broker):
    """A poll of several symbols takes seconds (k-line requests are paced): JPM is asked at
    09:40:59, while its 09:40 minute (close 09:41) is forming; XOM at 09:41:03, when it has
    closed. The poll is cut where it began, for every symbol: XOM's 09:40 minute is not taken
    without JPM's (the engine would see no trading in JPM that minute, and JPM's bar would
    arrive after it was traded); both come with the next poll."""
    from live.feed import TigerBarFeed
    from live.tiger import TigerBarSource

    def at(hms):
        return pd.Timestamp(f"2022-11-22 {hms}", tz="America/New_York").timestamp()

    times = iter([at("09:40:59"), at("09:41:03"), at("09:41:06"), at("09:41:08")])
    last = [0.0]

    def clock():  # each request reads the clock once, then it stays there
        last[0] = next(times, last[0])
        return last[0]

    session = _session_at(gateway, make_broker, clock)
    for sym in ("JPM", "XOM"):
        gateway.set_bars(sym, "1min", _minutes(11, last_volume=37.0))
    bars = TigerBarSource(session, "minute").load(["JPM", "XOM"], "2022-11-22", "2022-11-22")
    last_bar = bars.groupby("symbol")["timestamp"].max().dt.strftime("%H:%M")
    assert last_bar.to_dict() == {"JPM": "09:40", "XOM": "09:40"}

    for sym in ("JPM", "XOM"):  # the next poll (09:41:06): the minute closed, full volume
        gateway.set_bars(sym, "1min", _minutes(11))
    feed = TigerBarFeed(TigerBarSource(session, "minute"), ("JPM", "XOM"), idle_polls=1,
                        poll_s=0.0, since=pd.Timestamp("2022-11-22"), sleep=lambda s: None)
    feed.last = pd.Timestamp("2022-11-22 09:40", tz="America/New_York")
    (snap,) = list(feed)
    assert snap.timestamp.strftime("%H:%M") == "09:41" and list(snap.volume) == [500.0, 500.0]


def test_the_feed_yields_a_forming_minute_once_complete_with_its_full_volume(gateway,
                                                                           make_broker):
    from live.feed import TigerBarFeed
    from live.tiger import TigerBarSource

    now = [pd.Timestamp("2022-11-22 09:31:30", tz="America/New_York").timestamp()]
    session = _session_at(gateway, make_broker, lambda: now[0])
    gateway.set_bars("JPM", "1min", _minutes(2, last_volume=37.0))  # 09:31 forming

    def next_minute(_seconds: float) -> None:  # the feed's wait between polls: once, a minute
        if len(now) == 1:
            now.append(now[0])
            now[0] += 60  # 09:32:30: 09:31 complete (full volume), 09:32 forming
            gateway.set_bars("JPM", "1min", _minutes(3, last_volume=37.0))

    feed = TigerBarFeed(TigerBarSource(session, "minute"), ("JPM",), idle_polls=2,
                        poll_s=0.0, since=pd.Timestamp("2022-11-22"), sleep=next_minute)
    snaps = [(s.timestamp.strftime("%H:%M"), float(s.volume[0])) for s in feed]
    assert snaps == [("09:31", 500.0), ("09:32", 500.0)]


def test_a_feed_with_no_bars_says_why_instead_of_polling_silently(caplog):
    """A holiday, unknown symbols or no quote permission: the feed keeps polling (the first
    bar may just not have closed yet) but logs the source's reason at the start of the spell."""
    import logging

    from live.feed import TigerBarFeed
    from live.tiger.bars import NoBarsError

    class Empty:
        def load(self, symbols, start=None, end=None):
            raise NoBarsError("Tiger returned no minute bars for ['ZZZZ']")

    caplog.set_level(logging.WARNING, logger="live.feed")
    feed = TigerBarFeed(Empty(), ("ZZZZ",), poll_s=0.0, idle_polls=3, sleep=lambda s: None)
    assert list(feed) == []
    lines = [r.getMessage() for r in caplog.records if "no bars yet" in r.getMessage()]
    assert len(lines) == 1 and "ZZZZ" in lines[0]


def test_a_bar_delivered_after_its_minute_was_yielded_is_said_not_dropped_silently(caplog):
    """KO's 09:31 bar reaches the feed one poll after AAPL's: the 09:31 snapshot went out
    with no KO bar (no trading in it, to the engine) and is not replayed — and the log says
    so, once."""
    import logging

    from live.feed import TigerBarFeed

    def bar(sym, minute):
        ts = pd.Timestamp(f"2022-11-22 09:{minute}", tz="America/New_York")
        return {"timestamp": ts, "symbol": sym, "open": 1.0, "high": 1.0, "low": 1.0,
                "close": 1.0, "volume": 10.0}

    polls = iter([pd.DataFrame([bar("AAPL", 31)]),
                  pd.DataFrame([bar("AAPL", 31), bar("KO", 31), bar("AAPL", 32), bar("KO", 32)]),
                  pd.DataFrame([bar("AAPL", 31), bar("KO", 31), bar("AAPL", 32), bar("KO", 32)])])

    class Source:
        def load(self, symbols, start=None, end=None):
            return next(polls)

    caplog.set_level(logging.WARNING, logger="live.feed")
    feed = TigerBarFeed(Source(), ("AAPL", "KO"), poll_s=0.0, idle_polls=1,
                        sleep=lambda s: None)
    snaps = list(feed)
    assert [f"{s.timestamp:%H:%M}" for s in snaps] == ["09:31", "09:32"]
    assert np.isnan(snaps[0].close[1]) and snaps[1].close[1] == 1.0
    late = [r.getMessage() for r in caplog.records if r.getMessage().startswith("late bar")]
    assert len(late) == 1 and "KO at 2022-11-22 09:31" in late[0]


class _PacedKlines:
    """A session whose k-line requests each take ``seconds`` of a simulated clock, answering
    with each symbol's minutes as Tiger would at that instant: complete up to the last minute
    closed, then the one still forming (partial volume)."""

    def __init__(self, start: str, seconds: float):
        self.open = pd.Timestamp("2022-11-22 09:30", tz="America/New_York").timestamp()
        self.now = pd.Timestamp(f"2022-11-22 {start}", tz="America/New_York").timestamp()
        self.seconds = seconds
        self.quote = type("Quote", (), {"get_bars": None})()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def call(self, method, fn, symbols, **kw):
        self.now += self.seconds
        self.requests = getattr(self, "requests", 0) + 1
        started = min(int((self.now - self.open) // 60) + 1, 390)
        return pd.DataFrame([{
            "symbol": sym, "time": int((self.open + 60 * i) * 1000), "open": 100.0,
            "high": 100.5, "low": 99.5, "close": 100.2,
            "volume": 500.0 if self.open + 60 * (i + 1) <= self.now else 37.0}
            for sym in symbols for i in range(started)])


def _feed_thirty_minutes(n_symbols: int, **source_options) -> tuple[_PacedKlines, list[float]]:
    """Drive TigerBarFeed from 09:31:30 over ``n_symbols`` on a paced clock (2 s a request,
    5 s between polls) for 30 minutes; check each is yielded once, in order, with every
    symbol's complete bar. Returns the session and each minute's age when yielded (s)."""
    from live.feed import TigerBarFeed
    from live.tiger import TigerBarSource

    session = _PacedKlines("09:31:30", seconds=2.0)
    symbols = tuple(f"S{i:02d}" for i in range(n_symbols))
    feed = TigerBarFeed(TigerBarSource(session, "minute", **source_options), symbols,
                        poll_s=5.0, since=pd.Timestamp("2022-11-22"), sleep=session.sleep)
    seen, ages = [], []
    for snap in feed:
        seen.append(snap.timestamp.strftime("%H:%M"))
        ages.append(session.now - snap.timestamp.timestamp())
        assert np.isfinite(snap.close).all() and (snap.volume == 500.0).all(), seen[-1]
        if len(seen) == 30:
            break
    assert seen == [f"{9 + (31 + i) // 60:02d}:{(31 + i) % 60:02d}" for i in range(30)]
    return session, ages


def test_a_feed_whose_polls_straddle_minutes_yields_every_minute_whole():
    """Twelve symbols asked 2 s apart: a poll lasts 24 s and most polls straddle a minute's
    close. Every minute reaches the engine once, with every symbol's complete bar (cut at the
    poll's start: the symbols asked before the close would otherwise miss it), a poll and a
    half after its close at most."""
    _, ages = _feed_thirty_minutes(12)
    assert max(ages) <= 2 * 24 + 5 + 2 + 1e-6  # poll, wait, the poll after, the margin


def test_a_batched_feed_of_sixty_symbols_yields_whole_minutes_within_seconds():
    """Sixty symbols, 50 to a k-line request (Tiger takes a list): a poll is two requests, not
    sixty paced at one a second, so a whole minute reaches the engine seconds after its close
    instead of a minute or more (past the 120 s staleness limit, which halts trading)."""
    from live.tiger import TigerBarSource
    from live.tiger.bars import MAX_SYMBOLS_PER_REQUEST

    session, ages = _feed_thirty_minutes(60, symbols_per_request=MAX_SYMBOLS_PER_REQUEST)
    # after the first poll (which finds the minutes since the start): two polls of two
    # requests, a wait and the margin at most
    assert max(ages[1:]) <= 2 * (2 * 2.0) + 5 + 2 + 1e-6
    # two requests a poll, a poll every 9 s: well within Tiger's 60 k-line requests a minute
    minutes = (session.now - pd.Timestamp("2022-11-22 09:31:30", tz="America/New_York"
                                          ).timestamp()) / 60
    assert session.requests / minutes < 15
    with pytest.raises(ValueError, match="symbols_per_request must be 1...50"):
        TigerBarSource(session, "minute", symbols_per_request=51)


def test_a_symbol_cut_short_in_a_batched_answer_is_fetched_again_on_its_own(gateway,
                                                                           make_broker):
    """A page token is for one symbol only: a symbol whose batched answer was cut at the page
    size is fetched again alone, page by page, so the batch loads what one-by-one loads."""
    from live.tiger import TigerBarSource

    now = [pd.Timestamp("2022-11-22 09:45:00", tz="America/New_York").timestamp()]
    session = _session_at(gateway, make_broker, lambda: now[0])
    gateway.set_bars("JPM", "1min", _minutes(11))
    gateway.set_bars("XOM", "1min", _minutes(3))
    one_by_one = TigerBarSource(session, "minute", page_size=4).load(
        ["JPM", "XOM"], "2022-11-22", "2022-11-22")
    before = gateway.calls("kline")
    batched = TigerBarSource(session, "minute", page_size=4, symbols_per_request=2).load(
        ["JPM", "XOM"], "2022-11-22", "2022-11-22")
    pd.testing.assert_frame_equal(batched, one_by_one)
    assert len(batched) == 14
    assert gateway.calls("kline") - before == 1 + 3  # the batch, then JPM's three pages


def test_a_gateway_that_answers_one_symbol_of_a_list_still_gives_every_symbol_its_bars():
    """A k-line answer that leaves symbols out (a gateway that reads only the first of the
    list, or symbols without bars yet) is completed one request per missing symbol: no
    symbol silently goes without bars, and a symbol with none is simply absent."""
    from live.tiger import TigerBarSource

    class FirstOnly(_PacedKlines):
        def call(self, method, fn, symbols, **kw):
            answer = super().call(method, fn, symbols[:1], **kw)
            return answer.iloc[:0] if symbols[0] == "S02" else answer  # S02: no bars yet

    session = FirstOnly("09:40:30", seconds=0.5)
    bars = TigerBarSource(session, "minute", symbols_per_request=3).load(
        ["S00", "S01", "S02"], "2022-11-22", "2022-11-22")
    assert bars.groupby("symbol").size().to_dict() == {"S00": 10, "S01": 10}
    assert session.requests == 3  # the batch (S00 answered), then S01 and S02 alone
