"""``--engine vectorbt``: a run config on the fast path, reported in the replay's schema. Its
equity is the replay's accounting of vectorbt's orders and agrees with vectorbt's own value;
its decisions are the config's schedule; what it does not model is null or empty, and said."""

from __future__ import annotations

import json

import numpy as np
import pytest

from research.analytics import FlatCosts, backtest_target_weights
from research.config import RunConfig, Settings
from research.strategies import portfolio_strategy
from research.trading import config_rebalance_dates, target_weight_decisions

SYMBOLS = ["AAPL", "JPM", "KO", "XOM"]
START, END = "2021-01-04", "2021-12-31"


@pytest.fixture(scope="module")
def cfg():
    return RunConfig(name="fast", universe={"symbols": SYMBOLS, "start": START, "end": END},
                     strategy={"kind": "inverse_volatility", "rebalance": "monthly",
                               "capital": 1e6})


@pytest.fixture(scope="module")
def result(cfg, sp500_closes):
    from research.data import load_sp500_index
    from sim.backtest_vectorbt import run_vectorbt_backtest

    return run_vectorbt_backtest(cfg, Settings(), sp500_closes[SYMBOLS], start=START, end=END,
                                 costs=FlatCosts(slippage_bps=4.0, fee_bps=6.0),
                                 benchmark=load_sp500_index())


def test_equity_is_vectorbts_own_value(result, cfg, sp500_closes):
    closes = sp500_closes[SYMBOLS].loc["2020-12-31":END]
    decided = target_weight_decisions(cfg, portfolio_strategy(cfg), sp500_closes[SYMBOLS],
                                      START, END).loc[closes.index]
    theirs = backtest_target_weights(closes, {"x": decided}, FlatCosts(4.0, 6.0), 1e6)
    np.testing.assert_allclose(result.equity.to_numpy(), theirs.equity["x"].to_numpy(),
                               rtol=1e-9, atol=0)
    assert result.equity.index[0].strftime("%Y-%m-%d") == "2020-12-31"
    assert result.equity.iloc[0] == 1e6 and result.equity.iloc[-1] != 1e6


def test_costs_are_the_flat_rates_and_the_rest_is_null(result):
    t = result.trades
    notional = (t["quantity"] * t["price"]).sum()
    assert result.costs_dollars["fees"] == pytest.approx(6e-4 * notional, rel=1e-12)
    # slippage: 4 bps of the close, inside the fill price
    assert result.costs_bps()["slippage"] == pytest.approx(4.0, rel=1e-3)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    for missing in ("delay", "spread", "impact", "timing", "opportunity"):
        assert data["costs"]["dollars"][missing] is None
    assert data["risk_events"] == [] and data["meta"]["engine"] == "vectorbt"
    assert data["meta"]["not_modelled"] and data["trades"][0]["parent_id"] is None
    assert data["schema"] == "qlab.backtest/1" and data["metrics"]["beta"] is not None


def test_decisions_follow_the_configs_schedule(result, cfg, sp500_closes):
    sessions = [d["session"] for d in result.decisions]
    expected = config_rebalance_dates(cfg, sp500_closes.index, START, END)
    assert sessions == list(expected.strftime("%Y-%m-%d"))
    traded_days = sorted({f"{t:%Y-%m-%d}" for t in result.trades["time"]})
    assert traded_days == sessions  # traded at the rebalance session's close, nowhere else
