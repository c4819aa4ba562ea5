"""Attribution sums exactly to what it explains, on hand-built cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.analytics import (
    AttributionInputError,
    brinson_fachler,
    factor_return_attribution,
    position_contributions,
    sector_weights_and_returns,
)


def test_position_contributions_sum_to_the_nav_return_with_cash():
    # a book of 10 A @ $100, 20 B @ $50 and $1,000 cash (NAV $3,000); A +10%, B -5%, cash 0.1%
    weights = pd.DataFrame({"A": [1000 / 3000], "B": [1000 / 3000]})
    returns = pd.DataFrame({"A": [0.10], "B": [-0.05]})
    c = position_contributions(weights, returns, cash_return=0.001)
    nav_after = 10 * 110 + 20 * 47.5 + 1000 * 1.001
    assert c.loc[0, "A"] == pytest.approx(100 / 3000, rel=1e-15)
    assert c.loc[0, "cash"] == pytest.approx(1 / 3000, rel=1e-15)
    assert c.sum(axis=1)[0] == pytest.approx(nav_after / 3000 - 1, rel=1e-14)


def test_brinson_fachler_effects_by_hand_and_their_sum_is_the_active_return():
    wp = {"Tech": 0.6, "Energy": 0.3, "cash": 0.1}
    rp = {"Tech": 0.08, "Energy": -0.02, "cash": 0.0}
    wb = {"Tech": 0.5, "Energy": 0.4, "Health": 0.1}
    rb = {"Tech": 0.05, "Energy": 0.01, "Health": 0.03, "cash": 0.0}
    bf = brinson_fachler(wp, rp, wb, rb)
    total_b = 0.5 * 0.05 + 0.4 * 0.01 + 0.1 * 0.03  # 0.032
    t = bf.table
    assert t.loc["Tech", "allocation"] == pytest.approx(0.1 * (0.05 - total_b))
    assert t.loc["Tech", "selection"] == pytest.approx(0.5 * 0.03)
    assert t.loc["Tech", "interaction"] == pytest.approx(0.1 * 0.03)
    assert t.loc["Health", "allocation"] == pytest.approx(-0.1 * (0.03 - total_b))
    assert t.loc["Health", "selection"] == 0.0  # not held: nothing selected
    assert t.loc["cash", "allocation"] == pytest.approx(0.1 * (0.0 - total_b))
    assert bf.portfolio_return == pytest.approx(0.6 * 0.08 + 0.3 * -0.02)
    assert sum(bf.totals().values()) == pytest.approx(bf.active, abs=1e-16)


def test_brinson_fachler_from_asset_weights_and_refusals():
    sectors = {"A": "Tech", "B": "Tech", "C": "Energy"}
    returns = {"A": 0.1, "B": -0.02, "C": 0.04}
    wp, rp = sector_weights_and_returns({"A": 0.5, "B": 0.2, "C": 0.2}, returns, sectors)
    assert wp == pytest.approx({"Tech": 0.7, "Energy": 0.2, "cash": 0.1})
    assert rp["Tech"] == pytest.approx((0.05 - 0.004) / 0.7)
    wb, rb = sector_weights_and_returns({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}, returns, sectors)
    bf = brinson_fachler(wp, rp, wb, {**rb, "cash": 0.0})
    active = (0.5 * 0.1 + 0.2 * -0.02 + 0.2 * 0.04) - (0.1 - 0.02 + 0.04) / 3
    assert sum(bf.totals().values()) == pytest.approx(active, abs=1e-16)
    with pytest.raises(AttributionInputError, match="sum to"):
        brinson_fachler({"Tech": 0.9}, {"Tech": 0.1}, {"Tech": 1.0}, {"Tech": 0.1})
    with pytest.raises(AttributionInputError, match="benchmark_returns lack"):
        brinson_fachler({"Tech": 1.0}, {"Tech": 0.1}, {"Energy": 1.0}, {"Energy": 0.1})
    with pytest.raises(AttributionInputError, match="no sector"):
        sector_weights_and_returns({"Z": 1.0}, {"Z": 0.0}, sectors)


def test_factor_attribution_recovers_betas_and_sums_exactly():
    rng = np.random.default_rng(0)
    index = pd.bdate_range("2020-01-01", periods=250)
    factors = pd.DataFrame(rng.normal(0, 0.01, (250, 2)), index=index, columns=["MTUM", "USMV"])
    noise = rng.normal(0, 0.001, 250)
    portfolio = pd.Series(0.0002 + 1.2 * factors["MTUM"] - 0.5 * factors["USMV"] + noise,
                          index=index)
    fa = factor_return_attribution(portfolio, factors)
    assert fa.betas.to_numpy() == pytest.approx([1.2, -0.5], abs=0.02)
    assert fa.total == pytest.approx(portfolio.sum(), abs=1e-14)
    assert fa.contributions["residual"] == pytest.approx(0.0, abs=1e-12)  # OLS with intercept
    assert fa.r_squared > 0.95 and fa.periods == 250
    with pytest.raises(AttributionInputError, match="needs at least"):
        factor_return_attribution(portfolio.iloc[:3], factors)
