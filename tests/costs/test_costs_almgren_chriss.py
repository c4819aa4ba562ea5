"""Almgren-Chriss (2000) against the paper's example (reference values in the cost issue and
in notes/anchors_costs.md, reproduced by DROP's published output)."""

from __future__ import annotations

import numpy as np
import pytest

from research.costs import AlmgrenChriss

SIGMA_30PCT = 0.3 * 50 / np.sqrt(250)  # 30% annual volatility of a $50 stock, 250 days


def paper(sigma: float, risk_aversion: float = 1e-6) -> AlmgrenChriss:
    return AlmgrenChriss(sigma=sigma, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625,
                         risk_aversion=risk_aversion)


def test_reference_schedule_holdings_cost_and_variance():
    result = paper(SIGMA_30PCT).schedule(shares=1_000_000, horizon=5, periods=5)
    expected = [1_000_000, 542_380.7, 290_295.1, 148_216.1, 62_303.2, 0]
    np.testing.assert_allclose(result.holdings, expected, atol=0.05 + 1e-9)
    np.testing.assert_allclose(result.trades, -np.diff(expected), atol=0.1)
    assert result.expected_cost == pytest.approx(910_477.8, abs=0.05)
    assert f"{result.variance:.4e}" == "3.6387e+11"  # 5 significant digits
    assert result.variance == pytest.approx(3.63868e11, rel=2e-6)
    assert result.kappa == pytest.approx(0.6063, abs=5e-5)
    assert result.kappa_tilde == pytest.approx(0.6156, abs=5e-5)
    assert result.half_life == pytest.approx(1.6495, abs=5e-4)


def test_paper_sigma_095_gives_kappa_06071():
    result = paper(0.95).schedule(shares=1_000_000, horizon=5, periods=5)
    assert result.kappa == pytest.approx(0.6071, abs=5e-5)
    assert result.expected_cost == pytest.approx(911_227.0, abs=0.05)
    assert result.variance == pytest.approx(3.64129e11, rel=2e-6)


def test_zero_risk_aversion_is_twap_with_e_662500():
    result = paper(SIGMA_30PCT, 0.0).schedule(shares=1_000_000, horizon=5, periods=5)
    np.testing.assert_allclose(result.holdings, [1e6, 8e5, 6e5, 4e5, 2e5, 0])
    # 1/2 gamma X^2 + epsilon X + (eta - gamma tau/2)/tau * 5 * (2e5)^2 = 125,000 + 62,500 + 475,000
    assert result.expected_cost == pytest.approx(662_500.0, abs=1e-6)
    # sigma^2 tau sum x_k^2 = sigma^2 * (0.8^2 + 0.6^2 + 0.4^2 + 0.2^2) * 1e12
    assert result.variance == pytest.approx(SIGMA_30PCT**2 * 1.2e12, rel=1e-12)
    assert result.kappa == 0.0


def test_efficient_frontier_matches_published_table_and_is_monotone():
    # DROP EfficientFrontierNoDrift (sigma = 0.95): lambda (1e-6) -> E ($M), V ($M^2)
    table = {0.25: (0.6996, 0.7513), 0.50: (0.7681, 0.5634), 1.00: (0.9112, 0.3641),
             2.00: (1.1407, 0.2019), 4.00: (1.4341, 0.0970)}
    lam = np.array(sorted(table)) * 1e-6
    frontier = paper(0.95).efficient_frontier(shares=1_000_000, horizon=5, periods=5,
                                              risk_aversions=lam)
    for k, key in enumerate(sorted(table)):
        assert frontier.expected_cost[k] / 1e6 == pytest.approx(table[key][0], abs=6e-4)
        assert frontier.variance[k] / 1e12 == pytest.approx(table[key][1], abs=6e-4)
    assert np.all(np.diff(frontier.expected_cost) > 0)
    assert np.all(np.diff(frontier.variance) < 0)


def test_schedule_is_the_minimiser_of_e_plus_lambda_v():
    model = paper(SIGMA_30PCT)
    best = model.schedule(shares=1_000_000, horizon=5, periods=5)
    rng = np.random.default_rng(3)
    tau, eta_t = 1.0, 2.5e-6 - 0.5 * 2.5e-7
    for _ in range(50):  # perturbed interior holdings never do better
        x = best.holdings.copy()
        x[1:-1] += rng.normal(0, 5_000, 4)
        n = -np.diff(x)
        e = 0.5 * 2.5e-7 * 1e12 + 0.0625 * np.abs(n).sum() + eta_t / tau * (n**2).sum()
        v = SIGMA_30PCT**2 * tau * (x[1:] ** 2).sum()
        assert e + 1e-6 * v > best.utility


@pytest.mark.parametrize("kwargs, message", [
    ({"shares": 0, "horizon": 5, "periods": 5}, "shares"),
    ({"shares": 1e6, "horizon": 0, "periods": 5}, "horizon"),
    ({"shares": 1e6, "horizon": 5, "periods": 0}, "periods"),
    ({"shares": 1e6, "horizon": 5, "periods": 2.5}, "periods"),
])
def test_bad_schedule_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        paper(0.95).schedule(**kwargs)


def test_eta_tilde_must_stay_positive():
    model = AlmgrenChriss(sigma=1.0, eta=1e-7, gamma=1e-6, risk_aversion=1e-6)
    with pytest.raises(ValueError, match="eta - gamma"):
        model.schedule(shares=1e6, horizon=5, periods=5)
