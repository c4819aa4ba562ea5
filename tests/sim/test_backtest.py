"""The portfolio backtest over the trading loop's replay: accounting that agrees with the
simulated broker, costs that add up to the parents' shortfall, no look-ahead, the risk
limits' trims recorded, and the same inputs giving the same JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings
from research.data import SynthParams, synthesize_minute_bars

SYMBOLS = ["AAPL", "JPM", "XOM"]
START = pd.Timestamp("2022-03-07")


def config(**risk):
    limits = {**LIMITS_OFF, **risk}
    return RunConfig(name="bt", universe={"symbols": SYMBOLS},
                     strategy={"kind": "inverse_volatility", "rebalance": "daily",
                               "lookback_days": 20, "capital": 3e6},
                     execution={"algorithm": "twap", "horizon_minutes": 30}, risk=limits)


@pytest.fixture(scope="module")
def market(sp500_closes):
    from research.costs import CostModel

    bars = synthesize_minute_bars(sp500_closes[SYMBOLS], "2022-02-22", "2022-03-11",
                                  SynthParams(seed=4))
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    model = CostModel.from_settings(Settings().costs).fit(bars[day < START])
    closes = sp500_closes[SYMBOLS].loc[sp500_closes.index < START]
    return bars[day >= START].reset_index(drop=True), closes, model


def backtest(market, cfg=None, bars=None):
    from research.data import load_sp500_index
    from sim.backtest import run_backtest

    minute, closes, model = market
    return run_backtest(cfg or config(), Settings(), minute if bars is None else bars,
                        daily_closes=closes, cost_model=model, benchmark=load_sp500_index())


@pytest.fixture(scope="module")
def result(market):
    return backtest(market)


def test_equity_starts_at_the_capital_and_the_json_has_the_documented_fields(result):
    from sim.backtest import SCHEMA

    eq = result.equity
    assert eq.iloc[0] == 3e6 and eq.index[0] < START
    assert list(eq.index[1:]) == list(pd.bdate_range(START, "2022-03-11"))
    out = result.to_json()
    assert out["schema"] == SCHEMA
    assert set(out["metrics"]) >= {"cagr", "volatility", "sharpe", "sortino", "max_drawdown",
                                   "calmar", "turnover_annual", "cost_drag_bps_annual", "alpha",
                                   "beta", "tracking_error", "information_ratio"}
    assert len(out["trades"]) == len(result.trades) > 0


def test_accounts_match_the_broker_and_costs_add_up_to_the_shortfall(market, result):
    from research.execution import execution_quality
    from sim.driver import ReplayDriver

    minute, closes, model = market
    driver = ReplayDriver(config(), Settings(), minute, daily_closes=closes,
                          cost_model=model, run_id="backtest-bt")
    loop = driver.run()
    # the accounting from fills ends where the simulated broker's own books do
    account = driver.broker.account()
    assert result.account.cash.iloc[-1] == pytest.approx(account.cash, rel=1e-12)
    assert result.equity.iloc[-1] == pytest.approx(account.equity, rel=1e-12)
    qualities = execution_quality(loop.engine)
    shortfall = sum(q.shortfall_dollars for q in qualities)
    c = result.costs_dollars
    assert c["total"] == pytest.approx(shortfall, rel=1e-9)
    # the execution part: every fill against its parent's start mid, signed
    start = {q.parent_id: q.start_price for q in qualities}
    execution = sum((1 if t.side == "buy" else -1) * t.quantity * (t.price - start[t.parent_id])
                    for t in result.trades.itertuples())
    assert c["spread"] + c["impact"] + c["timing"] == pytest.approx(execution, rel=1e-9)
    assert c["fees"] == pytest.approx(result.trades["fees"].sum(), rel=1e-12)
    assert c["fees"] > 0 and c["spread"] > 0
    bps = result.costs_bps()
    assert bps["total"] == pytest.approx(c["total"] / result.traded_notional * 1e4)


def test_no_look_ahead_later_bars_change_nothing_before_them(market, result):
    """Every bar after the second session is rewritten: decisions, orders and fills up to
    the end of that session stay exactly as they were."""
    minute, _, _ = market
    stamps = minute["timestamp"].dt.tz_convert("America/New_York")
    cut = stamps.dt.normalize().dt.tz_localize(None) > pd.Timestamp("2022-03-08")
    changed = minute.copy()
    for col in ("open", "high", "low", "close", "bid", "ask"):
        changed.loc[cut, col] = changed.loc[cut, col] * 1.07
    changed.loc[cut, "volume"] *= 3
    other = backtest(market, bars=changed)
    end = pd.Timestamp("2022-03-08 23:59", tz="America/New_York")
    before = result.trades[result.trades["time"] <= end].reset_index(drop=True)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before,
                                  other.trades[other.trades["time"] <= end].reset_index(drop=True))
    assert result.decisions[:2] == other.decisions[:2]
    assert result.decisions[2:] != other.decisions[2:]  # the rewrite did reach the later ones


def test_the_risk_limits_trims_and_rejects_are_recorded(market):
    tight = backtest(market, cfg=config(max_position_weight=0.05, max_sector_weight=0.3))
    events = tight.risk_events
    assert len(events) > 0 and set(events["decision"]) <= {"trimmed", "rejected"}
    assert (events["allowed"] < events["requested"]).all()
    assert events["limits"].str.contains("position_weight").all()
    assert set(events["symbol"]) == set(SYMBOLS)
    assert tight.to_json()["risk_events"][0]["time"].startswith("2022-03-07")


def test_same_inputs_same_json(market, result):
    again = backtest(market)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(result.to_json(),
                                                                    sort_keys=True)
    assert np.isfinite(result.metrics.sharpe)
