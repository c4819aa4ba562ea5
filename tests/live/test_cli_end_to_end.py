"""The path from a config to live, from the command line (typer's CliRunner on the real `qlab`
app), with MLflow in a temporary SQLite store and no hand-written evidence: `validate-run`
replays the example config itself, `promote` passes it under the default gates, and `live
--dry-run --replay` trades the promoted config offline; a deliberately bad config is refused
naming its gates, and a run whose evidence is incomplete is refused naming what is missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
EXAMPLE = CONFIGS / "inverse_volatility_daily.yaml"
BAD = CONFIGS / "bad" / "single_name_daily.yaml"


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    for k, v in {"QLAB_TRACKING__MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/ml/mlflow.db",
                 "QLAB_EXECUTION__JOURNAL_PATH": str(tmp_path / "journal"),
                 # no Tiger credentials anywhere: the replay must not need them
                 "QLAB_TIGER__TIGER_ID": "", "QLAB_TIGER__PRIVATE_KEY_PATH": ""}.items():
        monkeypatch.setenv(k, v)
    return CliRunner()


def _invoke(cli, *args):
    from qlab.cli import app

    return cli.invoke(app, list(args))


def _run_id(output: str) -> str:
    return re.search(r"validation run: (\w+)", output).group(1)


def test_validate_promote_and_live_dry_run_replay_on_the_example_config(cli):
    # the example's own data and window from 2015 (eight years keep the test short); every
    # default gate must pass on what the replay measured
    res = _invoke(cli, "validate-run", str(EXAMPLE), "--start", "2015-01-02")
    assert res.exit_code == 0, res.output
    assert "FAIL" not in res.output and "every gate passes" in res.output
    for gate in ("min_parent_orders", "cost_z_mean", "tca_verdict", "min_sharpe",
                 "max_drawdown", "limit_binds", "var_backtest_zone", "unresolved_alerts"):
        assert f"PASS  {gate}: measured" in res.output
    run_id = _run_id(res.output)

    res = _invoke(cli, "promote", run_id)
    assert res.exit_code == 0, res.output
    assert f"promoted run {run_id}" in res.output and "@live" in res.output
    assert "min_sharpe" in res.output and "evidence/backtest.json" in res.output
    assert "evidence/tca.json" in res.output

    # the live driver on recorded minute bars through the simulated broker, offline
    res = _invoke(cli, "live", "--dry-run", "--replay", "sp500_synthetic_minute",
                  "--bars", "400")
    assert res.exit_code == 0, res.output
    assert "400 bar(s) processed" in res.output
    lines = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    decided = [x for x in lines if x["event"] == "rebalance_decided"]
    assert decided and decided[0]["config_version"] == "1"
    shutdown = next(x for x in lines if x["event"] == "shutdown")
    assert shutdown["fills"] > 0


def test_a_bad_config_and_incomplete_evidence_are_refused_naming_why(cli, tmp_path):
    res = _invoke(cli, "validate-run", str(BAD))
    assert res.exit_code == 1, res.output  # recorded, and the failing gates set the exit code
    assert "FAIL  max_drawdown" in res.output and "FAIL  min_sharpe" in res.output
    res = _invoke(cli, "promote", _run_id(res.output))
    assert res.exit_code == 1
    refusal = res.output[res.output.index("promotion refused"):]
    assert "max_drawdown: measured" in refusal and "min_sharpe: measured" in refusal
    # its rebalances trade nothing in the TCA window: that evidence is missing, and named
    assert "lacks evidence: the TCA study" in refusal

    # a run recorded with backtest metrics only (not by validate-run) names the TCA study; one
    # with TCA metrics only names the backtest
    from research.config import load_run_config, load_settings
    from research.promotion import GATE_METRICS, record_validation_run

    cfg, settings = load_run_config(EXAMPLE), load_settings()
    backtest_only = {GATE_METRICS["sessions"]: 2000.0, GATE_METRICS["backtest"]: 1.0}
    tca_only = {GATE_METRICS[k]: v for k, v in (
        ("parent_orders", 150.0), ("cost_z_mean", 0.1), ("cost_z_std", 1.0),
        ("tca_dearer_than_market", 0.0))}
    for metrics, missing in ((backtest_only, "the TCA study"), (tca_only, "the backtest")):
        run_id = record_validation_run(cfg, metrics, settings)
        res = _invoke(cli, "promote", run_id)
        assert res.exit_code == 1 and f"lacks evidence: {missing}" in res.output, res.output
