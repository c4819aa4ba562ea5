"""Impact laws against hand-computed cases (numbers worked out in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.costs import (
    CostModel,
    TimeOfDayProfile,
    almgren_permanent_impact,
    almgren_temporary_impact,
    square_root_impact,
)


def test_square_root_law_hand_computed():
    # 10,000 of 1,000,000 shares a day = 1% of ADV; sigma 2%; Y = 0.7:
    # 0.7 * 0.02 * sqrt(0.01) = 0.0014 = 14 bps. Y = 1, sigma 3%, 25% ADV: 0.03 * 0.5 = 150 bps.
    got = square_root_impact([10_000, 250_000], [1e6, 1e6], [0.02, 0.03], y=np.array([0.7, 1.0]))
    np.testing.assert_allclose(got, [14.0, 150.0], rtol=1e-12)


def test_square_root_law_is_side_free_and_scales_with_sqrt_size():
    one = square_root_impact(10_000, 1e6, 0.02)
    assert square_root_impact(-10_000, 1e6, 0.02) == pytest.approx(one)
    assert square_root_impact(40_000, 1e6, 0.02) == pytest.approx(2 * one)


@pytest.mark.parametrize("u, days, ratio, perm_bps, temp_bps", [
    # Almgren et al. 2005 worked cases (sigma = 25%/16 = 1.5625%/day), see anchors_costs.md §2:
    # I = 0.314 * 0.015625 * u * ratio^0.25 ; temp = 0.142 * 0.015625 * (u / T)^0.6
    (0.10, 0.5, 200.0, 18.45, 8.45),
    (0.10, 1.0, 200.0, 18.45, 5.57),
    (0.01, 0.1, 200.0, 1.85, 5.57),
    (0.05, 0.25, 100.0, 7.76, 8.45),
])
def test_almgren_2005_worked_examples(u, days, ratio, perm_bps, temp_bps):
    adv, sigma = 1e6, 0.25 / 16
    temp = almgren_temporary_impact(u * adv, adv, sigma, days)
    perm = almgren_permanent_impact(u * adv, adv, sigma, shares_outstanding=ratio * adv)
    assert temp == pytest.approx(temp_bps, abs=0.005)
    assert perm == pytest.approx(perm_bps, abs=0.005)


def test_almgren_total_cost_of_the_paper_example_is_17_67_bps():
    adv, sigma = 1e6, 0.015625
    temp = almgren_temporary_impact(1e5, adv, sigma, 0.5)
    perm = almgren_permanent_impact(1e5, adv, sigma, shares_outstanding=2e8)
    assert perm / 2 + temp == pytest.approx(17.67, abs=0.005)


def test_almgren_exact_formula_values():
    # 0.142 * 0.02 * (0.05 / 0.25)^0.6 = 0.00284 * 0.2^0.6 ; 0.2^0.6 = exp(0.6 ln 0.2)
    expected = 1e4 * 0.142 * 0.02 * np.exp(0.6 * np.log(0.2))
    assert almgren_temporary_impact(50_000, 1e6, 0.02, 0.25) == pytest.approx(expected, rel=1e-12)
    # unknown shares outstanding: Theta/V = 200 -> 200^0.25 = 3.7606
    expected_perm = 1e4 * 0.314 * 0.02 * 0.05 * 200**0.25
    got = almgren_permanent_impact([50_000, 50_000], [1e6, 1e6], [0.02, 0.02],
                                   shares_outstanding=[np.nan, 2e8])
    np.testing.assert_allclose(got, [expected_perm, expected_perm], rtol=1e-12)


def _flat_model(**kw) -> CostModel:
    flat = TimeOfDayProfile(np.array([0.0, 390.0]), np.array([1.0]), "flat")
    return CostModel(spread_profile=flat, volume_profile=flat, fee_schedule="zero", **kw)


def _orders(strategy: str, horizon: float) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["a", "b"], "symbol": ["X", "Y"], "side": ["buy", "sell"],
        "quantity": [20_000, 300_000], "algorithm": strategy,
        "start_time": pd.Timestamp("2024-03-04 11:00", tz="America/New_York"),
        "horizon_minutes": horizon,
    })


MARKET = pd.DataFrame({"price": [40.0, 120.0], "adv": [2e6, 5e6], "daily_vol": [0.025, 0.018],
                       "spread_bps": [0.0, 0.0], "shares_outstanding": [1.6e9, np.nan]},
                      index=["X", "Y"])


def test_model_uses_the_same_laws():
    q, adv, vol = np.array([20_000, 300_000]), MARKET["adv"].to_numpy(), MARKET["daily_vol"].to_numpy()
    sqrt = _flat_model(impact_law="square_root", sqrt_impact_y=0.9).predict(
        _orders("market", 30), MARKET)
    np.testing.assert_allclose(sqrt["temporary_impact_bps"], square_root_impact(q, adv, vol, 0.9))
    assert (sqrt["permanent_impact_bps"] == 0).all()

    athl = _flat_model(impact_law="almgren_2005").predict(_orders("vwap", 195), MARKET)
    np.testing.assert_allclose(athl["temporary_impact_bps"],
                               almgren_temporary_impact(q, adv, vol, 0.5), rtol=1e-12)
    np.testing.assert_allclose(
        athl["permanent_impact_bps"],
        0.5 * almgren_permanent_impact(q, adv, vol, shares_outstanding=MARKET["shares_outstanding"]),
        rtol=1e-12)
    market_order = _flat_model(impact_law="almgren_2005", market_order_minutes=3.9).predict(
        _orders("market", 30), MARKET)
    np.testing.assert_allclose(market_order["temporary_impact_bps"],
                               almgren_temporary_impact(q, adv, vol, 0.01), rtol=1e-12)
