"""Settings from the environment and YAML run configs: defaults, errors, secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from research.config import ConfigFileError, RunConfig, load_run_config, load_settings


def test_seed_report_defaults(isolated_env):
    s = load_settings(None)
    assert s.risk.max_position_weight == 0.10
    assert s.risk.max_sector_weight == 0.30
    assert s.risk.max_pairwise_correlation == 0.7
    assert (s.risk.var_confidence, s.risk.var_horizon_days, s.risk.var_lookback_days) == (
        0.95, 21, 252)
    assert s.costs.almgren_eta == 0.142 and s.costs.almgren_beta == 0.6
    assert s.costs.almgren_gamma == 0.314 and s.costs.max_participation == 0.10
    assert s.tracking.mlflow_tracking_uri.startswith("sqlite:///")


def test_nested_environment_overrides_and_env_file(isolated_env, monkeypatch):
    monkeypatch.setenv("QLAB_RISK__MAX_POSITION_WEIGHT", "0.08")
    (isolated_env / ".env").write_text("QLAB_COSTS__SQRT_IMPACT_Y=0.9\n")
    s = load_settings()
    assert s.risk.max_position_weight == 0.08 and s.costs.sqrt_impact_y == 0.9


def test_wrong_type_and_unknown_key_in_environment(isolated_env, monkeypatch):
    monkeypatch.setenv("QLAB_RISK__MAX_POSITION_WEIGHT", "ten percent")
    with pytest.raises(ValidationError, match="risk.max_position_weight"):
        load_settings(None)
    monkeypatch.delenv("QLAB_RISK__MAX_POSITION_WEIGHT")
    monkeypatch.setenv("QLAB_RISK__MAX_POSITON_WEIGHT", "0.1")  # typo
    with pytest.raises(ValidationError, match="max_positon_weight"):
        load_settings(None)


def _write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_run_config_valid(tmp_path):
    cfg = load_run_config(_write(tmp_path, """
name: twap-study
universe: {symbols: [aapl, msft]}
execution: {algorithm: twap, horizon_minutes: 30}
risk: {max_position_weight: 0.05}
"""))
    assert isinstance(cfg, RunConfig)
    assert cfg.universe.symbols == ["AAPL", "MSFT"] and cfg.execution.horizon_minutes == 30


def test_run_config_reports_every_error_with_its_path(tmp_path):
    path = _write(tmp_path, """
name: bad
execution: {algorithm: vwapp, horizon_minutes: -5}
risk: {max_position_weight: "lots"}
strategy: {kind: equal_weight, colour: blue}
""")
    with pytest.raises(ConfigFileError) as err:
        load_run_config(path)
    locs = {loc for loc, _ in err.value.errors}
    assert {"execution.algorithm", "execution.horizon_minutes", "risk.max_position_weight",
            "strategy.colour"} <= locs
    assert "Extra inputs are not permitted" in str(err.value)


def test_run_config_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        load_run_config(_write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(ConfigFileError, match="no such file"):
        load_run_config(tmp_path / "nope.yaml")


def test_env_example_lists_every_setting():
    from pathlib import Path

    from research.config import Settings, env_example

    committed = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    assert committed == env_example(), "regenerate .env.example (see its header)"
    for group, field in Settings.model_fields.items():
        for name in field.default_factory.model_fields:
            assert f"QLAB_{group.upper()}__{name.upper()}=" in committed


def test_config_validate_names_the_symbols_a_dataset_has_but_no_sector_map_does():
    """Own tickers in a dataset need universe.sectors (the sector limit reads every name's):
    named at validation, not at the run's first refit; given, the config is valid."""
    from research.config import RunConfig, run_config_reference_errors

    datasets = {"mine": ["ZZZA", "KO"]}
    cfg = RunConfig(name="x", universe={"dataset": "mine", "symbols": ["ZZZA", "KO"]})
    assert run_config_reference_errors(cfg, datasets) == [
        ("universe.sectors", "no sector for ['ZZZA']: name them here (symbol: sector); the "
                             "embedded GICS map covers the 20 embedded names only")]
    cfg = RunConfig(name="x", universe={"dataset": "mine", "symbols": ["ZZZA", "KO"],
                                        "sectors": {"ZZZA": "Energy"}})
    assert run_config_reference_errors(cfg, datasets) == []
    every = RunConfig(name="x", universe={"dataset": "mine"})  # no list: every symbol of it
    assert run_config_reference_errors(every, datasets)[0][0] == "universe.sectors"
