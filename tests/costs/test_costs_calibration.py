"""Calibration recovers known coefficients from synthetic executions; files round-trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from research.costs import (
    CostModel,
    almgren_permanent_impact,
    calibrate_impact,
    default_spread_profile,
    load_calibration,
)


def _executions(n: int, seed: int, law: str, noise_bps: float = 2.0) -> pd.DataFrame:
    """Executions whose cost is half-spread + the law's impact + heavy-tailed noise."""
    rng = np.random.default_rng(seed)
    adv = rng.uniform(5e5, 2e7, n)
    u = np.exp(rng.uniform(np.log(1e-4), np.log(0.1), n))
    sigma = rng.uniform(0.01, 0.035, n)
    minutes = rng.uniform(5, 390, n)
    start = rng.uniform(0, 389, n)
    profile = default_spread_profile()
    spread = rng.uniform(2, 20, n) * profile.at(start)
    if law == "square_root":
        impact = 0.8 * 1e4 * sigma * np.sqrt(u)
    else:
        impact = (0.2 * 1e4 * sigma * (u / (minutes / 390)) ** 0.55
                  + 0.5 * almgren_permanent_impact(u * adv, adv, sigma, 0.314))
    noise = noise_bps * rng.standard_t(3, n)  # fat tails: what Huber is for
    return pd.DataFrame({
        "order_id": [f"f{i}" for i in range(n)], "symbol": rng.choice(["A", "B", "C"], n),
        "quantity": u * adv, "adv": adv, "daily_vol": sigma, "duration_minutes": minutes,
        "start_minute": start, "spread_bps": spread, "cost_bps": spread / 2 + impact + noise})


def test_square_root_coefficient_within_two_standard_errors():
    fit = calibrate_impact(_executions(3_000, 1, "square_root"), "square_root")
    y, se = fit.params["sqrt_impact_y"], fit.std_errors["sqrt_impact_y"]
    assert abs(y - 0.8) < 2 * se
    assert 0 < se < 0.02  # informative, not a wide band that always passes


def test_almgren_coefficients_within_two_standard_errors():
    fit = calibrate_impact(_executions(3_000, 2, "almgren_2005"), "almgren_2005")
    for name, truth in (("almgren_eta", 0.2), ("almgren_beta", 0.55)):
        assert abs(fit.params[name] - truth) < 2 * fit.std_errors[name], name
    assert fit.std_errors["almgren_eta"] < 0.02 and fit.std_errors["almgren_beta"] < 0.03
    assert fit.fixed == {"almgren_gamma": 0.314}


def test_standard_errors_are_calibrated_across_samples():
    # the spread of estimates over independent samples matches the reported standard error
    estimates, errors = [], []
    for seed in range(12):
        fit = calibrate_impact(_executions(600, 100 + seed, "square_root"), "square_root")
        estimates.append(fit.params["sqrt_impact_y"])
        errors.append(fit.std_errors["sqrt_impact_y"])
    ratio = np.std(estimates, ddof=1) / np.mean(errors)
    assert 0.6 < ratio < 1.6


def test_spread_profile_is_calibrated_too():
    fit = calibrate_impact(_executions(4_000, 3, "square_root"), "square_root")
    assert fit.spread_profile is not None
    truth = default_spread_profile()
    # the first half hour is far wider than mid-day, as in the generating profile
    ratio = fit.spread_profile.at(10.0) / fit.spread_profile.at(200.0)
    expected = truth.window_mean(0, 30) / truth.window_mean(180, 210)
    assert ratio == pytest.approx(expected, rel=0.25)


def test_save_load_round_trip_and_model(tmp_path):
    fit = calibrate_impact(_executions(500, 4, "almgren_2005"), "almgren_2005")
    path = fit.save(tmp_path / "calib" / "impact.json")
    again = load_calibration(path)
    assert again.params == fit.params and again.std_errors == fit.std_errors
    np.testing.assert_allclose(again.spread_profile.multipliers, fit.spread_profile.multipliers)
    model = CostModel.from_calibration(again)
    assert model.impact_law == "almgren_2005"
    assert model.almgren_eta == fit.params["almgren_eta"]
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="version 99 is not supported"):
        load_calibration(path)


def test_bad_executions_name_the_rows():
    table = _executions(50, 5, "square_root")
    table.loc[7, "adv"] = 0.0
    with pytest.raises(ValueError, match=r"adv must be .*'f7'=0.0"):
        calibrate_impact(table)
    with pytest.raises(ValueError, match="duration_minutes"):
        calibrate_impact(_executions(50, 5, "square_root").drop(columns="duration_minutes"),
                         "almgren_2005")
