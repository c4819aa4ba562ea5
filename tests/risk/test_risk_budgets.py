from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from research.risk import (
    DailyBudgetTracker,
    RiskInputError,
    SingularCovarianceError,
    allocate_risk_budget,
    budget_usage,
    risk_budget_weights,
    risk_parity_weights,
)

# skfolio's test suite: RiskBudgeting() (variance, equal budgets, empirical covariance) on
# the 20 S&P 500 names from 2018-01-03 to 2022-12-28; expected weights to 5 decimals.
SKFOLIO_ERC_WEIGHTS = [
    0.0420088,
    0.0321681,
    0.0368757,
    0.0397691,
    0.0397394,
    0.0382183,
    0.0464549,
    0.0676572,
    0.0406381,
    0.0639892,
    0.055542,
    0.0681354,
    0.0427415,
    0.0597638,
    0.0613296,
    0.067267,
    0.0314903,
    0.0468024,
    0.0749026,
    0.0445065,
]


@pytest.fixture(scope="module")
def covariance_2018(sp500_returns):
    return np.cov(sp500_returns.loc["2018-01-03":].to_numpy(), rowvar=False)


def test_risk_parity_equal_contributions(covariance_2018):
    result = risk_parity_weights(covariance_2018)
    w = result.weights
    sigma = np.sqrt(w @ covariance_2018 @ w)
    contributions = w * (covariance_2018 @ w) / sigma
    assert np.ptp(contributions) < 1e-6 * sigma
    np.testing.assert_allclose(contributions / sigma, 1 / 20, atol=1e-6)
    assert result.max_budget_error < 1e-6
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    assert result.solver_status == "optimal"


def test_risk_parity_matches_skfolio_published_weights(covariance_2018):
    np.testing.assert_allclose(
        risk_parity_weights(covariance_2018).weights, SKFOLIO_ERC_WEIGHTS, atol=1e-5
    )


def test_risk_budget_weights_hit_unequal_budgets(last_year):
    cov = np.cov(last_year.iloc[:, :3].to_numpy(), rowvar=False)
    budgets = {"AAPL": 0.5, "AMD": 0.3, "BAC": 0.2}
    result = risk_budget_weights(cov, budgets, names=["AAPL", "AMD", "BAC"])
    w = result.weights
    shares = w * (cov @ w) / (w @ cov @ w)
    np.testing.assert_allclose(shares, [0.5, 0.3, 0.2], atol=1e-6)
    assert set(result.as_dict()) == {"AAPL", "AMD", "BAC"}


def test_two_uncorrelated_assets_get_inverse_volatility_weights():
    cov = np.diag([0.02**2, 0.01**2])
    np.testing.assert_allclose(risk_parity_weights(cov).weights, [1 / 3, 2 / 3], atol=1e-7)


def test_singular_covariance_is_an_error():
    x = np.random.default_rng(0).normal(size=(100, 2))
    cov = np.cov(np.column_stack([x, x[:, 0] + x[:, 1]]), rowvar=False)
    with pytest.raises(SingularCovarianceError, match="risk budgeting"):
        risk_parity_weights(cov, names=["A", "B", "A+B"])


def test_budgets_must_sum_to_one_and_be_positive():
    cov = np.eye(3) * 1e-4
    with pytest.raises(RiskInputError, match="sum to 0.9"):
        risk_budget_weights(cov, [0.5, 0.3, 0.1])
    with pytest.raises(RiskInputError, match="positive"):
        risk_budget_weights(cov, [0.6, 0.5, -0.1])


def test_allocate_and_measure_budget_usage_by_strategy():
    allocation = allocate_risk_budget(0.10, {"momentum": 0.6, "value": 0.4})
    assert allocation == pytest.approx({"momentum": 0.06, "value": 0.04})
    contributions = {"AAPL": 0.03, "MSFT": 0.02, "XOM": 0.05}
    groups = {"AAPL": "momentum", "MSFT": "momentum", "XOM": "value"}
    usage = budget_usage(contributions, allocation, groups)
    np.testing.assert_allclose(usage.used, [0.05, 0.05])
    np.testing.assert_allclose(usage.usage, [0.05 / 0.06, 0.05 / 0.04])
    assert usage.breached == ("value",)
    assert usage.total_used == pytest.approx(0.10)


def test_budget_usage_refuses_unbudgeted_risk():
    with pytest.raises(RiskInputError, match="no strategy"):
        budget_usage({"AAPL": 0.01}, {"momentum": 0.05}, {"MSFT": "momentum"})
    with pytest.raises(RiskInputError, match="no budget"):
        budget_usage({"AAPL": 0.01}, {"MSFT": 0.05})
    with pytest.raises(RiskInputError, match="sum to 0.9"):
        allocate_risk_budget(0.1, {"a": 0.5, "b": 0.4})


def test_daily_tracker_accumulates_and_resets_on_a_new_date():
    tracker = DailyBudgetTracker(budget=0.02)
    tracker.charge(0.005, datetime(2024, 3, 4, 10, 0), key="AAPL")
    tracker.charge(0.010, datetime(2024, 3, 4, 15, 0), key="MSFT")
    assert tracker.used == pytest.approx(0.015)
    assert tracker.usage == pytest.approx(0.75)
    assert tracker.remaining == pytest.approx(0.005)
    assert tracker.by_key == pytest.approx({"AAPL": 0.005, "MSFT": 0.010})
    assert tracker.charge(0.01, datetime(2024, 3, 4, 15, 30)) == pytest.approx(1.25)
    assert tracker.breached
    tracker.charge(0.001, date(2024, 3, 5))
    assert tracker.used == pytest.approx(0.001) and not tracker.breached
    assert tracker.day == date(2024, 3, 5)


def test_daily_tracker_rejects_bad_charges():
    tracker = DailyBudgetTracker(budget=0.02)
    tracker.charge(0.001, date(2024, 3, 5))
    with pytest.raises(RiskInputError, match="after the tracker reached"):
        tracker.charge(0.001, date(2024, 3, 4))
    with pytest.raises(RiskInputError, match="non-negative"):
        tracker.charge(-0.001, date(2024, 3, 5))
    with pytest.raises(RiskInputError, match="non-negative"):
        tracker.charge(float("nan"), date(2024, 3, 5))
    with pytest.raises(RiskInputError):
        DailyBudgetTracker(budget=0.0)


def test_budget_usage_from_euler_contributions(last_year):
    from research.risk import LedoitWolf, euler_volatility

    cov = LedoitWolf().fit(last_year).covariance_
    names = list(last_year.columns)
    contributions = euler_volatility(np.full(20, 0.05), cov, names=names)
    allocation = allocate_risk_budget(contributions.total, {s: 1 / 20 for s in names})
    usage = budget_usage(contributions.as_dict(), allocation)
    assert usage.total_used == pytest.approx(contributions.total)
    # equal weights are not equal risk: the most volatile names overrun their share
    assert "AMD" in usage.breached and "KO" not in usage.breached
