from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from research.execution import MarketBreakers, MarketSnapshot, SystemBreaker, TradingState

NY = ZoneInfo("America/New_York")
T0 = datetime(2024, 3, 4, 10, 0, tzinfo=NY)


def snap(i, close, volume=1000.0, spread=0.02, when=None):
    c = np.array([close, 100.0])
    sp = np.array([spread, 0.02])
    return MarketSnapshot(i, when or T0 + timedelta(minutes=i), ("AAA", "BBB"), c, c, c, c,
                          np.array([volume, 1000.0]), c - sp / 2, c + sp / 2)


def breakers(cooldown=120.0):
    return MarketBreakers(("AAA", "BBB"), price_move_pct=0.05, window_minutes=5,
                          spread_multiple=5.0, day_band_pct=0.10, max_staleness_s=300,
                          cooldown_s=cooldown)


def warm(b, n=6, close=100.0):
    for i in range(n):
        assert b.update(snap(i, close), snap(i, close).timestamp) == []


@pytest.mark.parametrize(("bad", "phrase"), [
    ({"close": 106.0}, "price moved"),
    ({"close": 100.0, "spread": 0.5}, "spread"),
    ({"close": 100.0, "volume": 0.0}, "halt"),
])
def test_market_breaker_trips_and_recovers_after_cooldown(bad, phrase):
    b = breakers()
    warm(b)
    s = snap(6, **bad)
    ev = b.update(s, s.timestamp)
    assert [(e.symbol, e.new_state) for e in ev] == [("AAA", "paused")]
    assert phrase in ev[0].reason
    assert b.paused.tolist() == [True, False]
    # condition cleared but cool-down (120 s) not yet elapsed: still paused
    i = 7
    ok = snap(i, bad.get("close", 100.0) if phrase == "price moved" else 100.0)
    b.update(ok, ok.timestamp)
    assert b.paused[0]
    later = snap(i + 1, 106.0 if phrase == "price moved" else 100.0,
                 when=ok.timestamp + timedelta(minutes=10))
    ev = b.update(later, later.timestamp)
    assert [(e.symbol, e.new_state) for e in ev] == [("AAA", "active")]
    assert not b.paused.any()


def test_day_band_uses_previous_session_close_and_manual_recovery():
    b = breakers(cooldown=0.0)  # manual only
    s = snap(0, 100.0)
    b.update(s, s.timestamp)
    nxt = T0 + timedelta(days=1)
    s = snap(1, 111.0, when=nxt)
    ev = b.update(s, s.timestamp)
    assert ev and "previous close" in ev[0].reason
    s = snap(2, 111.0, when=nxt + timedelta(minutes=30))
    assert b.update(s, s.timestamp) == [] and b.paused[0]  # no automatic recovery
    assert b.resume("AAA", s.timestamp).new_state == "active"
    assert not b.paused[0]


def test_stale_symbol_data_trips():
    b = breakers()
    warm(b, 2)
    s = snap(2, 100.0)
    ev = b.update(s, s.timestamp + timedelta(minutes=10))
    assert {e.symbol for e in ev} == {"AAA", "BBB"} and "older" in ev[0].reason


def system(cooldown=60.0):
    return SystemBreaker(max_error_rate=0.2, max_consecutive_rejects=3, max_latency_ms=500,
                         max_staleness_s=120, cooldown_s=cooldown, min_calls_for_rate=10)


def test_error_rate_moves_to_reducing_then_recovers_after_cooldown():
    sb = system()
    for i in range(10):
        sb.record_call(i >= 3, 5.0, T0)  # 3 errors in 10 = 30% > 20%
    assert sb.state is TradingState.REDUCING and "error rate" in sb.reason
    assert sb.maybe_recover(T0, T0 + timedelta(seconds=30)) is None
    ev = sb.maybe_recover(T0 + timedelta(seconds=61), T0 + timedelta(seconds=61))
    assert ev.new_state == "active" and sb.state is TradingState.ACTIVE


def test_latency_consecutive_rejects_and_staleness():
    sb = system()
    sb.record_call(True, 900.0, T0)
    assert sb.state is TradingState.REDUCING and "latency" in sb.reason
    sb.reset(T0)
    sb.record_reject(T0)
    sb.record_reject(T0)
    sb.record_accept()  # an accept breaks the streak
    sb.record_reject(T0)
    sb.record_reject(T0)
    assert sb.state is TradingState.ACTIVE
    sb.record_reject(T0)
    assert sb.state is TradingState.HALTED and "consecutive" in sb.reason
    sb2 = system(cooldown=0.0)
    sb2.check_staleness(T0, T0 + timedelta(seconds=121))
    assert sb2.state is TradingState.HALTED
    assert sb2.maybe_recover(T0 + timedelta(hours=1), T0 + timedelta(hours=1)) is None  # manual
    assert sb2.reset(T0, "operator").new_state == "active"
    assert [e.new_state for e in sb.events] == ["reducing", "active", "halted"]


def test_a_halt_over_a_manual_halt_stays_manual():
    """The daily-loss 'halt' is manual (lifted only by the next session's reset); a kill
    switch halting again must not turn it into a halt the cool-down lifts."""
    sb = system(cooldown=60.0)
    sb.force(TradingState.HALTED, T0, "daily loss 4% > 3%", manual=True)
    sb.force(TradingState.HALTED, T0, "kill switch: kill file")
    later = T0 + timedelta(seconds=600)
    assert sb.maybe_recover(later, later) is None and sb.state is TradingState.HALTED
    auto = system(cooldown=60.0)
    auto.force(TradingState.HALTED, T0, "kill switch")
    assert auto.maybe_recover(later, later).new_state == "active"
