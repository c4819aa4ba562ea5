"""The optimised portfolio: every constraint on random covariances, the closed forms where
the constraints do not bind, the turnover penalty, infeasible limits, and solve time."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from research.risk.covariance import ledoit_wolf_shrunk
from research.strategies import OptimisedPortfolio

SECTORS = ("Tech", "Energy", "Health", "Financials", "Staples")


def _random_closes(seed: int, n_assets: int = 20, n_days: int = 400,
                   drift: float = 0.0003) -> tuple[pd.DataFrame, dict[str, str]]:
    """Closes driven by 1-3 random factors with random loadings and idiosyncratic noise:
    a different covariance structure per seed; sectors assigned at random."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    loadings = rng.normal(0.5, 0.4, (k, n_assets))
    factors = rng.normal(0, 0.01, (n_days, k))
    noise = rng.normal(0, 1, (n_days, n_assets)) * rng.uniform(0.005, 0.03, n_assets)
    returns = drift + factors @ loadings + noise
    names = [f"S{i:02d}" for i in range(n_assets)]
    closes = pd.DataFrame(100 * np.exp(np.cumsum(returns, axis=0)), columns=names,
                          index=pd.bdate_range("2015-01-01", periods=n_days))
    sectors = {s: SECTORS[int(rng.integers(0, len(SECTORS)))] for s in names}
    return closes, sectors


@pytest.mark.parametrize("objective", ["min_variance", "mean_variance", "max_sharpe"])
@pytest.mark.parametrize("seed", range(6))
def test_every_constraint_holds_on_random_covariances(objective, seed):
    closes, sectors = _random_closes(seed)
    rng = np.random.default_rng(100 + seed)
    cap = float(rng.choice([0.08, 0.10, 0.15]))
    sector_cap = float(rng.choice([0.30, 0.40]))
    model = OptimisedPortfolio(objective, lookback_days=120, return_lookback_days=120,
                               max_position_weight=cap, max_sector_weight=sector_cap,
                               sectors=sectors)
    current = pd.Series(rng.dirichlet(np.ones(20)), index=closes.columns)
    w = model.target_weights(closes, closes.index[-1], current_weights=current)
    assert w.min() >= -1e-12                                   # long only
    assert w.sum() == pytest.approx(1.0, abs=1e-9)             # fully invested
    assert w.max() <= cap + 1e-7                               # position limit
    by_sector = w.groupby(pd.Series(sectors)).sum()
    assert by_sector.max() <= sector_cap + 1e-7                # sector limit


def _loose(objective: str, **kw) -> OptimisedPortfolio:
    return OptimisedPortfolio(objective, lookback_days=150, return_lookback_days=150,
                              turnover_cost_bps=0.0, max_position_weight=1.0,
                              max_sector_weight=1.0, horizon_days=1, **kw)


def test_min_variance_and_max_sharpe_match_their_closed_forms_when_no_limit_binds():
    rng = np.random.default_rng(7)
    n, days = 5, 151
    vols = np.array([0.010, 0.012, 0.015, 0.011, 0.013])
    noise = rng.normal(0, 1, (days - 1, n)) * vols
    # the sample mean is exactly the planted one, so the tangency weights are all positive
    returns = noise - noise.mean(axis=0) + np.array([4, 5, 6, 4.5, 5.5]) * 1e-4
    closes = pd.DataFrame(100 * np.cumprod(np.vstack([np.ones(n), 1 + returns]), axis=0),
                          columns=list("ABCDE"), index=pd.bdate_range("2020-01-01", periods=days))
    asof = closes.index[-1] + pd.Timedelta(days=1)
    sigma, _ = ledoit_wolf_shrunk(returns - returns.mean(axis=0))
    ones = np.ones(n)
    gmv = np.linalg.solve(sigma, ones)
    tangency = np.linalg.solve(sigma, returns.mean(axis=0))
    assert (gmv > 0).all() and (tangency > 0).all()  # the long-only limit does not bind
    np.testing.assert_allclose(_loose("min_variance").target_weights(closes, asof),
                               gmv / gmv.sum(), atol=1e-6)
    np.testing.assert_allclose(_loose("max_sharpe").target_weights(closes, asof),
                               tangency / tangency.sum(), atol=1e-6)
    # mean-variance with the budget constraint: w = (S^-1 mu + nu S^-1 1) / gamma, sum 1
    gamma = 50.0
    mv = _loose("mean_variance", risk_aversion=gamma).target_weights(closes, asof).to_numpy()
    nu = (gamma - tangency.sum()) / gmv.sum()
    np.testing.assert_allclose(mv, (tangency + nu * gmv) / gamma, atol=1e-6)


