from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import LedoitWolf as SklearnLedoitWolf

from research.config import RiskLimits, RiskSettings
from research.risk import (
    AlertManager,
    Decision,
    InsufficientDataError,
    LimitKind,
    MemorySink,
    RiskInputError,
    RiskManager,
    UnknownSectorError,
    cvar,
    var,
    var_cvar,
)

NAV = 10_000_000.0


@pytest.fixture
def book(last_year) -> dict[str, float]:
    return {s: 0.045 for s in last_year.columns}  # 90% invested


@pytest.fixture
def manager(last_year, book) -> RiskManager:
    # VaR budget widened to 50% so the concentration limits are what the order tests hit
    manager = RiskManager(limits=RiskLimits(var_budget=0.5))
    manager.update(last_year, book, nav=NAV)
    return manager


def test_snapshot_matches_independent_computations(manager, last_year, book):
    snap = manager.snapshot()
    w = np.array([book[s] for s in last_year.columns])
    series = last_year.to_numpy() @ w
    cov = SklearnLedoitWolf().fit(last_year).covariance_
    sigma = math.sqrt(w @ cov @ w)
    assert snap.volatility == pytest.approx(sigma, rel=1e-10)
    assert snap.volatility_annual == pytest.approx(sigma * math.sqrt(252), rel=1e-10)
    assert snap.var == pytest.approx(var(series, 0.95, horizon=21), rel=1e-12)
    assert snap.cvar == pytest.approx(cvar(series, 0.95, horizon=21), rel=1e-12)
    mu = last_year.mean().to_numpy() @ w
    assert snap.var_gaussian == pytest.approx(
        -21 * mu + 1.6448536269514722 * math.sqrt(21) * sigma, rel=1e-10
    )
    assert snap.shrinkage == pytest.approx(SklearnLedoitWolf().fit(last_year).shrinkage_, abs=1e-12)
    assert (snap.horizon, snap.confidence, snap.n_observations, snap.method) == (
        21,
        0.95,
        252,
        "historical",
    )
    assert snap.as_of == last_year.index[-1]


def test_contributions_sum_to_totals(manager):
    snap = manager.snapshot()
    assert snap.contributions_volatility.sum() == pytest.approx(snap.volatility, rel=1e-12)
    assert snap.contributions_var.sum() == pytest.approx(snap.var, rel=1e-12)
    assert snap.contributions_cvar.sum() == pytest.approx(snap.cvar, rel=1e-12)
    assert snap.contributions_exact
    top_symbol, top_value = snap.top_contributors[0]
    assert top_value == pytest.approx(snap.contributions_cvar.max())
    assert len(snap.top_contributors) == 5


def test_snapshot_reports_every_limit(manager):
    snap = manager.snapshot()
    usage = snap.limit_usage
    assert set(usage) == {k.value for k in LimitKind}
    assert usage["position_weight"] == pytest.approx(0.45)
    assert usage["gross_exposure"] == pytest.approx(0.90)
    assert usage["var_budget"] == pytest.approx(snap.var / 0.5)
    by_kind = {s.kind: s for s in snap.limits}
    assert by_kind[LimitKind.PAIRWISE_CORRELATION].breached  # BAC/JPM ~0.86 in 2022
    assert {s.kind for s in snap.breaches} >= {LimitKind.PAIRWISE_CORRELATION}


def test_snapshot_is_frozen_and_cached(manager):
    snap = manager.snapshot()
    assert manager.snapshot() is snap
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.var = 0.0
    with pytest.raises(ValueError):
        snap.weights[0] = 1.0
    payload = snap.as_dict()
    assert payload["var"] == snap.var and len(payload["limits"]) == 7


def test_check_order_uses_the_cached_book(manager, last_year):
    # AAPL at 4.5%: a 10% position limit leaves 5.5% of $10m = $550,000 = 2750 shares at $200
    decision = manager.check_order("AAPL", "buy", 5000, 200.0)
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 2750
    assert decision.reasons == (LimitKind.POSITION_WEIGHT,)
    assert manager.check_order("AAPL", "buy", 100, 200.0).decision is Decision.APPROVED


