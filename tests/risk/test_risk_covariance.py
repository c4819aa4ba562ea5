from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.covariance import LedoitWolf as SklearnLedoitWolf

from research.risk import (
    EWMACovariance,
    InsufficientDataError,
    LedoitWolf,
    RiskInputError,
    SampleCovariance,
    SingularCovarianceError,
    covariance_to_correlation,
)


@pytest.mark.parametrize("rows", [slice(-252, None), slice(None), slice(-12, None)])
def test_ledoit_wolf_equals_sklearn(sp500_returns, rows):
    # last year, the full 8312-day history, and 12 days for 20 assets (n < p)
    sample = sp500_returns.iloc[rows]
    ours = LedoitWolf().fit(sample)
    reference = SklearnLedoitWolf().fit(sample)
    assert ours.shrinkage_ == pytest.approx(reference.shrinkage_, abs=1e-10)
    np.testing.assert_allclose(ours.covariance_, reference.covariance_, rtol=0, atol=1e-10)
    # relative agreement too, since daily covariances are ~1e-4
    np.testing.assert_allclose(ours.covariance_, reference.covariance_, rtol=1e-9)
    np.testing.assert_allclose(ours.location_, reference.location_, rtol=1e-12)


def test_ledoit_wolf_known_shrinkage_on_last_year(last_year):
    # reference figure from the research notes (sklearn 1.9 on skfolio's data)
    assert LedoitWolf().fit(last_year).shrinkage_ == pytest.approx(0.0315082, abs=1e-7)


def test_ledoit_wolf_assume_centered_equals_sklearn(rng):
    x = rng.normal(0.001, 0.02, size=(60, 8))
    ours = LedoitWolf(assume_centered=True).fit(x)
    reference = SklearnLedoitWolf(assume_centered=True).fit(x)
    np.testing.assert_allclose(ours.covariance_, reference.covariance_, rtol=1e-10)
    assert ours.shrinkage_ == pytest.approx(reference.shrinkage_, abs=1e-12)


def test_sample_covariance_equals_numpy(rng):
    x = rng.normal(0, 0.01, size=(100, 5))
    np.testing.assert_allclose(SampleCovariance().fit(x).covariance_, np.cov(x, rowvar=False))
    np.testing.assert_allclose(
        SampleCovariance(ddof=0).fit(x).covariance_, np.cov(x, rowvar=False, ddof=0)
    )


def test_sample_correlation_equals_corrcoef(last_year):
    estimator = SampleCovariance().fit(last_year)
    np.testing.assert_allclose(
        estimator.correlation_, np.corrcoef(last_year.to_numpy(), rowvar=False), atol=1e-12
    )
    assert estimator.feature_names_in_ == tuple(last_year.columns)


def test_ewma_equals_pandas_ewm(last_year):
    halflife = 20.0
    ours = EWMACovariance(halflife=halflife).fit(last_year).covariance_
    pandas_cov = last_year.ewm(halflife=halflife).cov(bias=True).iloc[-20:].to_numpy()
    np.testing.assert_allclose(ours, pandas_cov, rtol=1e-9, atol=1e-16)


def test_ewma_weights_halve_every_halflife():
    estimator = EWMACovariance(halflife=10).fit(np.random.default_rng(1).normal(size=(50, 2)))
    weights = estimator.weights_
    assert weights.sum() == pytest.approx(1.0)
    assert weights[-1] / weights[-11] == pytest.approx(2.0)


def test_estimators_clone_like_sklearn():
    estimator = EWMACovariance(halflife=5.0)
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == {
        "halflife": 5.0,
        "assume_centered": False,
    }
    assert LedoitWolf().set_params(assume_centered=True).assume_centered is True


def test_nan_returns_name_row_and_column(last_year):
    broken = last_year.copy()
    broken.iloc[5, 3] = np.nan
    with pytest.raises(RiskInputError, match=r"NaN.*column 'BBY'") as info:
        LedoitWolf().fit(broken)
    assert str(broken.index[5]) in str(info.value)


@pytest.mark.parametrize("estimator", [SampleCovariance(), EWMACovariance(halflife=10)])
def test_fewer_observations_than_assets_is_an_error(last_year, estimator):
    with pytest.raises(InsufficientDataError, match="10 observations for 20 assets"):
        estimator.fit(last_year.iloc[:10])


def test_ledoit_wolf_accepts_short_history_but_not_a_single_row(last_year):
    assert LedoitWolf().fit(last_year.iloc[:10]).covariance_.shape == (20, 20)
    with pytest.raises(InsufficientDataError):
        LedoitWolf().fit(last_year.iloc[:1])


def test_zero_variance_asset_has_no_correlation():
    x = np.column_stack([np.random.default_rng(0).normal(size=30), np.full(30, 0.001)])
    estimator = SampleCovariance().fit(pd.DataFrame(x, columns=["SPY", "CASH"]))
    with pytest.raises(SingularCovarianceError, match="CASH"):
        _ = estimator.correlation_


def test_correlation_of_a_known_matrix():
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    np.testing.assert_allclose(covariance_to_correlation(cov), [[1.0, 0.6], [0.6, 1.0]])
