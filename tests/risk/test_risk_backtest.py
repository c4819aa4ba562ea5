from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from research.risk import (
    InsufficientDataError,
    RiskInputError,
    Zone,
    backtest_var,
    christoffersen,
    conditional_coverage,
    kupiec,
    rolling_var,
    traffic_light,
    traffic_light_bounds,
    transition_counts,
    var,
    var_exceptions,
)


# MathWorks varbacktest documentation examples (pof, cci)
def test_kupiec_reference_95():
    result = kupiec(1043, 57, 0.05)
    assert result.lr == pytest.approx(0.46147, abs=5e-6)
    assert result.pvalue == pytest.approx(0.49694, abs=5e-6)
    assert result.expected_exceptions == pytest.approx(52.15)


def test_kupiec_reference_99():
    result = kupiec(1043, 17, 0.01)
    assert result.lr == pytest.approx(3.5118, abs=5e-5)
    assert result.pvalue == pytest.approx(0.060933, abs=5e-7)
    assert not result.rejects(0.05) and result.rejects(0.10)


def test_kupiec_is_zero_at_the_expected_count_and_handles_no_exceptions():
    assert kupiec(1000, 50, 0.05).lr == pytest.approx(0.0, abs=1e-12)
    none = kupiec(250, 0, 0.01)
    assert none.lr == pytest.approx(-2 * 250 * np.log(0.99))
    assert np.isfinite(none.pvalue)


def test_christoffersen_reference():
    result = christoffersen(932, 53, 53, 4)
    assert result.lr == pytest.approx(0.25866, abs=5e-6)
    assert result.pvalue == pytest.approx(0.61104, abs=5e-6)
    assert result.pi01 == pytest.approx(53 / 985) and result.pi11 == pytest.approx(4 / 57)


def test_christoffersen_equals_a_contingency_likelihood_ratio():
    # independence LR is the G-test of the 2x2 transition table
    table = np.array([[900, 60], [50, 12]])
    g, p, *_ = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    result = christoffersen(*table.ravel())
    assert result.lr == pytest.approx(g, rel=1e-10)
    assert result.pvalue == pytest.approx(p, rel=1e-9)


def reference_series() -> np.ndarray:
    """1043 days, 57 exceptions: 4 runs of two and 49 single exceptions, none at the ends."""
    hits = np.zeros(1043, dtype=bool)
    starts = np.arange(53) * 19 + 5
    hits[starts] = True
    hits[starts[:4] + 1] = True
    return hits


def test_transition_counts_and_conditional_coverage_reference():
    hits = reference_series()
    assert hits.sum() == 57
    assert transition_counts(hits) == (932, 53, 53, 4)
    result = conditional_coverage(hits, 0.05)
    assert result.lr == pytest.approx(0.46147 + 0.25866, abs=1e-5)
    assert result.lr == pytest.approx(0.720130, abs=5e-6)
    assert result.pvalue == pytest.approx(0.697631, abs=5e-6)
    assert result.dof == 2


def test_basel_traffic_light_at_250_days_99_percent():
    assert traffic_light_bounds(250, 0.01) == (4, 9)
    zones = [traffic_light(250, x, 0.01).zone for x in range(15)]
    assert zones == [Zone.GREEN] * 5 + [Zone.YELLOW] * 5 + [Zone.RED] * 5
    assert traffic_light(250, 4, 0.01).cumulative_probability == pytest.approx(0.8922, abs=5e-5)


@pytest.mark.parametrize(("n", "green", "yellow"), [(250, 17, 26), (252, 18, 26)])
def test_traffic_light_generalised_to_95_percent(n, green, yellow):
    assert traffic_light_bounds(n, 0.05) == (green, yellow)


def test_exceptions_are_losses_beyond_var():
    returns = np.array([-0.03, 0.01, -0.02, -0.021])
    forecasts = np.array([0.02, 0.02, 0.02, 0.02])
    np.testing.assert_array_equal(var_exceptions(returns, forecasts), [True, False, False, True])


def test_rolling_var_has_no_look_ahead(rng):
    returns = rng.normal(0, 0.01, size=400)
    forecasts = rolling_var(returns, window=252, confidence=0.95)
    assert forecasts.shape == (148,)
    # the forecast for day 252 + t uses returns[t : t + 252] only
    for t in (0, 50, 147):
        assert forecasts[t] == pytest.approx(var(returns[t : t + 252], 0.95))
    gaussian = rolling_var(returns, window=252, confidence=0.95, method="gaussian")
    assert gaussian[10] == pytest.approx(var(returns[10:262], 0.95, method="gaussian"))
    cornish = rolling_var(returns[:260], window=252, confidence=0.95, method="cornish_fisher")
    assert cornish[3] == pytest.approx(var(returns[3:255], 0.95, method="cornish_fisher"))


