"""The backtest report's pure functions against hand computations: monthly returns, drawdown,
rolling statistics, turnover and cost drag, weights, sectors, P&L by symbol (which must add up
to the equity's change booked by the real accounting), rebalance windows, paired intervals and
the verdict's judgement."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from research.analytics import account_fills
from sim.backtest_report import algorithms as alg
from sim.backtest_report import tables as tab
from sim.backtest_report.verdict import algorithm_sentences, verdict_markdown


def dated(values, dates):
    return pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float)


def test_monthly_returns_match_a_hand_computation():
    # base 2021-12-31 (the capital), then Jan and Feb 2022 and one day of Jan 2023
    eq = dated([100, 110, 121, 108.9, 130.68, 143.748],
               ["2021-12-31", "2022-01-03", "2022-01-31", "2022-02-01", "2022-02-28",
                "2023-01-03"])
    table = tab.monthly_returns(eq)
    assert list(table.index) == [2022, 2023]  # the base opens no month of its own
    assert table.loc[2022, "Jan"] == pytest.approx(121 / 100 - 1)
    assert table.loc[2022, "Feb"] == pytest.approx(130.68 / 121 - 1)
    assert np.isnan(table.loc[2022, "Mar"])
    assert table.loc[2022, "Year"] == pytest.approx(130.68 / 100 - 1)
    assert table.loc[2023, "Jan"] == pytest.approx(143.748 / 130.68 - 1)
    assert table.loc[2023, "Year"] == pytest.approx(0.1)


def test_drawdown_and_benchmark_rebasing():
    eq = dated([100, 120, 90, 130], ["2022-01-03", "2022-01-04", "2022-01-05", "2022-01-06"])
    assert tab.drawdown(eq).tolist() == pytest.approx([0, 0, -0.25, 0])
    bench = dated([10, 11, 12, 13, 14],
                  ["2022-01-02", "2022-01-03", "2022-01-04", "2022-01-05", "2022-01-06"])
    assert tab.benchmark_curve(eq, bench).tolist() == pytest.approx([100, 1200 / 11,
                                                                     1300 / 11, 1400 / 11])
    with pytest.raises(tab.ReportInputError, match="no level on 1 session.*2022-01-05"):
        tab.benchmark_curve(eq, bench.drop(pd.Timestamp("2022-01-05")))


def test_rolling_sharpe_and_volatility_by_hand():
    eq = dated([100, 101, 99.99, 102.9897], pd.bdate_range("2022-01-03", periods=4))
    r = np.array([0.01, -0.01, 0.03])  # the three daily returns, by construction
    out = tab.rolling_sharpe_volatility(eq, window=2)
    assert np.isnan(out["sharpe"].iloc[0])
    last = r[1:]
    assert out["volatility"].iloc[-1] == pytest.approx(last.std(ddof=1) * math.sqrt(252))
    assert out["sharpe"].iloc[-1] == pytest.approx(last.mean() / last.std(ddof=1)
                                                   * math.sqrt(252))


def test_turnover_and_cost_drag_per_period():
    days = pd.DatetimeIndex(["2021-12-31", "2022-01-03", "2022-01-04", "2022-02-01"])
    eq = pd.Series([100.0, 100.0, 200.0, 300.0], index=days)
    traded = pd.Series([0, 50.0, 100.0, 30.0], index=days)
    costs = pd.Series([0, 0.05, 0.1, 0.03], index=days)
    out = tab.turnover_and_cost_drag(eq, traded, costs, freq="M")
    jan = out.loc["2022-01-01"]
    assert jan["traded"] == 150 and jan["mean_equity"] == 150 and jan["sessions"] == 2
    assert jan["turnover"] == pytest.approx(1.0)
    assert jan["cost_drag_bps"] == pytest.approx(0.15 / 150 * 1e4)
    assert out.loc["2022-02-01", "turnover"] == pytest.approx(0.1)
    with pytest.raises(tab.ReportInputError, match="freq"):
        tab.turnover_and_cost_drag(eq, traded, costs, freq="W")


def test_cost_decomposition_in_dollars_and_bps():
    out = tab.cost_decomposition({"spread": 10.0, "impact": 30.0, "fees": 5.0, "total": 45.0},
                                 traded_notional=100_000.0)
    assert list(out.index) == ["spread", "impact", "fees", "total"]
    assert out.loc["impact", "bps_of_traded"] == pytest.approx(3.0)
    assert out.loc["total", "dollars"] == 45.0


def booked():
    """Two names traded through the real accounting (research.analytics.account_fills)."""
    days = pd.DatetimeIndex(["2022-01-03", "2022-01-04", "2022-01-05"])
    closes = pd.DataFrame({"AAPL": [10.0, 11.0, 12.0], "XOM": [50.0, 40.0, 45.0]}, index=days)
    fills = pd.DataFrame({
        "timestamp": pd.to_datetime(["2022-01-04 15:00", "2022-01-04 15:00",
                                     "2022-01-05 15:00"]).tz_localize("America/New_York"),
        "symbol": ["AAPL", "XOM", "AAPL"], "side": ["buy", "buy", "sell"],
        "quantity": [10, 2, 5], "price": [10.5, 41.0, 11.5], "fees": [1.0, 0.5, 1.0]})
    return closes, fills, account_fills(closes, fills, 1_000.0)


def test_pnl_by_symbol_adds_up_to_the_equity_change():
    closes, fills, account = booked()
    pnl = tab.pnl_by_symbol(fills, account.positions, closes)
    # AAPL: 5 held at 12, bought 10 at 10.5, sold 5 at 11.5, fees 2 -> 60 - 105 + 57.5 - 2
    assert pnl.loc["AAPL", "pnl"] == pytest.approx(10.5)
    # XOM: 2 held at 45, bought 2 at 41, fee 0.5 -> 90 - 82 - 0.5
    assert pnl.loc["XOM", "pnl"] == pytest.approx(7.5)
    assert pnl["pnl"].sum() == pytest.approx(account.equity.iloc[-1] - account.equity.iloc[0])
    assert list(pnl.index) == ["AAPL", "XOM"] and pnl["fills"].tolist() == [2, 1]


def test_holding_weights_and_sector_exposure():
    closes, _, account = booked()
    w = tab.holding_weights(account.positions, closes, account.equity)
    assert w.iloc[0].tolist() == [0.0, 0.0]
    assert w.loc["2022-01-04", "AAPL"] == pytest.approx(10 * 11 / account.equity.iloc[1])
    # held value plus cash is the equity: the weights sum to 1 minus the cash share
    cash_share = account.cash / account.equity
    assert (w.sum(axis=1) + cash_share).tolist() == pytest.approx([1, 1, 1])
    sectors = tab.sector_exposure(w)
    assert set(sectors.columns) == {"Information Technology", "Energy"}
    with pytest.raises(tab.ReportInputError, match=r"no sector known for \['ZZZ'\]"):
        tab.sector_exposure(w.rename(columns={"XOM": "ZZZ"}))


def test_rebalance_windows_run_from_close_to_close_before_each_decision():
    eq = dated([100, 101, 102, 103, 104, 105],
               pd.bdate_range("2022-01-03", periods=6))  # Mon 3 .. Mon 10
    decisions = [{"session": "2022-01-04", "kind": "rebalance"},
                 {"session": "2022-01-06", "kind": "drift"},
                 {"session": "2022-01-07", "kind": "rebalance"}]
    w = alg.rebalance_windows(eq, decisions)
    assert list(w.index) == [pd.Timestamp("2022-01-04"), pd.Timestamp("2022-01-07")]
    first, last = w.iloc[0], w.iloc[1]
    assert (first["start"], first["end"]) == (pd.Timestamp("2022-01-03"),
                                              pd.Timestamp("2022-01-06"))
    assert first["pnl"] == 3 and first["return_bps"] == pytest.approx(300)
    assert last["end"] == pd.Timestamp("2022-01-10") and last["pnl"] == 2


def test_t_interval_on_a_known_case_and_the_seeded_bootstrap():
    mean, lo, hi = alg.mean_interval(np.array([1.0, 2, 3, 4, 5]), method="t")
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(4) 97.5% quantile
    assert (mean, lo, hi) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    x = np.random.default_rng(1).normal(2.0, 10.0, 400)
    boot = alg.mean_interval(x, method="bootstrap", seed=7)
    assert boot == alg.mean_interval(x, method="bootstrap", seed=7)
    assert boot != alg.mean_interval(x, method="bootstrap", seed=8)
    _, tlo, thi = alg.mean_interval(x, method="t")
    assert boot[1] == pytest.approx(tlo, abs=0.1 * (thi - tlo))
    assert boot[2] == pytest.approx(thi, abs=0.1 * (thi - tlo))
    assert np.isnan(alg.mean_interval(np.array([1.0]))[1])
    with pytest.raises(tab.ReportInputError, match="'t' or 'bootstrap'"):
        alg.mean_interval(x, method="z")


def fake_result(values, sessions, costs_total=10.0):
    """The fields of a BacktestResult that the comparison reads."""
    eq = dated(values, pd.bdate_range("2022-01-03", periods=len(values)))
    metrics = SimpleNamespace(total_return=eq.iloc[-1] / eq.iloc[0] - 1, cagr=0.0, sharpe=0.0,
                              max_drawdown=0.0, cost_drag_bps_annual=0.0)
    return SimpleNamespace(equity=eq, decisions=[{"session": s} for s in sessions],
                           metrics=metrics, trades=pd.DataFrame({"x": [1]}),
                           costs_bps=lambda: {"total": costs_total})


def test_the_paired_comparison_differences_each_window():
    sessions = ["2022-01-04", "2022-01-05", "2022-01-06", "2022-01-07"]
    base = fake_result([100, 100, 101, 102, 103, 104], sessions)
    alt = fake_result([100, 100, 100.9, 101.8, 102.9, 103.8], sessions)
    runs = alg.AlgorithmRuns("twap", {"twap": base, "limit": alt})
    pairs = alg.paired_differences(runs)
    # windows: Jan 3 -> 4, 4 -> 5, 5 -> 6, and the last from Jan 6 to the last close (Jan 10)
    expected = [0.0, (100.9 / 100 - 1.01) * 1e4, (101.8 / 100.9 - 102 / 101) * 1e4,
                (103.8 / 101.8 - 104 / 102) * 1e4]
    assert pairs["diff_bps"].tolist() == pytest.approx(expected)
    table = alg.algorithm_table(runs, seed=3)
    row = table.loc["limit"]
    assert row["n_windows"] == 4 and row["diff_bps"] == pytest.approx(np.mean(expected))
    assert row["ci_lo"] < row["diff_bps"] < row["ci_hi"]
    assert row["final_equity_diff"] == pytest.approx(-0.2)


def test_the_verdict_judges_from_the_interval():
    table = pd.DataFrame({"diff_bps": [0.0, 5.0, -4.0, 1.0, 0.0],
                          "ci_lo": [np.nan, 1.0, -6.0, -2.0, 0.0],
                          "ci_hi": [np.nan, 9.0, -2.0, 4.0, 0.0],
                          "n_windows": [0, 30, 30, 30, 30],
                          "final_equity_diff": [0.0, 1e4, -1e4, 10.0, 0.0]},
                         index=["twap", "limit", "pov", "is", "market"])
    lines = algorithm_sentences(table, "twap", {"vwap": "no volume profile"})
    assert lines[0].startswith("**limit**: better than twap: +5.00 bps")
    assert lines[1].startswith("**pov**: worse than twap")
    assert lines[2].startswith("**is**: not resolved from twap (the interval contains 0)")
    assert lines[3].startswith("**market**: identical to twap on this data")
    assert lines[4] == "**vwap**: not run: no volume profile"
    m = SimpleNamespace(start=pd.Timestamp("2020-01-02"), end=pd.Timestamp("2021-01-04"),
                        sessions=253, cagr=0.10, sharpe=1.0, max_drawdown=0.2, beta=0.9,
                        alpha=0.02, information_ratio=0.5, cost_drag_bps_annual=20.0,
                        turnover_annual=2.0)
    b = SimpleNamespace(cagr=0.12, sharpe=0.8, max_drawdown=0.3)
    text = verdict_markdown(m, b, {"total": 12.0})
    assert "(1.0 years)" in text and "trailed it by 2.0% a year" in text
    assert "shallower worst drawdown" in text and "the drag 2.0% of the annual return" in text
