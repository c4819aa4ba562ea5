"""CostModel.for_run: a run config's cost_model block is what the model is built from."""

from __future__ import annotations

import json

import pytest

from research.config import CostModelChoice, CostSettings
from research.costs import CostModel, ImpactCalibration


def _calibration(tmp_path, law="square_root", **params):
    cal = ImpactCalibration(law=law, params=params, std_errors=dict.fromkeys(params, 0.01),
                            n_obs=500, residual_scale_bps=3.0, huber_delta=1.345)
    return cal.save(tmp_path / "calibration.json")


def test_the_run_config_overrides_the_settings_and_the_rest_comes_from_them():
    costs = CostSettings(impact_law="square_root", spread_source="quotes", sqrt_impact_y=0.9,
                         spread_lookback_days=10, fee_schedule="tiger_us")
    choice = CostModelChoice(impact_law="almgren_2005", spread_source="roll",
                             fee_schedule="zero")
    model = CostModel.for_run(choice, costs)
    assert (model.impact_law, model.spread_source, model.fee_schedule) == (
        "almgren_2005", "roll", "zero")
    assert model.sqrt_impact_y == 0.9 and model.spread_lookback_days == 10


def test_a_calibration_file_sets_the_impact_coefficients(tmp_path):
    path = _calibration(tmp_path, sqrt_impact_y=1.23)
    model = CostModel.for_run(CostModelChoice(calibration_file=path), CostSettings())
    assert model.sqrt_impact_y == 1.23
    assert CostModel.for_run(CostModelChoice(), CostSettings()).sqrt_impact_y == 0.7


def test_a_missing_calibration_file_is_an_error_naming_the_field(tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ValueError, match=r"cost_model\.calibration_file: no such file: .*"
                                         r"nowhere\.json"):
        CostModel.for_run(CostModelChoice(calibration_file=missing), CostSettings())


def test_a_calibration_of_another_law_or_format_is_refused(tmp_path):
    path = _calibration(tmp_path, law="almgren_2005", almgren_eta=0.2, almgren_beta=0.6)
    with pytest.raises(ValueError, match="fitted for the impact law 'almgren_2005', but "
                                         "cost_model.impact_law is 'square_root'"):
        CostModel.for_run(CostModelChoice(calibration_file=path), CostSettings())
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match=r"cost_model\.calibration_file: .*broken\.json"):
        CostModel.for_run(CostModelChoice(calibration_file=broken), CostSettings())
