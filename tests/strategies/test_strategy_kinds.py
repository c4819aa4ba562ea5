"""Every strategy.kind builds from a run config; kind-specific blocks are validated; the risk
budget strategy meets its budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from research.config import RunConfig
from research.strategies import (
    EqualWeight,
    InverseVolatility,
    MultiFactor,
    OptimisedPortfolio,
    RiskBudget,
    portfolio_strategy,
)

UNIVERSE = {"symbols": ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "PG", "KO", "WMT", "HD", "UNH"]}


def _config(**strategy) -> RunConfig:
    return RunConfig.model_validate({"name": "t", "universe": UNIVERSE, "strategy": strategy,
                                     "risk": {"max_position_weight": 0.15}})


@pytest.mark.parametrize("kind, cls", [
    ("inverse_volatility", InverseVolatility), ("equal_weight", EqualWeight),
    ("multi_factor", MultiFactor), ("optimised", OptimisedPortfolio),
    ("risk_parity", RiskBudget), ("risk_budget", RiskBudget)])
def test_each_kind_builds_its_strategy(kind, cls):
    assert isinstance(portfolio_strategy(_config(kind=kind)), cls)


def test_kind_blocks_reach_the_strategy_and_the_risk_limits_are_its_caps():
    mf = portfolio_strategy(_config(kind="multi_factor", multi_factor={
        "top_n": 4, "weighting": "score", "sector_neutral": True,
        "factor_weights": {"momentum": 2.0, "reversal": 0.5}}))
    assert (mf.top_n, mf.weighting, mf.sector_neutral) == (4, "score", True)
    assert mf.factor_weights == {"momentum": 2.0, "reversal": 0.5}
    assert mf.max_position_weight == 0.15 and mf.sectors["XOM"] == "Energy"
    opt = portfolio_strategy(_config(kind="optimised", rebalance="weekly",
                                     optimised={"objective": "max_sharpe"}))
    assert (opt.objective, opt.horizon_days, opt.max_position_weight, opt.max_sector_weight) == (
        "max_sharpe", 5, 0.15, 0.30)
    rb = portfolio_strategy(_config(kind="risk_budget", risk_budget={"budgets": {"aapl": 2.0}}))
    assert rb.budgets == {"AAPL": 2.0}
    assert portfolio_strategy(_config(kind="risk_parity")).budgets is None


@pytest.mark.parametrize("strategy, message", [
    ({"kind": "equal_weight", "optimised": {}}, "strategy.optimised is given but strategy.kind"),
    ({"kind": "optimised", "optimised": {"objective": "max_return"}}, "objective"),
    ({"kind": "multi_factor", "multi_factor": {"factor_weights": {"value": 1.0}}},
     "factor_weights"),
    ({"kind": "multi_factor", "multi_factor": {"factor_weights": {"momentum": 0.0}}},
     "non-zero weight"),
    ({"kind": "multi_factor", "multi_factor": {"skip_days": 300}}, "skip_days"),
    ({"kind": "risk_budget", "risk_budget": {"budgets": {"TSLA": 1.0}}}, "not in universe"),
    ({"kind": "risk_budget", "risk_budget": {"budgets": {"AAPL": -1.0}}}, "greater than 0"),
    ({"kind": "equal_weight", "no_trade_band": "sometimes"}, "no_trade_band"),
])
def test_bad_strategy_blocks_are_errors_naming_the_field(strategy, message):
    with pytest.raises(ValidationError, match=message):
        _config(**strategy)


def test_risk_budget_contributions_match_the_budgets_and_use_only_the_past():
    rng = np.random.default_rng(1)
    index = pd.bdate_range("2021-01-01", periods=200)
    returns = rng.normal(0, 1, (199, 4)) * np.array([0.01, 0.02, 0.015, 0.03])
    closes = pd.DataFrame(100 * np.cumprod(np.vstack([np.ones(4), 1 + returns]), axis=0),
                          index=index, columns=list("ABCD"))
    model = RiskBudget({"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0}, lookback_days=120).fit(closes)
    np.testing.assert_allclose(model.contributions_, [0.4, 0.3, 0.2, 0.1], atol=1e-9)
    assert model.weights_.sum() == pytest.approx(1.0)
    # a name without a budget is not held; the others' budgets are renormalised
    partial = RiskBudget({"A": 1.0, "B": 1.0}, lookback_days=120).fit(closes)
    assert partial.weights_[["C", "D"]].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(partial.contributions_[["A", "B"]], [0.5, 0.5], atol=1e-9)
    asof = index[150]
    future = closes.copy()
    future.iloc[150:] *= 2.0
    pd.testing.assert_series_equal(RiskBudget(lookback_days=120).target_weights(future, asof),
                                   RiskBudget(lookback_days=120).target_weights(closes, asof))
