"""A daily replay fits the run's cost model on the sessions before its first (the daily market's
modelled volume and the spread it charges): VWAP and IS run on daily bars — one child a
session, so the same fills as TWAP —, the cost-aware no-trade band runs, and a history older
than the fee schedule is predicted at the fees the broker charges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings

SYMBOLS = ["AAPL", "JPM", "XOM", "KO"]


def run(closes, algorithm="twap", start="2021-06-01", end="2021-08-31", **strategy):
    from sim.backtest import run_daily_backtest

    cfg = RunConfig(name="dcm", universe={"symbols": SYMBOLS},
                    strategy={"kind": "inverse_volatility", "rebalance": "monthly",
                              "lookback_days": 20, "capital": 5e6, **strategy},
                    execution={"algorithm": algorithm, "horizon_minutes": 390}, risk=LIMITS_OFF)
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
    assert "2021-05-28" in said and "3 bps" in said and "refreshed at each decision" in said


def test_vwap_and_is_run_on_daily_bars_and_fill_as_twap(closes):
    twap = run(closes, "twap")
    assert any(a.startswith("cost model: fitted on") for a in twap.meta["assumptions"])
    for algorithm in ("vwap", "is"):
        other = run(closes, algorithm)
        # a 390-minute horizon on a 390-minute bar is one child a session for every
        # schedule: the same shares at the same close
        assert len(other.trades) == len(twap.trades) > 0
        np.testing.assert_array_equal(other.trades["price"], twap.trades["price"])
        np.testing.assert_allclose(other.equity, twap.equity, rtol=1e-12)


@pytest.fixture(scope="module")
def band_pair(closes):
    """The same config with the cost-aware band and without it, six monthly windows."""
    return (run(closes, end="2021-11-30", no_trade_band="cost_aware",
                no_trade_benefit_bps=40.0), run(closes, end="2021-11-30"))


def test_cost_aware_band_runs_daily_and_never_trades_more(band_pair):
    band, off = band_pair
    skipped = sum(d["skipped_by_no_trade_band"] for d in band.decisions)
    assert skipped > 0
    assert band.account.traded_notional.sum() < off.account.traded_notional.sum()
    assert band.paid_costs.sum() < off.paid_costs.sum()


def test_what_cost_awareness_saved_is_paired_by_rebalance_window(band_pair):
    from sim.backtest_report import cost_awareness as ca

    band, off = band_pair
    on_w, off_w = ca.window_measures(band), ca.window_measures(off)
    assert len(on_w) == len(off_w) == 6 and on_w.index.equals(off_w.index)
    # the windows tile the run: their traded notional and paid costs are the run's
    # (the first window starts at the capital, the session before the first traded one)
    eq = band.equity.loc[on_w["start"]].to_numpy()
    assert float((on_w["turnover"] * eq).sum()) == pytest.approx(
        float(band.account.traded_notional.sum()), rel=1e-12)
    assert float((on_w["cost_bps"] * eq / 1e4).sum()) == pytest.approx(
        float(band.paid_costs.sum()), rel=1e-12)
    table = ca.cost_awareness_table(band, off, seed=1)
    for m in ca.MEASURES:
        diffs = on_w[m] - off_w[m]
        assert table.loc[m, "diff"] == pytest.approx(float(diffs.mean()))
        assert table.loc[m, "n_windows"] == 6
    assert table.loc["turnover", "diff"] < 0 and table.loc["cost_bps", "diff"] < 0
    r = table.loc["cost_bps"]
    assert r["ci_lo"] <= r["diff"] <= r["ci_hi"] and r["boot_lo"] <= r["diff"] <= r["boot_hi"]
    text = ca.cost_awareness_sentence(table, sum(d["skipped_by_no_trade_band"]
                                                 for d in band.decisions))
    assert "6 paired" in text and "skipped" in text


def test_a_history_before_the_fee_schedule_is_predicted_at_its_first_version(sp500_closes):
    early = run(sp500_closes.loc[:"2005-12-30", SYMBOLS], start="2005-06-01",
                end="2005-07-29", no_trade_band="cost_aware", no_trade_benefit_bps=40.0)
    assert len(early.trades) > 0
    assert any("before the fee schedule" in a for a in early.meta["assumptions"])


def test_the_optimised_example_config_runs_cost_aware_on_daily_closes():
    from pathlib import Path

    from research.config import load_run_config
    from sim.backtest_data import run_config_backtest

    path = Path(__file__).resolve().parents[2] / "configs" / "optimised.yaml"
    config = load_run_config(path)
    assert config.strategy.no_trade_band == "cost_aware"
    result = run_config_backtest(config, Settings(), bars="sp500_daily", start="2019-01-02",
                                 end="2019-04-30")
    assert len(result.decisions) == 4 and len(result.trades) > 0
    assert any(a.startswith("cost model: fitted on") for a in result.meta["assumptions"])


def test_a_long_daily_replay_keeps_the_cost_model_current(closes, monkeypatch):
    """Fitted on the sessions before 2021-01-04, a replay to the end of 2021 prices its last
    decision (2021-12-01) with the ADV of the 21 sessions before it (the market's constant
    dollar volume over their closes) and the volatility of the 63 returns before it — not with
    the fit's, which a replay of decades would otherwise carry to its end. The loop refreshes
    its own copy: the fitted model handed to it is left as it was."""
    from research.data.synth import DEFAULT_ADV_USD
    from research.trading.loop import TradingLoop
    from sim import backtest

    fitted, refreshed = {}, {}
    fit_once, refresh = backtest.daily_cost_model, TradingLoop._refresh_cost_model

    def keep_fit(*args, **kwargs):
        model, said = fit_once(*args, **kwargs)
        fitted["model"], fitted["adv"] = model, model.adv_.copy()
        return model, said

    def keep_refresh(loop, day):
        refresh(loop, day)
        refreshed[f"{day:%Y-%m-%d}"] = (loop.cost_model.adv_.copy(),
                                        loop.cost_model.daily_vol_.copy(),
                                        loop.cost_model.refreshed_through_)

    monkeypatch.setattr(backtest, "daily_cost_model", keep_fit)
    monkeypatch.setattr(TradingLoop, "_refresh_cost_model", keep_refresh)
    res = run(closes, start="2021-01-04", end="2021-12-31")
    last = res.decisions[-1]["session"]
    assert last == "2021-12-01"
    adv_now, vol_now, through = refreshed[last]
    before = closes.loc[closes.index < last]
    seen = res.closes.loc[res.closes.index < last]  # the closes the replay printed (in cents)
    for s in SYMBOLS:
        adv = np.floor(DEFAULT_ADV_USD[s] / before[s].iloc[-21:]).mean()
        vol = np.std(np.diff(np.log(seen[s].to_numpy()))[-63:], ddof=1)
        assert adv_now[s] == pytest.approx(adv, rel=1e-12)
        assert vol_now[s] == pytest.approx(vol, rel=1e-12)
        assert adv_now[s] != pytest.approx(fitted["adv"][s], rel=1e-3)
    assert f"{through:%Y-%m-%d}" == "2021-11-30"
    pd.testing.assert_series_equal(fitted["model"].adv_, fitted["adv"])  # the caller's: as fitted
    assert any("refreshed at each decision" in a for a in res.meta["assumptions"])