def test_correct_model_passes_and_an_understated_one_fails(rng):
    returns = rng.normal(0, 0.01, size=2252)
    forecasts = rolling_var(returns, window=252, confidence=0.99, method="gaussian")
    good = backtest_var(returns[252:], forecasts, 0.99)
    assert good.n_obs == 2000
    assert abs(good.n_exceptions - 20) < 12
    assert not good.kupiec.rejects(0.01)
    bad = backtest_var(returns[252:], forecasts * 0.6, 0.99)
    assert bad.kupiec.rejects(0.01) and bad.traffic_light.zone is Zone.RED


def test_clustered_exceptions_fail_independence():
    hits = np.zeros(1000, dtype=bool)
    hits[100:110] = hits[500:510] = hits[800:810] = True  # 30 exceptions in 3 clusters
    assert kupiec(1000, 30, 0.03).lr == pytest.approx(0.0, abs=1e-9)
    assert christoffersen(*transition_counts(hits)).rejects(0.001)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kupiec(100, 101, 0.05), "n_exceptions"),
        (lambda: kupiec(100, 5, 1.5), "p must be"),
        (lambda: kupiec(100, -1, 0.05), "non-negative"),
        (lambda: christoffersen(0, 0, 0, 0), "transition"),
        (lambda: christoffersen(1.5, 0, 0, 1), "whole number"),
        (lambda: var_exceptions([0.01, np.nan], [0.02, 0.02]), "NaN"),
        (lambda: var_exceptions([0.01, 0.02], [0.02]), "align"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(RiskInputError, match=message):
        call()


def test_window_longer_than_history():
    with pytest.raises(InsufficientDataError):
        rolling_var(np.zeros(100) + 0.01, window=252)


# ------------------------------------------------------------------ expected shortfall (Z2)
def test_z2_by_hand():
    from research.risk import acerbi_szekely_z2

    # one exception (-5% beyond a 3% VaR) against ES 4%, T = 4, alpha = 25%:
    # Z2 = (-0.05 / 0.04) / (4 * 0.25) + 1 = -0.25
    z2, hits = acerbi_szekely_z2([-0.05, 0.01, -0.02, 0.03], [0.03] * 4, [0.04] * 4, 0.75)
    assert (z2, hits) == (pytest.approx(-0.25), 1)
    # day-varying forecasts: only day 0 is an exception (-4% is inside day 1's 5% VaR);
    # Z2 = (-0.05 / 0.04) / (4 * 0.5) + 1 = 0.375
    z2, hits = acerbi_szekely_z2([-0.05, -0.04, 0.01, 0.02], [0.03, 0.05, 0.03, 0.03],
                                 [0.04, 0.06, 0.05, 0.05], 0.5)
    assert (z2, hits) == (pytest.approx(0.375), 1)


def test_z2_critical_value_matches_acerbi_szekely():
    """Acerbi & Szekely (2014): at alpha = 2.5% and T = 250 the 5% critical value of Z2 is
    about -0.70 (Gaussian and Student-t alike)."""
    from research.risk import backtest_expected_shortfall

    flat = np.zeros(250)
    for df in (None, 5):
        test = backtest_expected_shortfall(flat, np.full(250, 0.02), np.full(250, 0.03),
                                           0.975, df=df, n_sims=20000, seed=1)
        assert test.critical_value == pytest.approx(-0.70, abs=0.04), df
    assert test.distribution == "student_t(5)" and test.n_sims == 20000
    again = backtest_expected_shortfall(flat, np.full(250, 0.02), np.full(250, 0.03), 0.975,
                                        df=5, n_sims=20000, seed=1)
    assert again == test  # seeded


def test_es_test_passes_a_true_forecast_and_rejects_an_understated_one(rng):
    from scipy import stats

    from research.risk import backtest_expected_shortfall

    n, alpha, df = 1000, 0.025, 5
    scale = np.exp(rng.normal(-4.5, 0.3, n))  # a different volatility every day
    returns = scale * rng.standard_t(df, n)
    t = stats.t.ppf(alpha, df)
    var_f = -t * scale
    es_f = scale * stats.t.pdf(t, df) * (df + t * t) / (df - 1) / alpha
    good = backtest_expected_shortfall(returns, var_f, es_f, 1 - alpha, df=df, seed=2)
    assert not good.rejects() and good.pvalue > 0.05
    bad = backtest_expected_shortfall(returns, var_f * 0.6, es_f * 0.6, 1 - alpha, df=df,
                                      seed=2)
    assert bad.rejects() and bad.z2 < good.z2 and bad.n_exceptions > good.n_exceptions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"es_forecasts": [0.02, 0.0]}, "ES forecasts must be positive"),
        ({"var_forecasts": [0.02]}, "align"),
        ({"level": 0.7}, "level"),
        ({"df": 2}, "df must be above 2"),
        ({"n_sims": 10}, "n_sims"),
    ],
)
def test_es_test_bad_input(kwargs, message):
    from research.risk import backtest_expected_shortfall

    args = {"returns": [-0.03, 0.01], "var_forecasts": [0.02, 0.02],
            "es_forecasts": [0.03, 0.03], "confidence": 0.975, **kwargs}
    with pytest.raises(RiskInputError, match=message):
        backtest_expected_shortfall(**args)
