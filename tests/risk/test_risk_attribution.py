from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from skfolio.attribution import predicted_factor_attribution

from research.risk import (
    FactorModel,
    InsufficientDataError,
    LedoitWolf,
    RiskInputError,
    SampleCovariance,
    SingularCovarianceError,
    cvar,
    euler_gaussian,
    euler_historical,
    euler_volatility,
    factor_attribution,
    var,
)


@pytest.fixture
def book(last_year):
    weights = np.linspace(0.01, 0.09, 20)
    weights[3] = -0.05  # one short
    return pd.Series(weights, index=last_year.columns)


def test_volatility_contributions_sum_and_equal_the_gradient(last_year, book):
    cov = LedoitWolf().fit(last_year).covariance_
    result = euler_volatility(book, cov, names=list(last_year.columns))
    w = book.to_numpy()
    assert result.total == pytest.approx(math.sqrt(w @ cov @ w), rel=1e-14)
    assert result.contributions.sum() == pytest.approx(result.total, rel=1e-13)
    # Euler: w_i * dσ/dw_i by central differences, an independent route to the same numbers
    step = 1e-7
    gradient = np.array(
        [
            (
                math.sqrt((w + step * e) @ cov @ (w + step * e))
                - math.sqrt((w - step * e) @ cov @ (w - step * e))
            )
            / (2 * step)
            for e in np.eye(20)
        ]
    )
    np.testing.assert_allclose(result.contributions, w * gradient, rtol=1e-6, atol=1e-12)
    assert result.percent.sum() == pytest.approx(1.0)
    assert result.top(1)[0][0] == last_year.columns[int(np.argmax(result.contributions))]


@pytest.mark.parametrize("measure", ["var", "cvar"])
def test_gaussian_contributions_equal_the_portfolio_gaussian_figure(last_year, book, measure):
    # with the sample covariance and means, the Gaussian VaR of the book equals the
    # Gaussian VaR of its return series (same μ, same σ with ddof=1)
    cov = SampleCovariance().fit(last_year).covariance_
    mean = last_year.mean().to_numpy()
    result = euler_gaussian(
        book, cov, mean, confidence=0.95, horizon=21, measure=measure, names=list(last_year.columns)
    )
    series = last_year.to_numpy() @ book.to_numpy()
    expected = (var if measure == "var" else cvar)(series, 0.95, "gaussian", 21)
    assert result.total == pytest.approx(expected, rel=1e-12)
    assert result.contributions.sum() == pytest.approx(expected, rel=1e-12)


def test_historical_cvar_components_are_tail_averages_by_hand(rng):
    # 200 days at 95%: the tail is exactly the 10 worst days, no fractional observation
    returns = rng.normal(0, 0.01, size=(200, 4))
    weights = np.array([0.4, 0.3, -0.2, 0.5])
    portfolio = returns @ weights
    worst = np.argsort(portfolio)[:10]
    expected = -weights * returns[worst].mean(axis=0)
    result = euler_historical(weights, returns, confidence=0.95, measure="cvar")
    np.testing.assert_allclose(result.contributions, expected, rtol=1e-12)
    assert result.total == pytest.approx(cvar(portfolio), rel=1e-12)
    assert result.contributions.sum() == pytest.approx(result.total, rel=1e-12)


def test_historical_var_components_are_the_var_scenario(rng):
    returns = rng.normal(0, 0.01, size=(200, 4))
    weights = np.array([0.4, 0.3, -0.2, 0.5])
    portfolio = returns @ weights
    scenario = np.argsort(portfolio)[10]  # 11th worst day: VaR with k = 10
    result = euler_historical(weights, returns, confidence=0.95, measure="var")
    np.testing.assert_allclose(result.contributions, -weights * returns[scenario], rtol=1e-12)
    assert result.total == pytest.approx(var(portfolio), rel=1e-12)


@pytest.mark.parametrize("measure", ["var", "cvar"])
def test_historical_contributions_sum_on_real_data_with_fractional_tail(last_year, book, measure):
    # 252 days: k = 12.6, the 13th observation carries weight 0.6
    series = last_year.to_numpy() @ book.to_numpy()
    reference = (var if measure == "var" else cvar)(series, 0.95, horizon=21)
    result = euler_historical(book, last_year, confidence=0.95, horizon=21, measure=measure)
    assert result.total == pytest.approx(reference, rel=1e-12)
    assert result.contributions.sum() == pytest.approx(reference, rel=1e-12)


