"""Attribution of a daily replay's own result (sim/backtest_attribution.py): by position it adds
up to the equity's change, by sector each window's effects add up to the equity's return over
the equal-weighted universe's, by factor the contributions add up to the returns' sum; and the
JSON carries the block."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings

SYMBOLS = ["AAPL", "JPM", "XOM", "KO", "JNJ"]


def replay(closes, start, end):
    from sim.backtest import run_daily_backtest

    cfg = RunConfig(name="attr", universe={"symbols": SYMBOLS},
                    strategy={"kind": "inverse_volatility", "rebalance": "monthly",
                              "lookback_days": 20, "capital": 5e6},
                    execution={"algorithm": "twap", "horizon_minutes": 390}, risk=LIMITS_OFF)
    return run_daily_backtest(cfg, Settings(), closes, start=start, end=end)


@pytest.fixture(scope="module")
def result(sp500_closes):
    return replay(sp500_closes.loc[:"2021-12-31", SYMBOLS], "2021-03-01", "2021-09-30")


@pytest.fixture(scope="module")
def attribution(result):
    return result.attribution()


def test_positions_add_up_to_the_equity_change_and_split_holding_trading_fees(result,
                                                                              attribution):
    pos = attribution.positions
    change = float(result.equity.iloc[-1] - result.equity.iloc[0])
    assert pos["pnl"].sum() == pytest.approx(change, abs=1e-6)
    np.testing.assert_allclose(pos["pnl"], pos["holding"] + pos["trading"] - pos["fees"],
                               atol=1e-9)
    # the fees are the broker's, fill by fill; the trading P&L is each fill against its close
    assert pos["fees"].sum() == pytest.approx(result.trades["fees"].sum(), rel=1e-12)
    day = pd.DatetimeIndex(result.trades["time"]).tz_convert("America/New_York")
    close = [result.closes.loc[d.tz_localize(None).normalize(), s]
             for d, s in zip(day, result.trades["symbol"], strict=True)]
    sign = np.where(result.trades["side"] == "buy", 1.0, -1.0)
    trading = sign * result.trades["quantity"] * (np.array(close) - result.trades["price"])
    assert pos["trading"].sum() == pytest.approx(float(trading.sum()), abs=1e-6)
    assert set(pos.index) == set(SYMBOLS) and (pos["fills"] > 0).all()


def test_sector_windows_add_up_to_the_active_return_exactly(result, attribution):
    w = attribution.sector_windows
    # one window per monthly rebalance, Mar..Sep, back to back
    assert len(w) == 7 and (w["start"].iloc[1:].to_numpy() == w["end"].iloc[:-1].to_numpy()).all()
    effects = w[["allocation", "selection", "interaction", "trading"]].sum(axis=1)
    np.testing.assert_allclose(effects, w["active"], atol=1e-12)
    eq = result.equity
    actual = eq.loc[w["end"]].to_numpy() / eq.loc[w["start"]].to_numpy() - 1.0
    np.testing.assert_allclose(w["portfolio_return"], actual, rtol=1e-12)
    # the benchmark: the five names equal-weighted, held over each window
    c = result.closes
    bench = (c.loc[w["end"]].to_numpy() / c.loc[w["start"]].to_numpy() - 1.0).mean(axis=1)
    np.testing.assert_allclose(w["benchmark_return"], bench, rtol=1e-12)
    # the first window starts in cash: nothing held, all of its return is the trading term
    assert w["held_return"].iloc[0] == 0.0
    assert attribution.sectors[["allocation", "selection", "interaction"]].to_numpy().sum() \
        == pytest.approx(float(w[["allocation", "selection", "interaction"]].to_numpy().sum()))


def test_factor_contributions_add_up_and_a_run_before_2014_has_none(result, attribution,
                                                                   sp500_closes):
    f = attribution.factors
    assert f["available"] and f["sessions"] == len(result.equity) - 1
    assert sum(f["contributions"].values()) == pytest.approx(f["sum_of_returns"], abs=1e-12)
    assert set(f["betas"]) == {"MTUM", "QUAL", "SIZE", "USMV", "VLUE"}
    early = replay(sp500_closes.loc[:"2005-12-30", SYMBOLS], "2005-06-01", "2005-08-31")
    none = early.attribution().factors
    assert not none["available"] and "0 session(s) in common" in none["reason"]


def test_the_json_carries_the_attribution_block(result):
    block = json.loads(json.dumps(result.to_json()))["attribution"]
    assert set(block) == {"by_position", "by_sector", "by_factor"}
    assert "equal-weighted universe" in block["by_sector"]["benchmark"]
    assert sum(s["pnl"] for s in block["by_position"]["symbols"].values()) == pytest.approx(
        block["by_position"]["equity_change"], abs=1e-6)
    assert block["by_sector"]["totals"]["active"] == pytest.approx(
        sum(w["active"] for w in block["by_sector"]["windows"]))
