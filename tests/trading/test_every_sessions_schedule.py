"""``strategy.rebalance_every_sessions``: every N exchange sessions counted from
``universe.start``, the same in the batch form (rebalance dates, the fast path's decisions)
and the streaming form the trading loop asks each session."""

from __future__ import annotations

import pandas as pd
import pytest

from research.config import RunConfig
from research.data.calendar import sessions
from research.strategies import InverseVolatility
from research.trading import (
    config_rebalance_dates,
    is_rebalance_session,
    target_weight_decisions,
)

SYMBOLS = ["AAPL", "JPM", "XOM"]


def config(every=5, start="2022-01-03", **strategy):
    return RunConfig(name="every", universe={"symbols": SYMBOLS, "start": start},
                     strategy={"kind": "inverse_volatility", "lookback_days": 20,
                               "rebalance_every_sessions": every, **strategy})


def test_sessions_are_counted_on_the_exchange_calendar_from_universe_start():
    days = sessions("2021-12-01", "2022-02-28").index
    got = config_rebalance_dates(config(5), days, end="2022-01-31")
    # session 0 is Jan 3; Jan 17 (Martin Luther King Day) is no session, so session 10 is the
    # Tuesday; before the anchor the count runs backwards over Christmas (Dec 24 was a holiday:
    # session -5 is Dec 27, -10 Dec 17)
    assert list(got.strftime("%m-%d")) == ["12-03", "12-10", "12-17", "12-27",
                                           "01-03", "01-10", "01-18", "01-25"]
    # a run's window does not move the schedule; it only cuts it
    later = config_rebalance_dates(config(5), days, start="2022-01-05", end="2022-01-31")
    assert list(later) == list(got[got >= pd.Timestamp("2022-01-05")])


def test_the_streaming_form_agrees_with_the_dates():
    days = sessions("2021-06-01", "2022-06-30").index
    cfg = config(21)
    expected = set(config_rebalance_dates(cfg, days))
    assert 10 <= len(expected) <= 14
    asked = {d for prev, d in zip(days[:-1], days[1:], strict=True)
             if is_rebalance_session(cfg.strategy.rebalance, d, prev,
                                     cfg.strategy.rebalance_every_sessions,
                                     cfg.universe.start)}
    assert asked == expected - {days[0]}


def test_it_needs_an_anchor():
    with pytest.raises(ValueError, match="rebalance_every_sessions counts sessions from "
                       "universe.start"):
        RunConfig(name="x", strategy={"rebalance_every_sessions": 21})
    with pytest.raises(ValueError, match="at least 1|greater than 0"):
        config(0)


def test_decisions_sit_on_the_close_before_each_rebalance_and_read_only_the_past(
        sp500_closes):
    from research.analytics import lookahead_dates

    closes = sp500_closes[SYMBOLS].loc["2021-09-01":"2022-06-30"]
    cfg = config(7)
    strategy = InverseVolatility(20)
    decided = target_weight_decisions(cfg, strategy, closes, "2022-01-03", "2022-05-31")
    days = config_rebalance_dates(cfg, closes.index, "2022-01-03", "2022-05-31")
    rows = decided.dropna(how="all")
    assert list(rows.index) == [closes.index[closes.index < d][-1] for d in days]
    pd.testing.assert_series_equal(
        rows.iloc[2], strategy.target_weights(closes, days[2]).rename(rows.index[2]),
        check_names=False)
    assert lookahead_dates(lambda c: target_weight_decisions(cfg, strategy, c, "2022-01-03",
                                                             "2022-05-31"),
                           closes, "2022-03-15") == []


def test_the_replay_loop_rebalances_on_the_same_sessions(sp500_closes):
    from research.config import Settings
    from sim.backtest import run_daily_backtest

    cfg = config(7).model_copy(update={"risk": RunConfig(name="x").risk.model_copy(
        update={"max_position_weight": 1.0, "max_sector_weight": 1.0})})
    closes = sp500_closes[SYMBOLS].loc[:"2022-03-31"]
    result = run_daily_backtest(cfg, Settings(), closes, start="2022-01-10", end="2022-03-31")
    decided = [d["session"] for d in result.decisions if d.get("kind") == "rebalance"]
    expected = config_rebalance_dates(cfg, closes.index, "2022-01-10", "2022-03-31")
    assert decided == list(expected.strftime("%Y-%m-%d"))
    assert decided[0] == "2022-01-12"  # session 7 from Jan 3, not the run's first session
