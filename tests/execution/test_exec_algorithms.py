from __future__ import annotations

import numpy as np
import pytest

from research.domain import Algorithm, OrderType, Side
from research.execution import (
    AlgoContext,
    ISAlgorithm,
    LimitAlgorithm,
    MarketAlgorithm,
    ParentOrder,
    POVAlgorithm,
    TWAPAlgorithm,
    VWAPAlgorithm,
    build_algorithm,
    volume_profile_from_history,
)


def ctx(elapsed, filled=0, working=0, qty=1000, cum_volume=0.0, side=Side.BUY, horizon=4,
        working_limit=0):
    return AlgoContext(bar_index=10 + elapsed, elapsed=elapsed, horizon_bars=horizon, side=side,
                       quantity=qty, filled=filled, working=working, bid=99.99, ask=100.01,
                       mid=100.0, last=100.0, bar_volume=1000.0, cum_volume=cum_volume,
                       working_limit=working_limit)


def run_schedule(algo, qty, bars, fill_share=1.0, volumes=None):
    """Children per bar when each child fills ``fill_share`` before the next bar."""
    filled, sent = 0, []
    cum = 0.0
    for k in range(bars):
        cum += volumes[k] if volumes is not None else 0.0
        d = algo.decide(ctx(k, filled, 0, qty, cum))
        q = d.child.quantity if d.child else 0
        sent.append(q)
        filled += int(q * fill_share)
    return sent


def test_twap_equal_slices_and_catch_up():
    assert TWAPAlgorithm(1000, 4).slices.tolist() == [250, 250, 250, 250]
    assert TWAPAlgorithm(10, 4).slices.tolist() == [3, 2, 3, 2]  # cumulative rounding
    assert run_schedule(TWAPAlgorithm(1000, 4), 1000, 4) == [250, 250, 250, 250]
    # half of every child fills: the next slice catches up the shortfall
    assert run_schedule(TWAPAlgorithm(1000, 4), 1000, 4, 0.5) == [250, 375, 438, 469]


def test_vwap_follows_a_known_profile_from_past_sessions():
    past = np.array([[40, 20, 20, 20], [20, 20, 20, 40]], dtype=float)
    profile = volume_profile_from_history(past)
    assert profile.tolist() == pytest.approx([0.3, 0.2, 0.2, 0.3])
    assert VWAPAlgorithm(1000, profile).slices.tolist() == [300, 200, 200, 300]
    with pytest.raises(ValueError, match="NaN"):
        volume_profile_from_history(np.array([[1.0, np.nan]]))


def test_pov_tracks_realised_volume():
    algo = POVAlgorithm(0.1)
    vols = [1000, 3000, 500, 10_000]
    assert run_schedule(algo, 1000, 4, volumes=vols) == [100, 300, 50, 550]
    assert algo.decide(ctx(4, 0, 0, 1000, 1e9, horizon=4)).child is None  # horizon over


def test_is_uses_the_almgren_chriss_trade_list():
    def schedule_fn(shares, horizon, periods):
        assert (shares, horizon, periods) == (1000, 4.0, 4)
        return np.array([400.0, 300.0, 200.0, 100.0])

    assert ISAlgorithm(1000, 4, schedule_fn).slices.tolist() == [400, 300, 200, 100]
    with pytest.raises(ValueError, match="4 finite trades"):
        ISAlgorithm(1000, 4, lambda s, h, p: np.ones(3))


def test_is_with_the_cost_package_matches_the_closed_form():
    pytest.importorskip("research.costs")
    sigma, eta, gamma, eps, lam = 0.3 * 50 / np.sqrt(250), 2.5e-6, 2.5e-7, 0.0625, 1e-6
    parent = ParentOrder("p", "AAA", Side.SELL, 1_000_000, Algorithm.IS, horizon_bars=5,
                         params={"sigma": sigma, "eta": eta, "gamma": gamma, "epsilon": eps,
                                 "risk_aversion": lam, "horizon": 5.0})
    algo = build_algorithm(parent)
    # Almgren-Chriss (2000) reference holdings 1e6, 542380.7, 290295.1, 148216.1, 62303.2, 0
    holdings = np.array([1e6, 542_380.7, 290_295.1, 148_216.1, 62_303.2, 0.0])
    np.testing.assert_allclose(algo.slices, -np.diff(holdings), atol=1.0)


def test_limit_places_passive_then_cancels_then_falls_back_to_market():
    algo = LimitAlgorithm(offset_bps=5.0, tif_bars=3, fallback_to_market=True)
    d = algo.decide(ctx(0))
    assert d.child.order_type is OrderType.LIMIT and d.child.limit_price == 99.95
    assert d.child.quantity == 1000 and d.wake_in_bars == 3
    sell = algo.decide(ctx(0, side=Side.SELL))
    assert sell.child.limit_price == 100.05
    assert algo.decide(ctx(1, working=1000, working_limit=1000)).child is None
    # a child the engine cut to the maximum notional: the rest is posted next bar
    d = algo.decide(ctx(1, working=400, working_limit=400))
    assert d.child.order_type is OrderType.LIMIT and d.child.quantity == 600
    d = algo.decide(ctx(3, filled=400, working=600, working_limit=600))
    assert d.cancel_working and d.child is None
    d = algo.decide(ctx(4, filled=400, working=0))
    assert d.child.order_type is OrderType.MARKET and d.child.quantity == 600
    # its market fallback cut in two: the first half working is not cancelled, the rest sent
    d = algo.decide(ctx(5, filled=400, working=300))
    assert not d.cancel_working and d.child.order_type is OrderType.MARKET
    assert d.child.quantity == 300
    no_fb = LimitAlgorithm(5.0, 3, fallback_to_market=False)
    assert no_fb.decide(ctx(4, filled=400)).child is None


def test_market_sends_everything_once():
    algo = MarketAlgorithm()
    assert algo.decide(ctx(0)).child.quantity == 1000
    assert algo.decide(ctx(1, working=1000)).child is None


def test_factory_names_missing_parameters():
    p = ParentOrder("p9", "AAA", Side.BUY, 100, Algorithm.VWAP, horizon_bars=3)
    with pytest.raises(ValueError, match="p9.*volume_profile"):
        build_algorithm(p)
