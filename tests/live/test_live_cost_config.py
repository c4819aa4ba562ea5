"""live.main builds its cost model from the run config's cost_model block (over the settings'
defaults): a promoted config means what it says."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from research.config import CostModelChoice
from research.costs import ImpactCalibration
from tests.live.test_live_runner import run_config, script_market


def _write_config(tmp_path, cost_model: CostModelChoice):
    path = tmp_path / "run.yaml"
    config = run_config().model_copy(update={"cost_model": cost_model})
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path


def test_a_dry_run_prices_with_the_run_configs_cost_model(gateway, settings, server_keys,
                                                          tmp_path):
    from live.main import run_live

    script_market(gateway)
    calibration = ImpactCalibration(law="square_root", params={"sqrt_impact_y": 1.23},
                                    std_errors={"sqrt_impact_y": 0.05}, n_obs=400,
                                    residual_scale_bps=2.0, huber_delta=1.345
                                    ).save(tmp_path / "cal.json")
    config = _write_config(tmp_path, CostModelChoice(spread_source="roll", fee_schedule="zero",
                                                     calibration_file=calibration))
    pub = tmp_path / "gw.pub"
    pub.write_text(server_keys.public_b64)
    logs = io.StringIO()
    assert settings.costs.spread_source == "quotes" and settings.costs.fee_schedule == "tiger_us"
    run_live(dry_run=True, config_path=config, max_bars=1, since="2024-03-05", idle_polls=1,
             poll_s=0.0, tiger_public_key_file=pub, settings=settings, stream=logs)
    events = [json.loads(line) for line in logs.getvalue().splitlines()]
    built = next(e for e in events if e["event"] == "cost_model")
    assert built["sqrt_impact_y"] == 1.23  # the calibration's, not the settings' 0.7
    assert (built["spread_source"], built["fee_schedule"]) == ("roll", "zero")
    assert built["calibration_file"] == str(calibration)


def test_a_missing_calibration_file_stops_the_start_before_tiger_is_called(settings,
                                                                           gateway, tmp_path):
    from live.main import LiveStartError, run_live

    config = _write_config(tmp_path, CostModelChoice(calibration_file=tmp_path / "gone.json"))
    with pytest.raises(LiveStartError, match=r"config 'livetest': cost_model\.calibration_file"
                                             r": no such file: .*gone\.json"):
        run_live(dry_run=True, config_path=config, settings=settings)
    assert gateway.calls("kline") == 0
