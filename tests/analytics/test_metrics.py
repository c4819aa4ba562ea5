"""Each metric against a case small enough to compute by hand: the expected values below are
written out with plain arithmetic on the listed returns, not with the module's formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research.analytics import (
    MetricsInputError,
    alpha,
    beta,
    cagr,
    calmar,
    cost_drag_bps_annual,
    information_ratio,
    max_drawdown,
    performance_metrics,
    sharpe,
    sortino,
    tracking_error,
    turnover_annual,
    volatility,
)

DATES = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
# returns +10%, -10%, +10%
EQUITY = pd.Series([100.0, 110.0, 99.0, 108.9], index=DATES)
# returns +1%, -1%, +2%
BENCH = pd.Series([200.0, 202.0, 199.98, 203.9796], index=DATES)
ROOT_252 = math.sqrt(252)

# by hand: mean of (0.1, -0.1, 0.1) and the ddof=1 variance around it
MEAN = 0.1 / 3
VAR = ((0.1 - MEAN) ** 2 + (-0.1 - MEAN) ** 2 + (0.1 - MEAN) ** 2) / 2


def test_cagr_compounds_over_252_session_years():
    assert cagr(EQUITY) == pytest.approx(1.089 ** (252 / 3) - 1, rel=1e-12)
    # a curve that doubles in exactly 252 sessions has CAGR 100%
    days = pd.bdate_range("2020-01-01", periods=253)
    doubling = pd.Series(100.0 * 2.0 ** (np.arange(253) / 252), index=days)
    assert cagr(doubling) == pytest.approx(1.0, rel=1e-12)
    assert max_drawdown(doubling) == 0.0
    assert math.isnan(calmar(doubling))  # no drawdown: the ratio is undefined, not huge


def test_volatility_and_sharpe_use_ddof_1():
    assert volatility(EQUITY) == pytest.approx(math.sqrt(VAR) * ROOT_252, rel=1e-12)
    assert sharpe(EQUITY) == pytest.approx(MEAN / math.sqrt(VAR) * ROOT_252, rel=1e-12)
    # a 2.52% annual risk-free rate is 0.01% a day, taken off the mean only
    assert sharpe(EQUITY, 0.0252) == pytest.approx((MEAN - 0.0001) / math.sqrt(VAR) * ROOT_252,
                                                   rel=1e-12)


def test_sortino_downside_deviation_is_over_all_days():
    # only the -10% day is below 0; the two up days count as zeros in the mean of squares
    downside = math.sqrt((0.0 + 0.01 + 0.0) / 3)
    assert sortino(EQUITY) == pytest.approx(MEAN / downside * ROOT_252, rel=1e-12)


def test_max_drawdown_is_a_positive_fraction_of_the_peak():
    assert max_drawdown(EQUITY) == pytest.approx(11 / 110, rel=1e-12)
    curve = pd.Series([100.0, 120.0, 90.0, 130.0, 65.0, 70.0], index=pd.bdate_range(
        "2024-01-01", periods=6))
    assert max_drawdown(curve) == pytest.approx(0.5, rel=1e-12)  # 130 -> 65
    assert calmar(curve) == pytest.approx(cagr(curve) / 0.5, rel=1e-12)


def test_turnover_and_cost_drag_annualise_over_average_equity():
    average = (100.0 + 110.0 + 99.0 + 108.9) / 4
    notional = pd.Series([50.0, -30.0], index=DATES[[1, 3]])  # a buy and a sell: both count
    assert turnover_annual(EQUITY, notional) == pytest.approx(80 / average / (3 / 252), rel=1e-12)
    assert turnover_annual(EQUITY, 80.0) == pytest.approx(80 / average / (3 / 252), rel=1e-12)
    costs = pd.Series([0.02, 0.01], index=DATES[[1, 3]])
    assert cost_drag_bps_annual(EQUITY, costs) == pytest.approx(
        0.03 / average / (3 / 252) * 10_000, rel=1e-12)


def test_benchmark_relative_metrics():
    r = [0.1, -0.1, 0.1]
    rb = [0.01, -0.01, 0.02]
    mean_r, mean_b = sum(r) / 3, sum(rb) / 3
    cov = sum((a - mean_r) * (b - mean_b) for a, b in zip(r, rb, strict=True)) / 2
    var_b = sum((b - mean_b) ** 2 for b in rb) / 2
    expected_beta = cov / var_b
    assert beta(EQUITY, BENCH) == pytest.approx(expected_beta, rel=1e-9)
    assert alpha(EQUITY, BENCH) == pytest.approx((mean_r - expected_beta * mean_b) * 252, rel=1e-9)
    active = [a - b for a, b in zip(r, rb, strict=True)]  # 0.09, -0.09, 0.08
    mean_a = sum(active) / 3
    te = math.sqrt(sum((a - mean_a) ** 2 for a in active) / 2) * ROOT_252
    assert tracking_error(EQUITY, BENCH) == pytest.approx(te, rel=1e-9)
    assert information_ratio(EQUITY, BENCH) == pytest.approx(mean_a * 252 / te, rel=1e-9)
    # the curve against itself: beta 1, no alpha, no tracking error (IR undefined)
    assert beta(EQUITY, EQUITY) == pytest.approx(1.0, rel=1e-12)
    assert alpha(EQUITY, EQUITY) == pytest.approx(0.0, abs=1e-12)
    assert tracking_error(EQUITY, EQUITY) == 0.0
    assert math.isnan(information_ratio(EQUITY, EQUITY))


def test_benchmark_may_cover_more_dates_but_not_fewer():
    longer = pd.concat([pd.Series([199.0], index=[pd.Timestamp("2023-12-29")]), BENCH])
    assert beta(EQUITY, longer) == pytest.approx(beta(EQUITY, BENCH), rel=1e-12)
    with pytest.raises(MetricsInputError, match="benchmark has no value on 1 .*2024-01-05"):
        beta(EQUITY, BENCH.iloc[:3])


def test_result_object_collects_the_functions():
    notional = pd.Series([50.0, -30.0], index=DATES[[1, 3]])
    result = performance_metrics(EQUITY, BENCH, traded_notional=notional, costs=0.03)
    row = result.as_dict()
    assert row["sharpe"] == sharpe(EQUITY) and row["beta"] == beta(EQUITY, BENCH)
    assert row["turnover_annual"] == turnover_annual(EQUITY, notional)
    assert row["sessions"] == 4 and row["final_equity"] == 108.9
    assert row["total_return"] == pytest.approx(0.089, rel=1e-12)
    with pytest.raises(AttributeError):
        result.sharpe = 0.0  # frozen
    alone = performance_metrics(EQUITY)
    assert math.isnan(alone.beta) and math.isnan(alone.turnover_annual)


@pytest.mark.parametrize("curve, message", [
    (pd.Series([], dtype=float, index=pd.DatetimeIndex([])), "at least 2 dated points"),
    (pd.Series([100.0, 101.0], index=[0, 1]), "DatetimeIndex"),
    (pd.Series([100.0, np.nan, 101.0], index=DATES[:3]), "NaN or infinite value on 2024-01-03"),
    (pd.Series([100.0, 0.0, 101.0], index=DATES[:3]), "must be > 0.*on 2024-01-03"),
    (pd.Series([100.0, -5.0, 101.0], index=DATES[:3]), "must be > 0"),
    (pd.Series([100.0, 101.0, 102.0], index=DATES[[0, 2, 1]]), "strictly increasing.*row 2"),
    (pd.Series([100.0, 101.0, 102.0], index=DATES[[0, 1, 1]]), "strictly increasing"),
])
def test_bad_equity_is_refused_with_where(curve, message):
    with pytest.raises(MetricsInputError, match=message):
        performance_metrics(curve)


def test_bad_amounts_are_refused():
    outside = pd.Series([10.0], index=[pd.Timestamp("2024-02-01")])
    with pytest.raises(MetricsInputError, match="traded notional has an amount on 2024-02-01"):
        turnover_annual(EQUITY, outside)
    with pytest.raises(MetricsInputError, match="costs has a NaN"):
        cost_drag_bps_annual(EQUITY, pd.Series([np.nan], index=DATES[:1]))


def test_a_benchmark_is_left_out_only_when_the_run_reaches_past_its_data():
    """Sessions after the benchmark's last level (or before its first): null benchmark
    metrics, said why. A gap inside its range is an error of the data, still refused."""
    from research.analytics.metrics import MetricsInputError, covering_benchmark

    days = pd.bdate_range("2022-12-20", periods=8)
    equity = pd.Series(np.linspace(100.0, 104.0, 8), index=days)
    index = pd.Series(np.linspace(10.0, 10.7, 8), index=days)
    assert covering_benchmark(index, days)[0] is index
    short = index.iloc[:5]
    kept, why = covering_benchmark(short, days)
    assert kept is None and f"first outside: {days[5]:%Y-%m-%d}" in why
    holed = index.drop(days[3])
    kept, _ = covering_benchmark(holed, days)
    with pytest.raises(MetricsInputError, match="no value on 1"):
        performance_metrics(equity, kept)
    aware = index.copy()
    aware.index = aware.index.tz_localize("America/New_York")
    assert covering_benchmark(aware, days)[0] is aware