def test_historical_overlapping_contributions_sum(last_year, book):
    result = euler_historical(book, last_year, horizon=21, scaling="overlapping", measure="cvar")
    assert result.contributions.sum() == pytest.approx(result.total, rel=1e-12)
    # buy-and-hold h-day book returns are linear in the asset h-day returns
    growth = (1 + last_year).rolling(21).apply(np.prod, raw=True).dropna() - 1
    assert result.total == pytest.approx(cvar(growth.to_numpy() @ book.to_numpy()), rel=1e-10)


def test_contributions_of_an_empty_book_are_zero(last_year):
    cov = LedoitWolf().fit(last_year).covariance_
    result = euler_volatility(np.zeros(20), cov)
    assert result.total == 0.0 and not result.contributions.any()
    assert not np.isnan(result.percent).any()


def test_contribution_arrays_are_read_only(last_year, book):
    result = euler_historical(book, last_year)
    with pytest.raises(ValueError):
        result.contributions[0] = 1.0


# ---------------------------------------------------------------- factor model
@pytest.fixture(scope="module")
def factor_data(sp500_returns, factor_returns):
    assets = sp500_returns.loc[factor_returns.index[0] :].reindex(factor_returns.index)
    assert not assets.isna().any().any()
    return assets, factor_returns


def test_factor_loadings_equal_least_squares(factor_data):
    assets, factors = factor_data
    model = FactorModel().fit(assets, factors)
    design = np.column_stack([np.ones(len(factors)), factors.to_numpy()])
    coef, *_ = np.linalg.lstsq(design, assets.to_numpy(), rcond=None)
    np.testing.assert_allclose(model.intercept_, coef[0], atol=1e-12)
    np.testing.assert_allclose(model.loadings_, coef[1:].T, rtol=1e-8, atol=1e-10)
    assert model.factor_names_ == ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")
    assert np.all((model.r2_ > 0) & (model.r2_ < 1))


def test_factor_attribution_matches_skfolio(factor_data):
    assets, factors = factor_data
    model = FactorModel().fit(assets, factors)
    weights = np.full(20, 0.05)
    ours = factor_attribution(weights, model)
    theirs = predicted_factor_attribution(
        weights,
        model.loadings_,
        model.factor_covariance_,
        np.diag(model.specific_variance_),
        np.array(assets.columns),
        np.array(factors.columns),
        annualization_factor=1.0,
    )
    np.testing.assert_allclose(ours.factor_contributions, theirs.factors.vol_contrib, rtol=1e-10)
    np.testing.assert_allclose(ours.exposures, theirs.factors.exposure, rtol=1e-12)
    assert ours.specific_contribution == pytest.approx(theirs.idio.vol_contrib, rel=1e-10)
    assert ours.total_volatility == pytest.approx(theirs.total.vol_contrib, rel=1e-12)
    assert ours.factor_contributions.sum() + ours.specific_contribution == pytest.approx(
        ours.total_volatility, rel=1e-12
    )
    np.testing.assert_allclose(
        ours.asset_by_factor.sum(axis=0), ours.factor_contributions, rtol=1e-12
    )


def test_full_residual_covariance_reproduces_sample_variance(factor_data):
    assets, factors = factor_data
    model = FactorModel().fit(assets, factors)
    weights = np.linspace(-0.05, 0.1, 20)
    result = factor_attribution(weights, model, specific="full")
    book = assets.to_numpy() @ weights
    assert result.total_variance == pytest.approx(np.var(book, ddof=1), rel=1e-10)
    assert 0.0 < result.factor_share < 1.0


def test_collinear_factors_are_an_error(factor_data):
    assets, factors = factor_data
    doubled = factors.assign(MTUM2=factors["MTUM"] * 2.0)
    with pytest.raises(SingularCovarianceError, match="collinear"):
        FactorModel().fit(assets, doubled)


def test_misaligned_dates_are_an_error(factor_data):
    assets, factors = factor_data
    with pytest.raises(RiskInputError, match="not aligned"):
        FactorModel().fit(assets, factors.shift(1, freq="D"))
    with pytest.raises(RiskInputError, match="rows"):
        FactorModel().fit(assets.iloc[1:], factors)


def test_factor_model_errors(factor_data):
    assets, factors = factor_data
    broken = factors.copy()
    broken.iloc[10, 2] = np.nan
    with pytest.raises(RiskInputError, match="column 'SIZE'"):
        FactorModel().fit(assets, broken)
    with pytest.raises(InsufficientDataError):
        FactorModel().fit(assets.iloc[:5], factors.iloc[:5])
    with pytest.raises(RiskInputError, match="not fitted"):
        factor_attribution(np.ones(20) / 20, FactorModel())
