"""The simulated broker's spread sources: sim.response.half_spread_path and its use by the
broker (market orders on bars without quotes pay the path's half spread)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sim_helpers import NY

from research.config import SimulationSettings
from research.domain import Order, Side
from sim import BarReplay, SimulatedBroker
from sim.response import BAR_SPREAD_ESTIMATORS, SPREAD_SOURCES, half_spread_path

FALLBACK = 1.5e-4
TRUE_HALF = 5e-4  # 10 bps quoted spread


def bounce_bars(n_bars=1200, n_symbols=4, trades_per_bar=50, half_spread=TRUE_HALF,
                sigma_bar=2e-4, seed=0):
    """Bars built from trades that bounce between bid and ask around an efficient price.

    The efficient (log) price is a Gaussian random walk with ``sigma_bar`` per bar spread over
    ``trades_per_bar`` trades; each trade prints at mid x (1 +/- half_spread) with a random
    sign; the bar's open/high/low/close are its first, highest, lowest and last trade."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, sigma_bar / np.sqrt(trades_per_bar),
                       (n_bars * trades_per_bar, n_symbols))
    mid = 100.0 * np.exp(np.cumsum(steps, axis=0)).reshape(n_bars, trades_per_bar, n_symbols)
    side = rng.choice([-1.0, 1.0], size=mid.shape)
    trades = mid * (1.0 + side * half_spread)
    return trades.max(axis=1), trades.min(axis=1), trades[:, -1], trades[:, 0]


# ------------------------------------------------------------------- recovery of the spread
# Tolerances: with 50 trades per bar and a spread 2.5x the bar volatility the estimators'
# assumptions nearly hold; Corwin-Schultz still reads a discretely sampled range as slightly
# too narrow (it is ~5% low here, more with fewer trades per bar: a known property), the other
# two are unbiased. Per-bar estimates use one session (390 pairs) and so carry sampling noise.
@pytest.mark.parametrize(("source", "mean_tol", "bar_tol"), [
    ("corwin_schultz", 0.10, 0.15),
    ("abdi_ranaldo", 0.03, 0.10),
    ("roll", 0.05, 0.25),
])
def test_each_estimator_recovers_a_known_spread_from_bouncing_trades(source, mean_tol, bar_tol):
    high, low, close, _ = bounce_bars()
    path = half_spread_path(source, high, low, close, FALLBACK)
    settled = path[390:] / TRUE_HALF  # after a full window of pairs
    assert settled.mean() == pytest.approx(1.0, abs=mean_tol)
    # nearly every bar's estimate is within bar_tol of the truth
    assert np.mean(np.abs(settled - 1.0) < bar_tol) > 0.95


def test_estimators_see_no_spread_in_mid_priced_bars():
    # The same efficient price with no bounce (as qlab's synthetic minute bars): the estimates
    # are far below the 10 bps the bouncing version shows, and Roll is often undefined.
    high, low, close, _ = bounce_bars(half_spread=0.0)
    for source in BAR_SPREAD_ESTIMATORS:
        path = half_spread_path(source, high, low, close, np.nan)[390:]
        assert np.nanmedian(path) < 0.3 * TRUE_HALF, source
    roll = half_spread_path("roll", high, low, close, np.nan)[390:]
    assert np.isnan(roll).mean() > 0.2  # autocovariance >= 0: fallback


