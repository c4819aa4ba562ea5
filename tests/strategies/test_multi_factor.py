"""Multi-factor scores on a hand-built panel, z-scores, selection, caps, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.strategies import MultiFactor
from research.strategies._weights import capped_weights
from research.strategies.factor_scores import (
    factor_scores,
    low_volatility,
    momentum,
    reversal,
    zscores,
)


def _panel() -> pd.DataFrame:
    """Five closes per name; momentum window 4 with a 1-session skip, by hand:

    A: 100 110 120 130 117 -> momentum 130/100-1 = 0.30, reversal -(117/130-1) = 0.10
    B: 100  90  80  70  77 -> momentum -0.30,            reversal -(77/70-1)  = -0.10
    C: 100 100 100 100 100 -> momentum 0, reversal 0, volatility 0
    D: 100 105 110 115 120 -> momentum 0.15,             reversal -(120/115-1)
    """
    index = pd.bdate_range("2023-01-02", periods=5)
    return pd.DataFrame({"A": [100, 110, 120, 130, 117], "B": [100, 90, 80, 70, 77],
                         "C": [100.0] * 5, "D": [100, 105, 110, 115, 120]}, index=index,
                        dtype=float)


def test_factor_scores_match_the_hand_computed_values():
    closes = _panel()
    np.testing.assert_allclose(momentum(closes, 4, 1), [0.30, -0.30, 0.0, 0.15], atol=1e-12)
    np.testing.assert_allclose(reversal(closes, 1), [0.10, -0.10, 0.0, -(120 / 115 - 1)],
                               atol=1e-12)
    log_a = np.diff(np.log([100, 110, 120, 130, 117]))
    vol = low_volatility(closes, 4)
    assert vol["A"] == pytest.approx(-np.std(log_a, ddof=1), rel=1e-12)
    assert vol["C"] == 0.0  # a flat price has no volatility: the best low-vol score


def test_zscores_across_the_universe_and_within_sectors():
    score = pd.Series([1.0, 2.0, 3.0, 10.0, np.nan], index=list("abcde"))
    z = zscores(score)
    x = np.array([1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(z.iloc[:4], (x - x.mean()) / x.std(), rtol=1e-12)
    assert np.isnan(z["e"])
    within = zscores(score, {"a": "S1", "b": "S1", "c": "S1", "d": "S2", "e": "S2"})
    np.testing.assert_allclose(within.iloc[:3], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], rtol=1e-12)
    assert within["d"] == 0.0  # alone in its sector (e has no score): nothing to rank against


def test_top_n_by_combined_score_equal_and_score_weighted():
    closes = _panel()
    only_momentum = MultiFactor({"momentum": 1.0}, top_n=2, momentum_days=4, skip_days=1)
    w = only_momentum.fit(closes).weights_
    assert w.to_dict() == {"A": 0.5, "B": 0.0, "C": 0.0, "D": 0.5}
    scored = MultiFactor({"momentum": 1.0}, top_n=2, weighting="score", momentum_days=4,
                         skip_days=1).fit(closes)
    z = scored.combined_
    assert scored.weights_["A"] == pytest.approx(z["A"] / (z["A"] + z["D"]), rel=1e-12)
    # momentum and reversal at equal weight: A is first on both, B last on both
    both = MultiFactor({"momentum": 1.0, "reversal": 1.0}, top_n=1, momentum_days=4,
                       skip_days=1).fit(closes)
    assert both.weights_["A"] == 1.0


def test_position_cap_respreads_excess_and_leaves_cash_when_every_name_is_capped():
    np.testing.assert_allclose(capped_weights(np.array([0.7, 0.2, 0.1]), 0.5),
                               [0.5, 0.2 + 0.2 * 2 / 3, 0.1 + 0.2 / 3], rtol=1e-12)
    model = MultiFactor({"momentum": 1.0}, top_n=2, max_position_weight=0.4, momentum_days=4,
                        skip_days=1).fit(_panel())
    assert model.weights_.max() == pytest.approx(0.4)
    assert model.weights_.sum() == pytest.approx(0.8)  # two names at 40%: 20% stays in cash


def test_sector_neutral_ranks_each_name_against_its_own_sector():
    closes = _panel()
    sectors = {"A": "Tech", "B": "Tech", "C": "Energy", "D": "Energy"}
    model = MultiFactor({"momentum": 1.0}, top_n=2, sector_neutral=True, sectors=sectors,
                        momentum_days=4, skip_days=1).fit(closes)
    # the winner of each two-name sector scores +1: A (Tech) and D (Energy)
    assert model.combined_.to_dict() == pytest.approx({"A": 1.0, "B": -1.0, "C": -1.0, "D": 1.0})
    assert set(model.weights_[model.weights_ > 0].index) == {"A", "D"}
    with pytest.raises(ValueError, match="no sector for"):
        MultiFactor(sector_neutral=True, sectors={"A": "Tech"}, momentum_days=4,
                    skip_days=1).fit(closes)


def test_decision_uses_only_closes_before_its_date():
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2020-01-01", periods=400)
    closes = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 6)), axis=0)),
                          index=index, columns=list("ABCDEF"))
    model = MultiFactor(top_n=3)
    asof = index[300]
    before = model.target_weights(closes, asof)
    future = closes.copy()
    future.iloc[300:] *= np.linspace(0.1, 10, 6)  # rewrite the decision day and after
    pd.testing.assert_series_equal(model.target_weights(future, asof), before)
    pd.testing.assert_series_equal(before, MultiFactor(top_n=3).fit(closes.iloc[:300]).weights_)


def test_bad_parameters_and_short_history_are_clear_errors():
    closes = _panel()
    with pytest.raises(ValueError, match="needs 253 closes"):
        MultiFactor().fit(closes)
    with pytest.raises(ValueError, match="top_n"):
        MultiFactor(top_n=0, momentum_days=4, skip_days=1).fit(closes)
    with pytest.raises(ValueError, match="unknown factor"):
        factor_scores(closes, ["value"])