def test_fill_moves_the_book_and_charges_the_daily_budget(manager):
    before = manager.snapshot()
    manager.on_fill("AAPL", "buy", 2500, 200.0, when=datetime(2022, 12, 28, 15, tzinfo=UTC))
    after = manager.snapshot()
    assert after is not before
    i = after.symbols.index("AAPL")
    assert after.weights[i] == pytest.approx(0.045 + 0.05)
    assert after.daily_budget_usage > 0.0
    assert manager.daily_budget.by_key["AAPL"] == pytest.approx(manager.daily_budget.used)
    assert manager.check_order("AAPL", "buy", 500, 200.0).approved_quantity == 250  # 0.5% left
    manager.on_fill("AAPL", "sell", 2500, 200.0, when=datetime(2022, 12, 28, 15, 5, tzinfo=UTC))
    assert manager.daily_budget.by_key["AAPL"] == pytest.approx(
        manager.daily_budget.used
    )  # no credit


def test_daily_loss_tracks_the_day_and_halts_risk_increasing_orders(last_year, book):
    manager = RiskManager()
    manager.update(last_year, book, nav=NAV, as_of=datetime(2023, 1, 3, 10, tzinfo=UTC))
    manager.update(last_year, nav=NAV * 0.98, as_of=datetime(2023, 1, 3, 16, tzinfo=UTC))
    assert manager.snapshot().daily_loss == pytest.approx(0.02)
    snap = manager.update(
        last_year, nav=NAV * 0.965, as_of=datetime(2023, 1, 3, 16, 30, tzinfo=UTC)
    )
    assert snap.daily_loss == pytest.approx(0.035)
    assert LimitKind.DAILY_LOSS in {s.kind for s in snap.breaches}
    assert manager.check_order("MSFT", "buy", 10, 250.0).reasons == (LimitKind.DAILY_LOSS,)
    assert manager.check_order("MSFT", "sell", 10, 250.0).decision is Decision.APPROVED
    # next day: the previous close becomes the opening NAV
    next_day = manager.update(
        last_year, nav=NAV * 0.965, as_of=datetime(2023, 1, 4, 10, tzinfo=UTC)
    )
    assert next_day.daily_loss == pytest.approx(0.0)
    assert manager.check_order("MSFT", "buy", 10, 250.0).decision is Decision.APPROVED


def test_explicit_day_start_nav(last_year, book):
    snap = RiskManager().update(
        last_year, book, nav=95.0, day_start_nav=100.0, as_of=date(2023, 1, 3)
    )
    assert snap.daily_loss == pytest.approx(0.05)


def test_alerts_fire_from_updates(last_year, book):
    sink = MemorySink()
    alerts = AlertManager([sink], cooldown_seconds=3600)
    manager = RiskManager(alerts=alerts)
    stamp = datetime(2023, 1, 3, 10, tzinfo=UTC)
    manager.update(last_year, book, nav=NAV, as_of=stamp)
    severity = {e.limit: e.severity.value for e in sink.events}
    assert severity["pairwise_correlation"] == "critical"
    assert severity["gross_exposure"] == "warning"  # 90% of the 1x cap
    assert all(e.time == stamp for e in sink.events) and manager.last_alerts == sink.events
    count = len(sink.events)
    manager.update(last_year, book, nav=NAV, as_of=stamp.replace(minute=5))
    assert len(sink.events) == count  # unchanged states within the cool-down


