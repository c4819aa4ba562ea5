from __future__ import annotations

import math

import numpy as np
import pytest
import skfolio.measures as skm
from scipy import integrate, stats

from research.risk import (
    InsufficientDataError,
    RiskInputError,
    cvar,
    horizon_returns,
    var,
    var_cvar,
)
from research.risk.tail_risk import cornish_fisher_var_cvar, ewma_variance


def test_aapl_full_history_reference_values(sp500_returns):
    aapl = sp500_returns["AAPL"]
    assert len(aapl) == 8312
    assert var(aapl) == pytest.approx(0.039568345, abs=5e-10)
    assert cvar(aapl) == pytest.approx(0.059240073, abs=5e-10)


def test_amd_reference_values(sp500_returns):
    # skfolio's own test suite: AMD VaR95 0.05453306, CVaR95 0.0852369
    assert var(sp500_returns["AMD"]) == pytest.approx(0.05453306, abs=5e-9)
    assert cvar(sp500_returns["AMD"]) == pytest.approx(0.0852369, abs=5e-8)


@pytest.mark.parametrize(
    ("n", "confidence"),
    [
        (n, c)
        for n in (20, 50, 99, 100, 101, 250, 252, 1000)
        for c in (0.9, 0.95, 0.975, 0.99)
        if (1 - c) * n >= 1  # a tail under one observation is refused by design
    ],
)
def test_matches_skfolio_measures(n, confidence):
    returns = np.random.default_rng(n).standard_t(4, size=n) * 0.01
    assert var(returns, confidence) == pytest.approx(
        skm.value_at_risk(returns, beta=confidence), abs=1e-15
    )
    assert cvar(returns, confidence) == pytest.approx(skm.cvar(returns, beta=confidence), abs=1e-15)


@pytest.mark.parametrize("n", [100, 252, 333])
def test_var_is_numpy_inverted_cdf_quantile_of_losses(n):
    returns = np.random.default_rng(7).normal(0, 0.01, size=n)
    expected = np.quantile(-returns, 0.95, method="inverted_cdf")
    assert var(returns) == expected


def test_hundred_observations_takes_sixth_largest_loss_and_mean_of_five():
    returns = -np.arange(1, 101) / 1000.0  # losses 0.001 .. 0.100
    assert var(returns) == pytest.approx(0.095)  # 6th largest loss
    assert cvar(returns) == pytest.approx(np.mean([0.100, 0.099, 0.098, 0.097, 0.096]))


def test_gaussian_matches_scipy_norm(rng):
    returns = rng.normal(0.0005, 0.012, size=500)
    mu, sd = returns.mean(), returns.std(ddof=1)
    for horizon in (1, 21):
        risk = var_cvar(returns, 0.95, "gaussian", horizon)
        dist = stats.norm(loc=mu * horizon, scale=sd * math.sqrt(horizon))
        assert risk.var == pytest.approx(-dist.ppf(0.05), rel=1e-12)
        expected_es = -dist.expect(lambda x: x, ub=dist.ppf(0.05)) / 0.05
        assert risk.cvar == pytest.approx(expected_es, rel=1e-7)


def test_cornish_fisher_without_skew_or_kurtosis_is_gaussian():
    v, c = cornish_fisher_var_cvar(0.001, 0.02, 0.0, 0.0, 0.99)
    assert v == pytest.approx(-(0.001 + 0.02 * stats.norm.ppf(0.01)), rel=1e-12)
    assert c == pytest.approx(
        -0.001 + 0.02 * stats.norm.pdf(stats.norm.ppf(0.99)) / 0.01, rel=1e-12
    )


def test_cornish_fisher_cvar_is_the_tail_mean_of_its_quantile_function():
    s, k, alpha = -0.6, 2.5, 0.05

    def z_cf(u: float) -> float:
        q = stats.norm.ppf(u)
        return q + (q * q - 1) * s / 6 + (q**3 - 3 * q) * k / 24 - (2 * q**3 - 5 * q) * s * s / 36

    tail_mean, _ = integrate.quad(z_cf, 0, alpha, limit=200)
    v, c = cornish_fisher_var_cvar(0.0, 1.0, s, k, 1 - alpha)
    assert v == pytest.approx(-z_cf(alpha), rel=1e-12)
    assert c == pytest.approx(-tail_mean / alpha, rel=1e-8)


def test_cornish_fisher_uses_population_moments(rng):
    returns = rng.standard_t(5, size=400) * 0.01
    skew, kurt = stats.skew(returns), stats.kurtosis(returns)  # 1/n moments, excess kurtosis
    expected, _ = cornish_fisher_var_cvar(returns.mean(), returns.std(ddof=1), skew, kurt, 0.95)
    assert var(returns, method="cornish_fisher") == pytest.approx(expected, rel=1e-12)


def test_equal_weight_worked_example_from_the_notes(last_year):
    # research notes, EW of 20 names over 2021-12-29 .. 2022-12-28 (computed there with numpy)
    book = last_year.to_numpy().mean(axis=1)
    assert var(book) == pytest.approx(0.021808, abs=5e-7)
    assert cvar(book) == pytest.approx(0.028610, abs=5e-7)
    assert var(book, method="gaussian") == pytest.approx(0.020953, abs=5e-7)
    assert cvar(book, method="gaussian") == pytest.approx(0.026314, abs=5e-7)
    assert var(book, method="cornish_fisher") == pytest.approx(0.021024, abs=5e-7)
    assert var(book, horizon=21) == pytest.approx(0.09994, abs=5e-6)
    assert var(book, method="gaussian", horizon=21) == pytest.approx(0.09360, abs=5e-6)
    assert var(book, horizon=21, scaling="overlapping") == pytest.approx(0.07876, abs=5e-6)