# ------------------------------------------------------------------ a direct reference
def reference_path(source, high, low, close, window, min_pairs):
    """Bar by bar, the textbook formulas on the pairs that closed before bar t."""
    lh, ll, lc = np.log(high), np.log(low), np.log(close)
    out = np.full(close.shape, FALLBACK)
    for t in range(close.shape[0]):
        ks = range(max(1, t - window), t)  # pair k = bars (k-1, k), closed by bar k <= t-1
        if source == "roll":
            ks = [k for k in ks if k >= 2]
        if len(ks) < min_pairs:
            continue
        for s in range(close.shape[1]):
            if source == "corwin_schultz":
                vals = []
                for k in ks:
                    h1, l1, c1 = lh[k - 1, s], ll[k - 1, s], lc[k - 1, s]
                    gap = max(0.0, c1 - lh[k, s]) + min(0.0, c1 - ll[k, s])
                    h2, l2 = lh[k, s] + gap, ll[k, s] + gap
                    beta = (h1 - l1) ** 2 + (h2 - l2) ** 2
                    gamma = (max(h1, h2) - min(l1, l2)) ** 2
                    kk = 3 - 2 * np.sqrt(2)
                    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / kk - np.sqrt(gamma / kk)
                    vals.append(2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha)))
                half = np.mean(vals) / 2
            elif source == "abdi_ranaldo":
                eta = (lh[:, s] + ll[:, s]) / 2
                sq = np.mean([4 * (lc[k - 1, s] - eta[k - 1]) * (lc[k - 1, s] - eta[k])
                              for k in ks])
                half = np.sqrt(sq) / 2 if sq > 0 else np.nan
            else:
                r = np.diff(lc[:, s])
                cov = np.cov([r[k - 1] for k in ks], [r[k - 2] for k in ks])[0, 1]
                half = np.sqrt(-cov) if cov < 0 else np.nan
            if np.isfinite(half) and half > 0:
                out[t, s] = half
    return out


@pytest.mark.parametrize("source", BAR_SPREAD_ESTIMATORS)
def test_vectorised_path_matches_the_formulas_bar_by_bar(source):
    high, low, close, _ = bounce_bars(n_bars=80, n_symbols=2, trades_per_bar=5, seed=3)
    close[40, 1] *= 1.004  # a jump: exercises the Corwin-Schultz gap adjustment
    high[40, 1], low[40, 1] = max(high[40, 1], close[40, 1]), low[40, 1] * 1.004
    got = half_spread_path(source, high, low, close, FALLBACK, window=20, min_pairs=6)
    want = reference_path(source, high, low, close, window=20, min_pairs=6)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=0)


# ------------------------------------------------------------------ no look-ahead, fallback
@pytest.mark.parametrize("source", BAR_SPREAD_ESTIMATORS)
def test_no_look_ahead_bar_t_changes_only_later_estimates(source):
    high, low, close, _ = bounce_bars(n_bars=500, n_symbols=3)
    before = half_spread_path(source, high, low, close, FALLBACK, window=100)
    t = 300
    high, low, close = high.copy(), low.copy(), close.copy()
    high[t:] *= 1.03  # bar t and everything after it: a wider bar t, then a jump
    low[t] *= 0.99
    low[t + 1:] *= 1.03
    close[t:] *= 1.02
    after = half_spread_path(source, high, low, close, FALLBACK, window=100)
    np.testing.assert_array_equal(after[:t + 1], before[:t + 1])  # bit for bit
    assert not np.array_equal(after[t + 1:], before[t + 1:])  # bar t is used from t+1 on


@pytest.mark.parametrize("source", BAR_SPREAD_ESTIMATORS)
def test_fallback_until_enough_pairs_and_where_there_is_no_data(source):
    high, low, close, _ = bounce_bars(n_bars=200, n_symbols=2)
    high[:, 1] = low[:, 1] = close[:, 1] = np.nan  # a symbol that never trades
    path = half_spread_path(source, high, low, close, FALLBACK, window=40, min_pairs=10)
    first = 12 if source == "roll" else 11  # first bar with 10 closed pairs
    assert (path[:first] == FALLBACK).all()
    assert (path[first:, 0] != FALLBACK).all()
    assert (path[:, 1] == FALLBACK).all()