@pytest.mark.parametrize("method", ["gaussian", "cornish_fisher", "monte_carlo", "fhs"])
def test_other_methods_keep_contributions_additive(last_year, book, method):
    settings = RiskSettings(var_method=method, mc_paths=2000)
    snap = RiskManager(settings).update(last_year, book, nav=NAV)
    series = last_year.to_numpy() @ np.array(list(book.values()))
    if method == "gaussian":  # the book's Gaussian VaR comes from the covariance model
        expected = snap.var_gaussian
    else:
        expected = var(series, 0.95, method, 21, n_paths=2000, seed=settings.seed)
    assert snap.var == pytest.approx(expected, rel=1e-10)
    assert snap.contributions_var.sum() == pytest.approx(snap.var, rel=1e-10)
    assert snap.contributions_exact is (method == "gaussian")


def test_overlapping_scaling_and_ewma_covariance(last_year, book):
    settings = RiskSettings(
        var_horizon_scaling="overlapping", covariance="ewma", ewma_halflife_days=30
    )
    snap = RiskManager(settings).update(last_year, book, nav=NAV)
    growth = (1 + last_year).rolling(21).apply(np.prod, raw=True).dropna() - 1
    assert snap.var == pytest.approx(
        var(growth.to_numpy() @ np.array(list(book.values()))), rel=1e-10
    )
    assert snap.shrinkage is None


def test_lookback_keeps_the_last_rows(sp500_returns, book):
    snap = RiskManager().update(sp500_returns, book, nav=NAV)
    assert snap.n_observations == 252
    assert snap.var == pytest.approx(
        RiskManager().update(sp500_returns.iloc[-252:], book, nav=NAV).var
    )


def test_explicit_limits_override_settings(last_year, book):
    manager = RiskManager(limits=RiskLimits(max_position_weight=0.05))
    manager.update(last_year, book, nav=NAV)
    assert manager.check_order("AAPL", "buy", 5000, 200.0).approved_quantity == 250


def test_array_input_with_symbols(last_year, book):
    manager = RiskManager()
    snap = manager.update(
        last_year.to_numpy(), np.full(20, 0.045), nav=NAV, symbols=list(last_year.columns)
    )
    assert snap.symbols == tuple(last_year.columns) and snap.as_of is None


# ---------------------------------------------------------------- bad input
def test_nan_returns(last_year, book):
    broken = last_year.copy()
    broken.iloc[-1, 0] = np.nan
    with pytest.raises(RiskInputError, match="column 'AAPL'"):
        RiskManager().update(broken, book, nav=NAV)


def test_fewer_observations_than_assets(last_year, book):
    with pytest.raises(InsufficientDataError, match="15 observations for 20 assets"):
        RiskManager().update(last_year.iloc[-15:], book, nav=NAV)


def test_unknown_sector(last_year, book):
    renamed = last_year.rename(columns={"AAPL": "NEWCO"})
    with pytest.raises(UnknownSectorError, match="NEWCO"):
        RiskManager().update(renamed, {"MSFT": 0.05}, nav=NAV)
    # an explicit sector map fixes it
    sectors = {c: "Other" for c in renamed.columns}
    assert RiskManager(sectors=sectors).update(renamed, {"NEWCO": 0.05}, nav=NAV).var > 0


def test_weights_that_do_not_sum_as_declared(last_year, book):
    with pytest.raises(RiskInputError, match="sum to 0.9, not the declared 1"):
        RiskManager().update(last_year, book, nav=NAV, weights_sum=1.0)
    full = {s: 0.05 for s in last_year.columns}
    assert RiskManager().update(last_year, full, nav=NAV, weights_sum=1.0).var > 0


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"ZZZ": 0.1}, "no return history"),
        ({"AAPL": float("nan")}, "NaN"),
        (np.ones(3), "3 entries for 20 assets"),
    ],
)
def test_bad_weights(last_year, weights, message):
    with pytest.raises(RiskInputError, match=message):
        RiskManager().update(last_year, weights, nav=NAV)


def test_bad_nav_and_calls_before_update(last_year, book):
    with pytest.raises(RiskInputError, match="nav"):
        RiskManager().update(last_year, book, nav=0.0)
    with pytest.raises(RiskInputError, match="update"):
        RiskManager().check_order("AAPL", "buy", 1, 1.0)
    with pytest.raises(RiskInputError, match="symbols"):
        RiskManager().update(last_year.to_numpy(), np.full(20, 0.05), nav=NAV)


