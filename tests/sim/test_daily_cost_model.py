"""A daily replay fits the run's cost model on the sessions before its first (the daily market's
modelled volume and the spread it charges): VWAP and IS run on daily bars — one child a
session, so the same fills as TWAP —, the cost-aware no-trade band runs, and a history older
than the fee schedule is predicted at the fees the broker charges."""

from __future__ import annotations

import numpy as np
import pytest

from research.config import RunConfig, Settings

SYMBOLS = ["AAPL", "JPM", "XOM", "KO"]
WIDE = {"max_position_weight": 1.0, "max_sector_weight": 1.0, "var_budget": 1.0,
        "max_pairwise_correlation": 1.0, "daily_loss_limit": 1.0,
        "max_gross_exposure": 2.0, "max_net_exposure": 2.0}


def run(closes, algorithm="twap", start="2021-06-01", end="2021-08-31", **strategy):
    from sim.backtest import run_daily_backtest

    cfg = RunConfig(name="dcm", universe={"symbols": SYMBOLS},
                    strategy={"kind": "inverse_volatility", "rebalance": "monthly",
                              "lookback_days": 20, "capital": 5e6, **strategy},
                    execution={"algorithm": algorithm, "horizon_minutes": 390}, risk=WIDE)
    return run_daily_backtest(cfg, Settings(), closes, start=start, end=end)


@pytest.fixture(scope="module")
def closes(sp500_closes):
    return sp500_closes.loc[:"2021-12-31", SYMBOLS]


def test_the_cost_model_is_fitted_on_the_modelled_history_before_the_first_session(closes):
    from sim.backtest import daily_cost_model
    from sim.daily_market import build_daily_market

    s = Settings()
    market = build_daily_market(closes, start="2021-06-01", end="2021-06-30",
                                fallback_half_spread_bps=1.5)
    cfg = RunConfig(name="dcm", universe={"symbols": SYMBOLS})
    model, said = daily_cost_model(cfg, s, market)
    assert model.fitted_through_.date().isoformat() == "2021-05-28"  # the session before
    # the market's constant dollar volume over the close, and its 3 bps spread
    from research.data.synth import DEFAULT_ADV_USD

    last = closes.loc[:"2021-05-28"].iloc[-21:]
    adv = np.floor(DEFAULT_ADV_USD["AAPL"] / last["AAPL"]).mean()
    assert model.adv_["AAPL"] == pytest.approx(adv, rel=1e-12)
    assert model.spread_bps_.to_numpy() == pytest.approx(3.0, rel=1e-9)
    assert "2021-05-28" in said and "3 bps" in said and "not refitted" in said


def test_vwap_and_is_run_on_daily_bars_and_fill_as_twap(closes):
    twap = run(closes, "twap")
    assert any(a.startswith("cost model: fitted once") for a in twap.meta["assumptions"])
    for algorithm in ("vwap", "is"):
        other = run(closes, algorithm)
        # a 390-minute horizon on a 390-minute bar is one child a session for every
        # schedule: the same shares at the same close
        assert len(other.trades) == len(twap.trades) > 0
        np.testing.assert_array_equal(other.trades["price"], twap.trades["price"])
        np.testing.assert_allclose(other.equity, twap.equity, rtol=1e-12)


def test_cost_aware_band_runs_daily_and_never_trades_more(closes):
    off = run(closes)
    band = run(closes, no_trade_band="cost_aware", no_trade_benefit_bps=40.0)
    skipped = sum(d["skipped_by_no_trade_band"] for d in band.decisions)
    assert skipped > 0
    assert band.account.traded_notional.sum() < off.account.traded_notional.sum()


def test_a_history_before_the_fee_schedule_is_predicted_at_its_first_version(sp500_closes):
    early = run(sp500_closes.loc[:"2005-12-30", SYMBOLS], start="2005-06-01",
                end="2005-07-29", no_trade_band="cost_aware", no_trade_benefit_bps=40.0)
    assert len(early.trades) > 0
    assert any("before the fee schedule" in a for a in early.meta["assumptions"])
