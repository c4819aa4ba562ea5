"""Inverse-volatility and equal-weight targets: hand-computed weights and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.strategies import EqualWeight, InverseVolatility


def _alternating_closes(amplitudes: dict[str, float], n_days: int = 41) -> pd.DataFrame:
    """Log returns +a, -a, +a, ...: sample std over an even count n is a*sqrt(n/(n-1))."""
    index = pd.bdate_range("2022-01-03", periods=n_days)
    signs = np.where(np.arange(n_days - 1) % 2 == 0, 1.0, -1.0)
    out = {}
    for symbol, a in amplitudes.items():
        out[symbol] = 100.0 * np.exp(np.r_[0.0, np.cumsum(a * signs)])
    return pd.DataFrame(out, index=index)


def test_inverse_volatility_matches_hand_computed_weights():
    closes = _alternating_closes({"A": 0.01, "B": 0.02, "C": 0.04})
    model = InverseVolatility(lookback_days=20).fit(closes)
    # 1/sigma proportional to 1/a: 100, 50, 25 -> 4/7, 2/7, 1/7
    np.testing.assert_allclose(model.weights_.to_numpy(), [4 / 7, 2 / 7, 1 / 7], rtol=1e-12)
    np.testing.assert_allclose(model.volatility_["B"], 0.02 * np.sqrt(20 / 19), rtol=1e-12)
    assert model.excluded_ == []


def test_constructor_only_stores_parameters_and_fit_returns_self():
    model = InverseVolatility(lookback_days=5)
    assert vars(model) == {"lookback_days": 5}
    closes = _alternating_closes({"A": 0.01, "B": 0.02})
    assert model.fit(closes) is model


def test_target_weights_use_only_closes_strictly_before_the_decision_date():
    closes = _alternating_closes({"A": 0.01, "B": 0.02, "C": 0.04}, n_days=60)
    asof = pd.Timestamp(closes.index[40]).tz_localize("America/New_York") + pd.Timedelta(hours=10)
    model = InverseVolatility(lookback_days=20)
    before = model.target_weights(closes, asof)

    future = closes.copy()
    future.iloc[40:] *= np.random.default_rng(0).uniform(0.5, 2.0, size=future.iloc[40:].shape)
    pd.testing.assert_series_equal(model.target_weights(future, asof), before)

    past = closes.copy()  # the day before the decision *is* information: weights must move
    past.iloc[39, 0] *= 1.10
    assert not np.allclose(model.target_weights(past, asof), before)

    expected = InverseVolatility(lookback_days=20).fit(closes.iloc[:40]).weights_
    pd.testing.assert_series_equal(before, expected)


def test_symbol_without_full_window_gets_zero_weight():
    closes = _alternating_closes({"A": 0.01, "B": 0.02})
    closes.loc[closes.index[-5], "B"] = np.nan
    model = InverseVolatility(lookback_days=10).fit(closes)
    assert model.weights_["B"] == 0.0 and model.weights_["A"] == pytest.approx(1.0)
    assert model.excluded_ == ["B"]


def test_errors_name_the_problem():
    closes = _alternating_closes({"A": 0.01, "FLAT": 0.0})
    with pytest.raises(ValueError, match="zero volatility.*FLAT"):
        InverseVolatility(lookback_days=10).fit(closes)
    # a name whose data ended: its carried close is flat since its last bar, which is named
    ended = _alternating_closes({"A": 0.01, "GONE": 0.02})
    last = ended.index[-20]
    ended.loc[ended.index > last, "GONE"] = ended.loc[last, "GONE"]
    with pytest.raises(ValueError, match=f"GONE {last:%Y-%m-%d}.*no bars any more"):
        InverseVolatility(lookback_days=10).fit(ended)
    with pytest.raises(ValueError, match="needs 64 closes"):
        InverseVolatility().fit(closes.iloc[:30])


def test_equal_weight_over_priced_symbols():
    closes = _alternating_closes({"A": 0.01, "B": 0.02, "C": 0.03})
    closes.loc[: closes.index[30], "C"] = np.nan  # C lists on day 31
    asof = closes.index[20]
    weights = EqualWeight().target_weights(closes, asof)
    assert weights.to_dict() == {"A": 0.5, "B": 0.5, "C": 0.0}
    assert EqualWeight().fit(closes).weights_.to_dict() == pytest.approx(
        {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})