def test_universe_change_keeps_holdings_or_fails_loudly(last_year, book):
    manager = RiskManager()
    manager.update(last_year, {"AAPL": 0.05, "MSFT": 0.05}, nav=NAV)
    snap = manager.update(last_year.drop(columns=["XOM"]), nav=NAV)
    assert snap.weights[snap.symbols.index("AAPL")] == pytest.approx(0.05)
    with pytest.raises(RiskInputError, match="MSFT"):
        manager.update(last_year.drop(columns=["MSFT"]), nav=NAV)


def test_fill_needs_a_time(last_year):
    manager = RiskManager()
    manager.update(
        last_year.to_numpy(), np.full(20, 0.04), nav=NAV, symbols=list(last_year.columns)
    )
    with pytest.raises(RiskInputError, match="when="):
        manager.on_fill("AAPL", "buy", 10, 100.0)
    with pytest.raises(RiskInputError, match="ZZZ"):
        manager.on_fill("ZZZ", "buy", 10, 100.0, when=date(2023, 1, 3))


def test_dataframe_with_non_datetime_index(last_year, book):
    frame = pd.DataFrame(last_year.to_numpy(), columns=last_year.columns)
    assert RiskManager().update(frame, book, nav=NAV).as_of is None


def test_empty_book_has_zero_risk_and_accepts_orders(last_year):
    manager = RiskManager()
    snap = manager.update(last_year, nav=NAV)
    assert (snap.var, snap.cvar, snap.volatility) == (0.0, 0.0, 0.0)
    assert not np.isnan(snap.contributions_cvar).any() and snap.top_contributors == ()
    assert manager.check_order("AAPL", "buy", 1000, 200.0).decision is Decision.APPROVED
    with pytest.raises(RiskInputError, match="whole shares"):
        manager.check_order("AAPL", "buy", 10.5, 200.0)


@pytest.mark.parametrize("method", ["historical", "gaussian", "cornish_fisher", "monte_carlo"])
def test_one_day_risk_is_the_method_at_one_day_on_the_same_window_and_book(
        last_year, book, method):
    """The daily VaR backtest's forecast: the configured method at h = 1, not the 21-day
    figure divided by sqrt(21) (equal only for historical sqrt scaling)."""
    settings = RiskSettings(var_method=method, mc_paths=2000)
    manager = RiskManager(settings)
    snap = manager.update(last_year, book, nav=NAV)
    one = manager.one_day_risk()
    w = np.array(list(book.values()))
    series = last_year.to_numpy() @ w
    if method == "gaussian":  # the covariance model (Ledoit-Wolf), mean and sd at one day
        sigma = math.sqrt(w @ SklearnLedoitWolf().fit(last_year).covariance_ @ w)
        mu = last_year.mean().to_numpy() @ w
        assert one.var == pytest.approx(-mu + 1.6448536269514722 * sigma, rel=1e-9)
        assert one.cvar == pytest.approx(-mu + sigma * 0.10313564037537128 / 0.05, rel=1e-9)
    else:
        expected = var_cvar(series, 0.95, method, 1, n_paths=2000, seed=settings.seed)
        assert (one.var, one.cvar) == pytest.approx((expected.var, expected.cvar), rel=1e-12)
    if method == "historical":
        assert snap.var == pytest.approx(one.var * math.sqrt(21), rel=1e-12)
    assert one.horizon == 1 and one.cvar >= one.var > 0


def test_one_day_risk_of_an_empty_book_is_zero(last_year):
    manager = RiskManager(RiskSettings(var_method="gaussian"))
    manager.update(last_year, {}, nav=NAV)
    assert (manager.one_day_risk().var, manager.one_day_risk().cvar) == (0.0, 0.0)
