"""Walk-forward: parameters chosen on the past only, a planted future signal not exploited,
IS and OOS reported apart; the deflated Sharpe ratio deflates a best-of-many selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.analytics.deflated_sharpe import deflated_sharpe_ratio, expected_max_sharpe
from research.analytics.vectorbt_path import FlatCosts
from research.strategies.walk_forward import walk_forward

INDEX = pd.bdate_range("2015-01-01", periods=600)


class HoldOne:
    """All in asset ``j``; refuses any close on or after the session it decides for."""

    def __init__(self, j: int):
        self.j = j

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        assert closes.index[-1] < pd.Timestamp(asof).normalize(), "a future close was passed"
        w = pd.Series(0.0, index=closes.columns)
        w.iloc[self.j] = 1.0
        return w


class ChaseLastMove:
    """All in the asset with the largest return on the last close it is shown: worthless
    when it sees only the past, a fortune if it ever saw the close it trades into."""

    def __init__(self, window: int):
        self.window = window

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        if len(closes) <= self.window:
            return pd.Series(1.0 / closes.shape[1], index=closes.columns)
        last = closes.iloc[-1] / closes.iloc[-1 - self.window] - 1
        return (last == last.max()).astype(float) / float((last == last.max()).sum())


def _closes(returns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=INDEX[: len(returns)],
                        columns=[f"A{j}" for j in range(returns.shape[1])])


def test_parameters_are_chosen_on_the_past_and_a_planted_future_regime_is_not_foreseen():
    rng = np.random.default_rng(0)
    returns = rng.normal(0, 0.005, (600, 4))
    returns[:, 0] += 0.0005      # steady: the best asset of the past
    returns[:300, 3] -= 0.002    # the worst of the past...
    returns[300:, 3] += 0.004    # ...and the best of the future
    result = walk_forward(_closes(returns), HoldOne, grid=[0, 1, 2, 3], first_test=300,
                          test_sessions=100, rebalance_every=21, costs=FlatCosts(0.0, 0.0))
    first = result.folds[0]
    assert first.chosen == 0  # only the past was seen: asset 3 looked worst
    assert first.test[0] == INDEX[300] and first.train[1] == INDEX[299]
    # the in-sample choice is the arg-max of the in-sample Sharpe ratios it reports
    for fold in result.folds:
        assert fold.in_sample_sharpe.idxmax() == fold.chosen
    assert set(result.in_sample) == set(result.out_of_sample) == {
        "sharpe", "cagr", "volatility", "max_drawdown"}
    assert result.out_of_sample_equity.index[0] == INDEX[299]
    assert result.out_of_sample_equity.index.is_unique
    assert len(result.table()) == len(result.folds) == 3


def test_a_signal_in_the_next_close_is_not_exploited():
    rng = np.random.default_rng(1)
    n, k = 500, 5
    returns = np.full((n, k), -0.0075)  # a random pick earns 0.03/5 - 0.0075*4/5 = 0
    jumper = rng.integers(0, k, n)
    returns[np.arange(n), jumper] = 0.03  # each day one random asset jumps: i.i.d.
    closes = _closes(returns)
    result = walk_forward(closes, ChaseLastMove, grid=[1], first_test=200, test_sessions=100,
                          rebalance_every=1, costs=FlatCosts(0.0, 0.0))
    # seeing the close it trades into would earn ~3% a day (e^(0.03*300) over 300 sessions);
    # from the past alone the pick is a lottery with an expected daily return of 0
    total = result.out_of_sample_equity.iloc[-1] / result.out_of_sample_equity.iloc[0] - 1
    assert abs(total) < 1.0, total
    daily = result.out_of_sample_equity.pct_change().dropna()
    assert abs(daily.mean()) < 3 * daily.std() / np.sqrt(len(daily))


def test_rolling_windows_and_bad_arguments():
    rng = np.random.default_rng(2)
    closes = _closes(rng.normal(0.0002, 0.01, (400, 3)))
    result = walk_forward(closes, HoldOne, grid=[0, 1, 2], first_test=200, test_sessions=100,
                          train_sessions=150, scheme="rolling")
    assert result.folds[0].train[0] == INDEX[50]
    with pytest.raises(ValueError, match="rolling scheme needs"):
        walk_forward(closes, HoldOne, grid=[0], first_test=200, test_sessions=50,
                     scheme="rolling")
    with pytest.raises(ValueError, match="duplicates"):
        walk_forward(closes, HoldOne, grid=[0, 0], first_test=200, test_sessions=50)


def test_deflated_sharpe_ratio_deflates_the_best_of_many_noise_strategies():
    rng = np.random.default_rng(3)
    trials = rng.normal(0, 0.01, (200, 500))  # 200 strategies without skill, 500 days
    sharpes = trials.mean(axis=1) / trials.std(axis=1, ddof=1)
    best = trials[int(np.argmax(sharpes))]
    # against zero (one trial) the best looks significant; deflated by 200 trials it is not
    z_naive = sharpes.max() * np.sqrt(499)
    assert z_naive > 1.645
    assert deflated_sharpe_ratio(best, sharpes) < 0.95  # not significant once deflated
    # SR0 grows with the number of trials
    assert expected_max_sharpe(sharpes[:10]) < expected_max_sharpe(sharpes)
    skilled = rng.normal(0.002, 0.01, 500)
    assert deflated_sharpe_ratio(skilled, sharpes) > 0.95