def test_fallback_where_each_estimate_is_undefined():
    rng = np.random.default_rng(5)
    n = 300
    # Trending returns (positive autocovariance): Roll undefined everywhere.
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = 0.8 * r[t - 1] + rng.normal(0, 1e-3)
    trend = 100 * np.exp(np.cumsum(r))
    assert (half_spread_path("roll", trend, trend, trend, FALLBACK, window=100) == FALLBACK).all()
    # Bars without range (high = low = close): Abdi-Ranaldo's moment is 0, Corwin-Schultz's
    # negative (the two-bar range exceeds the one-bar ranges): both fall back.
    for source in ("abdi_ranaldo", "corwin_schultz"):
        assert (half_spread_path(source, trend, trend, trend, FALLBACK) == FALLBACK).all()
    # quotes: the fallback everywhere (the fill itself uses the bid/ask where a bar has them)
    assert (half_spread_path("quotes", trend, trend, trend, FALLBACK) == FALLBACK).all()
    with pytest.raises(ValueError, match="unknown spread source"):
        half_spread_path("effective", trend, trend, trend, FALLBACK)
    with pytest.raises(ValueError, match="window"):
        half_spread_path("roll", trend, trend, trend, FALLBACK, window=1)


# ------------------------------------------------------------------------ the broker
def bounce_replay(n_bars=120, quotes=False):
    high, low, close, open_ = bounce_bars(n_bars=n_bars, n_symbols=2, seed=9)
    ts = [datetime(2024, 3, 4, 10, 0, tzinfo=NY) + timedelta(minutes=i) for i in range(n_bars)]
    kw = {"bid": close * (1 - 2e-4), "ask": close * (1 + 2e-4)} if quotes else {}
    return BarReplay.from_arrays(ts, ("AAA", "BBB"), open=open_, high=high, low=low,
                                 close=close, volume=np.full_like(close, 1e9), **kw)


@pytest.mark.parametrize("source", SPREAD_SOURCES)
def test_broker_prices_a_market_order_with_the_paths_half_spread(source):
    rp = bounce_replay()
    # no permanent impact and a negligible temporary one: the fill price is close x (1 +/- h)
    settings = SimulationSettings(spread_source=source, impact_y=1e-12, permanent_impact=0.0)
    b = SimulatedBroker(rp, settings, fallback_half_spread_bps=1.5, spread_window_bars=40)
    fallback = b.fallback_half_spread  # 1.5 bps as a fraction
    path = half_spread_path(source, rp.high, rp.low, rp.close, fallback, window=40)
    np.testing.assert_array_equal(b.half_spread_path, path)
    with pytest.raises(ValueError):
        b.half_spread_path[0, 0] = 1.0  # read-only
    t = 100
    for k in range(t):
        b.process_bar(k)
    b.submit(Order("B", "AAA", Side.BUY, 10))
    b.submit(Order("S", "BBB", Side.SELL, 10))
    b.process_bar(t)
    (buy,), (sell,) = b.fills(["B"]), b.fills(["S"])
    assert buy.price == pytest.approx(rp.close[t, 0] * (1 + path[t, 0]), rel=1e-12)
    assert sell.price == pytest.approx(rp.close[t, 1] * (1 - path[t, 1]), rel=1e-12)
    if source == "quotes":
        assert path[t, 0] == fallback
    else:  # the estimate, not the fallback, and near the 5 bps half spread of the bars
        assert path[t, 0] != fallback and abs(path[t, 0] / TRUE_HALF - 1) < 0.35


@pytest.mark.parametrize("source", BAR_SPREAD_ESTIMATORS)
def test_broker_quotes_win_over_the_bar_estimate(source):
    rp = bounce_replay(quotes=True)
    settings = SimulationSettings(spread_source=source, impact_y=1e-12, permanent_impact=0.0)
    b = SimulatedBroker(rp, settings, spread_window_bars=40)
    for k in range(100):
        b.process_bar(k)
    b.submit(Order("B", "AAA", Side.BUY, 10))
    b.process_bar(100)
    assert b.fills(["B"])[0].price == pytest.approx(rp.ask[100, 0], rel=1e-12)