def test_a_prohibitive_turnover_cost_keeps_the_current_book():
    closes, sectors = _random_closes(11)
    current = pd.Series(1 / 20, index=closes.columns)  # within every limit
    model = OptimisedPortfolio("min_variance", lookback_days=120, turnover_cost_bps=1e4,
                               sectors=None, max_sector_weight=1.0)
    w = model.target_weights(closes, closes.index[-1], current_weights=current)
    np.testing.assert_allclose(w, current, atol=1e-6)
    free = OptimisedPortfolio("min_variance", lookback_days=120, turnover_cost_bps=0.0,
                              sectors=None, max_sector_weight=1.0)
    moved = free.target_weights(closes, closes.index[-1], current_weights=current)
    assert np.abs(moved - current).sum() > 0.05  # without the penalty it does trade
    per_name = pd.Series(1e4, index=closes.columns)  # the cost model's estimate wins
    np.testing.assert_allclose(free.target_weights(closes, closes.index[-1], current_weights=current,
                                                   trade_cost_bps=per_name), current, atol=1e-6)


def test_max_sharpe_without_a_positive_expected_return_falls_back_to_min_variance():
    closes, _ = _random_closes(5, drift=-0.01)  # every sample mean < 0
    asof = closes.index[-1]
    w = OptimisedPortfolio("max_sharpe", lookback_days=120, return_lookback_days=120,
                           max_sector_weight=1.0).target_weights(closes, asof)
    assert w.attrs["fallback"] == "min_variance"
    mv = OptimisedPortfolio("min_variance", lookback_days=120, max_sector_weight=1.0)
    np.testing.assert_allclose(w, mv.target_weights(closes, asof), atol=1e-7)


def test_limits_that_cannot_be_met_and_names_without_data():
    closes, sectors = _random_closes(2, n_assets=8)
    with pytest.raises(ValueError, match="fully invested target is impossible"):
        OptimisedPortfolio(max_position_weight=0.10).target_weights(closes, closes.index[-1])
    with pytest.raises(ValueError, match="objective must be one of"):
        OptimisedPortfolio("max_return").target_weights(closes, closes.index[-1])
    closes = closes.copy()
    closes.iloc[:-50, 0] = np.nan  # listed 50 sessions ago: no full window
    w = OptimisedPortfolio(max_position_weight=0.2, max_sector_weight=1.0,
                           lookback_days=120).target_weights(closes, closes.index[-1])
    assert w.iloc[0] == 0.0 and w.sum() == pytest.approx(1.0)
    # the names left out for want of data are named when they make the limits unreachable
    with pytest.raises(ValueError, match=r"7 name\(s\) with data can hold at most 70% .*"
                       r"without a full lookback of closes: S00 \(not listed yet"):
        OptimisedPortfolio(max_position_weight=0.1, max_sector_weight=1.0,
                           lookback_days=120).target_weights(closes.iloc[:, :8],
                                                             closes.index[-1])


def test_decisions_ignore_the_decision_day_and_after():
    closes, sectors = _random_closes(4)
    model = OptimisedPortfolio("mean_variance", lookback_days=120, return_lookback_days=120,
                               sectors=sectors, max_sector_weight=0.4)
    asof = closes.index[300]
    before = model.target_weights(closes, asof)
    future = closes.copy()
    future.iloc[300:] *= 3.0
    pd.testing.assert_series_equal(model.target_weights(future, asof), before)


def test_a_warm_resolve_takes_well_under_50_ms():
    """The issue's budget: ~400 monthly solves of 20 names inside a 60 s backtest."""
    closes, sectors = _random_closes(8, n_days=700)
    model = OptimisedPortfolio("max_sharpe", lookback_days=252, sectors=sectors,
                               max_sector_weight=0.4)
    current = None
    times = []
    for day in closes.index[300::21]:
        t0 = time.perf_counter()
        current = model.target_weights(closes, day, current_weights=current)
        times.append(time.perf_counter() - t0)
    assert np.median(times[1:]) < 0.050, times  # the first call builds the problem
