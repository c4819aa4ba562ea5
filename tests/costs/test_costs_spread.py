"""Spread estimators: recovery of a known spread, rolling windows, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.costs import (
    abdi_ranaldo,
    corwin_schultz,
    estimate_spreads,
    quoted_spread,
    roll,
    rolling_abdi_ranaldo,
    rolling_corwin_schultz,
    rolling_roll,
)


def test_corwin_schultz_recovers_one_percent(true_spread_bars):
    _, h, low, c = true_spread_bars
    assert corwin_schultz(h, low, c) == pytest.approx(0.01, rel=0.10)


def test_abdi_ranaldo_recovers_one_percent(true_spread_bars):
    _, h, low, c = true_spread_bars
    assert abdi_ranaldo(h, low, c) == pytest.approx(0.01, rel=0.10)


def test_estimators_see_no_spread_when_there_is_none(simulate_ohlc):
    _, h, low, c = simulate_ohlc(20_000, spread=0.0, daily_vol=0.03, seed=5)
    # Corwin-Schultz keeps a small positive bias (a discretely observed walk understates its
    # true range); Abdi-Ranaldo's square root magnifies noise around 0. Both stay far below
    # the 1% spread the other tests recover.
    assert corwin_schultz(h, low, c) < 0.003
    assert abdi_ranaldo(h, low, c) < 0.005


def test_corwin_schultz_overnight_adjustment_hand_computed():
    # day 1: H 102, L 98, C 101; day 2 gaps up: H 109, L 108 (its low is above day 1's
    # close). The adjustment shifts day 2 by C1/L2 = 101/108 (in logs) before the two-day
    # range is taken, so the overnight gap is not read as range.
    high, low, close = np.array([102.0, 109.0]), np.array([98.0, 108.0]), np.array([101.0, 108.5])
    k = 3 - 2 * np.sqrt(2)
    beta = np.log(102 / 98) ** 2 + np.log(109 / 108) ** 2
    gamma = np.log(max(102, 109 * 101 / 108) / min(98, 101)) ** 2
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
    expected = 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha))
    assert expected > 0.001  # a case where the floor at 0 does not hide the arithmetic
    assert corwin_schultz(high, low, close) == pytest.approx(expected, rel=1e-12)
    # without the adjustment the gap inflates the two-day range and the estimate collapses
    raw_gamma = np.log(109 / 98) ** 2
    assert (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(raw_gamma / k) < 0


def test_roll_recovers_spread_without_volatility():
    # pure bid-ask bounce around a fixed mid: Cov(dp_t, dp_t-1) = -S^2/4 exactly in expectation
    rng = np.random.default_rng(1)
    close = 100 * (1 + rng.choice([-1, 1], 20_000) * 0.005)
    assert roll(close) == pytest.approx(0.01, rel=0.03)


def test_rolling_equals_full_sample_on_the_window(simulate_ohlc):
    _, h, low, c = simulate_ohlc(300, spread=0.01, daily_vol=0.03, seed=2)
    w, t = 21, 150
    cs = rolling_corwin_schultz(h, low, c, w)
    ar = rolling_abdi_ranaldo(h, low, c, w)
    rr = rolling_roll(c, w)
    assert cs[t] == pytest.approx(corwin_schultz(h[t - w:t + 1], low[t - w:t + 1], c[t - w:t + 1]))
    assert ar[t] == pytest.approx(abdi_ranaldo(h[t - w:t + 1], low[t - w:t + 1], c[t - w:t + 1]))
    assert rr[t] == pytest.approx(roll(c[t - w - 1:t + 1]))
    assert np.isnan(cs[w - 1]) and np.isfinite(cs[w])
    assert np.isnan(rr[w]) and np.isfinite(rr[w + 1])


@pytest.mark.parametrize("estimator", ["cs", "ar", "roll"])
def test_rolling_estimators_have_no_look_ahead(estimator, simulate_ohlc):
    _, h, low, c = simulate_ohlc(200, spread=0.01, daily_vol=0.03, seed=4)
    run = {
        "cs": lambda hh, ll, cc: rolling_corwin_schultz(hh, ll, cc, 21),
        "ar": lambda hh, ll, cc: rolling_abdi_ranaldo(hh, ll, cc, 21),
        "roll": lambda hh, ll, cc: rolling_roll(cc, 21),
    }[estimator]
    before = run(h, low, c)
    t = 120
    h2, l2, c2 = h.copy(), low.copy(), c.copy()
    h2[t + 1:] *= 1.3  # rewrite every future bar
    l2[t + 1:] *= 0.8
    c2[t + 1:] *= 1.1
    after = run(h2, l2, c2)
    np.testing.assert_array_equal(before[: t + 1], after[: t + 1])
    assert not np.allclose(before[t + 1:], after[t + 1:], equal_nan=True)


def test_estimate_spreads_per_symbol_in_time_order(simulate_ohlc):
    _, h, low, c = simulate_ohlc(60, spread=0.01, daily_vol=0.03, seed=8)
    days = pd.date_range("2024-01-02 16:00", periods=60, freq="B", tz="America/New_York")
    a = pd.DataFrame({"timestamp": days, "symbol": "A", "high": h, "low": low, "close": c})
    b = a.assign(symbol="B", high=a["high"] * 2, low=a["low"] * 2, close=a["close"] * 2)
    bars = pd.concat([a, b]).sample(frac=1.0, random_state=0)  # shuffled rows
    out = estimate_spreads(bars, "abdi_ranaldo", window=10)
    expected = rolling_abdi_ranaldo(h, low, c, 10)
    got_a = out[bars["symbol"] == "A"].to_numpy()[np.argsort(bars.loc[bars["symbol"] == "A",
                                                                       "timestamp"].to_numpy())]
    np.testing.assert_allclose(got_a, expected, equal_nan=True)
    # a price level change does not change a relative spread
    np.testing.assert_allclose(out[bars["symbol"] == "B"].sort_index().to_numpy(),
                               out[bars["symbol"] == "A"].sort_index().to_numpy(), equal_nan=True)


def test_quoted_spread_and_crossed_quotes():
    np.testing.assert_allclose(quoted_spread([99.95, 10.0], [100.05, 10.02]),
                               [0.1 / 100.0, 0.02 / 10.01])
    with pytest.raises(ValueError, match="crossed quote at row 1"):
        quoted_spread([1.0, 2.0], [1.1, 1.9])


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive prices"):
        corwin_schultz([1.0, 0.0], [1.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="window"):
        rolling_roll(np.ones(10), 1)
    with pytest.raises(ValueError, match="unknown spread estimator"):
        estimate_spreads(pd.DataFrame(), "edge")


def _intraday_bounce_bars(n_days=30, per_day=120, trades=20, half=2e-4, vol=3e-4,
                          overnight=0.02, seed=5):
    """Minute-like bars from trades at bid/ask around a random-walk mid, with big overnight
    gaps: (high, low, close, session label) per bar."""
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    steps = rng.normal(0.0, vol / np.sqrt(trades), (n, trades))
    steps[::per_day, 0] += rng.normal(0.0, overnight, n_days)  # the gap opens each session
    mid = np.cumsum(steps.ravel()).reshape(n, trades)
    px = np.exp(mid + half * rng.choice([-1.0, 1.0], (n, trades)))
    return px.max(axis=1), px.min(axis=1), px[:, -1], np.repeat(np.arange(n_days), per_day)


def test_full_sample_estimators_leave_out_overnight_pairs_of_intraday_bars():
    # 1 bp half spread, 3 bps per bar, 3% overnight gaps: 30 overnight pairs among 3,600
    high, low, close, day = _intraday_bounce_bars(half=1e-4, vol=3e-4, overnight=0.03)
    truth = 2e-4
    assert abdi_ranaldo(high, low, close, day) == pytest.approx(truth, rel=0.15)
    assert roll(close, day) == pytest.approx(truth, rel=0.15)
    # unmasked, the overnight return pairs swamp Roll's autocovariance
    assert abs(roll(close) / truth - 1) > 0.5
    with pytest.raises(ValueError, match="label each"):
        roll(close, day[:-1])
