"""A trading process restarted in the middle of a session: the broker's NAV it reads then holds
the session's move and fills already. The loop must mark its book at the broker's NAV (not
count the day's move a second time from the previous closes) and measure the day's loss
against the session's opening NAV, as the process that was running since the open did."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings

SYMBOLS = ["AAPL", "JPM", "RRC"]
DAY1, DAY2 = pd.Timestamp("2022-11-14"), pd.Timestamp("2022-11-15")
BARS_A_DAY = 390  # 09:31 to 16:00
STOP_AT = BARS_A_DAY + 90  # the first process stops at 11:00 on the second day


@pytest.fixture(scope="module")
def bars(sp500_closes):
    from research.data import SynthParams, synthesize_minute_bars

    return synthesize_minute_bars(sp500_closes[SYMBOLS], DAY1, DAY2, SynthParams(seed=3))


def config() -> RunConfig:
    return RunConfig(name="restart", universe={"symbols": SYMBOLS},
                     strategy={"kind": "equal_weight", "rebalance": "daily", "capital": 1e6},
                     execution={"algorithm": "twap", "horizon_minutes": 20}, risk=LIMITS_OFF)


def test_a_loop_restarted_mid_session_marks_the_brokers_nav_and_the_sessions_opening_loss(
        bars, sp500_closes, tmp_path):
    """The first process trades day 1 and day 2's rebalance (its fills are in the journal),
    then stops at 11:00 on day 2, the market having moved since the open. A new process on
    the same journal and account, prepared at 11:01 as `qlab live` does, sees one bar: its
    marked NAV is the broker's equity, and the day's loss is measured against day 2's opening
    NAV — what the first process measured it against — not against the NAV at 11:01."""
    from research.trading import TradingLoop
    from sim import SimulatedBroker
    from sim.replay import BarReplay
    from sim.runner import run_trading_loop

    broker = SimulatedBroker(BarReplay.from_frame(bars, tuple(SYMBOLS)), Settings().simulation,
                             initial_cash=1e6)
    now = {"t": DAY1.tz_localize("America/New_York") + timedelta(hours=9)}  # the wall clock

    def process(closes: pd.DataFrame) -> TradingLoop:
        loop = TradingLoop(config(), Settings(), broker, closes, run_id="restart",
                           journal_path=tmp_path / "restart.sqlite", clock=lambda: now["t"])
        on_bar = loop.on_bar

        def in_real_time(snap):  # each bar reaches the loop as it closes
            now["t"] = snap.timestamp
            on_bar(snap)

        loop.on_bar = in_real_time
        loop.start()
        return loop

    first = process(sp500_closes[SYMBOLS].loc[:DAY1 - timedelta(days=1)])
    first.prepare_session(DAY1)  # before the open
    run_trading_loop(first, broker, stop=STOP_AT)
    day2_fills = [c for c in first.engine.children.values()
                  if c.parent_id.startswith("restart-20221115-") and c.filled_quantity]
    assert day2_fills  # the rebalance traded before the stop
    opening_nav = first.risk.day_start_nav  # its mark at day 1's last bar
    assert first.risk.nav == pytest.approx(broker.account().equity, rel=1e-9)
    moved = abs(first.risk.nav / opening_nav - 1.0)
    assert moved > 1e-3  # a day that moved: counted twice, it would show
    first.shutdown()

    now["t"] = broker.snapshot(STOP_AT - 1).timestamp + timedelta(seconds=30)
    second = process(first.closes)  # the daily closes up to day 1, as a new process loads
    second.prepare_session(DAY2)  # after the open, with the session's fills at the broker
    assert run_trading_loop(second, broker, stop=STOP_AT + 1) == 1
    assert second.risk.nav == pytest.approx(broker.account().equity, rel=1e-9)
    assert second.risk.day_start_nav == pytest.approx(opening_nav, rel=1e-9)
    status = {str(s.kind): s for s in second.risk.limit_statuses()}
    assert status["daily_loss"].measured == pytest.approx(
        1.0 - broker.account().equity / opening_nav, abs=1e-9)
    marks = []  # and from there on, bar by bar, the broker's NAV
    second.on_bar_done = lambda snap: marks.append((second.risk.nav, broker.account().equity))
    run_trading_loop(second, broker, stop=STOP_AT + 30)
    assert len(marks) == 29 and all(m == pytest.approx(e, rel=1e-9) for m, e in marks)
    assert second.risk.day_start_nav == pytest.approx(opening_nav, rel=1e-9)
