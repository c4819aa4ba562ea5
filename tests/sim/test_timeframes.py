"""Multi-timeframe validation (sim/timeframes.py): one config on seeded synthetic minute bars of
three names, replayed by the minute and aggregated to daily over the same three weeks; the
tables say where fills, costs and P&L differ, and they add up."""

from __future__ import annotations

import numpy as np
import pytest

from research.config import RunConfig, Settings

SYMBOLS = ["AAPL", "JPM", "KO"]


@pytest.fixture(scope="module")
def comparison(sp500_closes, tmp_path_factory):
    from research.data import BarStore, SynthParams, synthesize_minute_bars
    from sim.timeframes import run_timeframes

    store = tmp_path_factory.mktemp("store")
    bars = synthesize_minute_bars(sp500_closes[SYMBOLS], "2022-01-18", "2022-03-18",
                                  SynthParams(seed=3))
    BarStore(store).write("tf_minute", bars, source="test", synthetic=True)
    base = Settings()
    settings = base.model_copy(update={"data": base.data.model_copy(
        update={"store_path": store})})
    cfg = RunConfig(name="tf", universe={"dataset": "tf_minute", "symbols": SYMBOLS},
                    strategy={"kind": "inverse_volatility", "rebalance": "weekly",
                              "lookback_days": 20, "capital": 2e6},
                    execution={"algorithm": "twap", "horizon_minutes": 30},
                    risk={"max_position_weight": 1.0, "max_sector_weight": 1.0,
                          "var_budget": 1.0, "max_pairwise_correlation": 1.0,
                          "daily_loss_limit": 1.0})
    return run_timeframes(cfg, settings, start="2022-03-01", end="2022-03-18")


def test_both_runs_trade_the_same_sessions_and_the_pnl_differences_add_up(comparison):
    minute, daily = comparison.results["minute"], comparison.results["daily"]
    assert minute.meta["frequency"] == "minute" and daily.meta["frequency"] == "daily"
    assert minute.equity.index.equals(daily.equity.index) and len(minute.equity) == 15
    s = comparison.summary
    change = s.loc["final_equity", "daily_minus_minute"]
    assert change == pytest.approx(float(daily.equity.iloc[-1] - minute.equity.iloc[-1]))
    # the symbols' P&L differences are the equity's difference (both start from the capital)
    assert comparison.symbols[("diff", "pnl")].sum() == pytest.approx(change, abs=1e-6)
    c = comparison.costs
    np.testing.assert_allclose(c["diff_usd"], c["daily_usd"] - c["minute_usd"])


def test_fills_differ_as_the_two_markets_say(comparison):
    from sim.timeframes import fill_measures

    s = comparison.summary
    minute = fill_measures(comparison.results["minute"])
    daily = fill_measures(comparison.results["daily"])
    # a 30-minute TWAP is 30 one-minute children; a daily child is the session's
    assert s.loc["fills", "minute"] > 5 * s.loc["fills", "daily"] > 0
    # a daily fill on the session bar is the close plus a cost (half spread + impact): a few bps
    at_close = daily[~daily["open_auction"]]
    assert ((at_close["vs_close_bps"] > 0) & (at_close["vs_close_bps"] < 10)).all()
    # one half spread a session on daily bars: 1.5 bps of the mid (a little less of the price
    # paid, which carries the impact too)
    assert comparison.costs.loc["spread", "daily_bps"] == pytest.approx(
        Settings().data.synth_spread_bps / 2, rel=1e-3)
    # a minute child takes a larger share of its (one-minute) bar than a daily one of its day
    assert minute["participation"].median() > at_close["participation"].median()
    assert not minute["open_auction"].any()
    assert any("opening auction" in r for r in comparison.reasons)