def test_sqrt_scaling_of_historical(rng):
    returns = rng.normal(0, 0.01, size=300)
    one = var_cvar(returns)
    ten = var_cvar(returns, horizon=10)
    assert ten.var == pytest.approx(one.var * math.sqrt(10))
    assert ten.cvar == pytest.approx(one.cvar * math.sqrt(10))


def test_overlapping_horizon_returns_compound():
    daily = np.array([0.01, -0.02, 0.03, 0.00, -0.01])
    three_day = horizon_returns(daily, 3)
    expected = [
        1.01 * 0.98 * 1.03 - 1,
        0.98 * 1.03 * 1.00 - 1,
        1.03 * 1.00 * 0.99 - 1,
    ]
    np.testing.assert_allclose(three_day, expected, rtol=1e-13)


def test_overlapping_historical_var_is_quantile_of_h_day_returns(rng):
    returns = rng.normal(0.0003, 0.01, size=260)
    windows = np.array([np.prod(1 + returns[i : i + 5]) - 1 for i in range(256)])
    expected = np.quantile(-windows, 0.95, method="inverted_cdf")
    assert var(returns, horizon=5, scaling="overlapping") == pytest.approx(expected, rel=1e-12)


def test_monte_carlo_is_seeded_and_converges_to_historical(rng):
    returns = rng.normal(0, 0.01, size=400)
    a = var_cvar(returns, method="monte_carlo", horizon=5, seed=3)
    b = var_cvar(returns, method="monte_carlo", horizon=5, seed=3)
    c = var_cvar(returns, method="monte_carlo", horizon=5, seed=4)
    assert a == b and a.var != c.var
    one_day = var(returns, method="monte_carlo", n_paths=400_000, seed=1)
    assert one_day == pytest.approx(var(returns), rel=0.02)


def test_monte_carlo_horizon_agrees_with_sqrt_rule_for_iid_normal(rng):
    returns = rng.normal(0, 0.01, size=2000)
    simulated = var(returns, method="monte_carlo", horizon=21, n_paths=50_000, seed=5)
    assert simulated == pytest.approx(var(returns, method="gaussian", horizon=21), rel=0.05)


def test_ewma_variance_filter_matches_a_hand_loop(rng):
    returns = rng.normal(0, 0.01, size=50)
    variance = ewma_variance(returns, 0.94)
    expected = [np.mean(returns**2)]
    for r in returns:
        expected.append(0.94 * expected[-1] + 0.06 * r * r)
    np.testing.assert_allclose(variance, expected, rtol=1e-12)


def test_fhs_reacts_to_a_recent_volatility_burst(rng):
    calm = rng.normal(0, 0.01, size=500)
    burst = np.concatenate([calm[:-20], rng.normal(0, 0.04, size=20)])
    settled = np.concatenate([rng.normal(0, 0.04, size=20), calm[20:]])  # same burst, long ago
    after_burst = var(burst, method="fhs", seed=2)
    long_after = var(settled, method="fhs", seed=2)
    assert after_burst > 2.0 * long_after
    # while plain historical VaR cannot tell the two apart
    assert var(burst) == pytest.approx(var(settled), rel=0.1)


def test_fhs_one_day_is_forecast_volatility_times_residual_quantile(rng):
    returns = rng.normal(0, 0.01, size=3000)
    variance = ewma_variance(returns)
    residuals = returns / np.sqrt(variance[:-1])
    expected = np.sqrt(variance[-1]) * np.quantile(-residuals, 0.95, method="inverted_cdf")
    fhs = var(returns, method="fhs", n_paths=200_000, seed=9)
    assert fhs == pytest.approx(expected, rel=0.02)
    # standardised residuals of i.i.d. normal returns have a ~N(0,1) tail
    assert expected / np.sqrt(variance[-1]) == pytest.approx(1.645, rel=0.08)


def test_nan_is_an_error_naming_the_position():
    with pytest.raises(RiskInputError, match="row 2"):
        var([0.01, -0.02, np.nan, 0.03] * 10)


def test_too_few_observations_for_the_tail():
    with pytest.raises(InsufficientDataError, match="at least 100"):
        var(np.linspace(-0.02, 0.02, 50), confidence=0.99)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "garch"}, "unknown VaR method"),
        ({"confidence": 1.0}, "confidence"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2, "scaling": "linear"}, "scaling"),
    ],
)
def test_bad_arguments(kwargs, message, rng):
    with pytest.raises(RiskInputError, match=message):
        var(rng.normal(size=100), **kwargs)


def test_two_dimensional_input_is_refused(last_year):
    with pytest.raises(RiskInputError, match="1-D"):
        var(last_year)


def test_constant_returns_have_no_parametric_var():
    with pytest.raises(RiskInputError, match="constant"):
        var(np.full(100, 0.001), method="gaussian")


def test_simulation_refuses_uncompoundable_returns():
    returns = np.r_[np.full(50, 0.01), -1.2]
    with pytest.raises(RiskInputError, match="-100%"):
        var(returns, method="monte_carlo")
    with pytest.raises(RiskInputError, match="all zero"):
        var(np.zeros(60), method="fhs")
