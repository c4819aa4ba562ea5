"""`qlab validate-run` -> `qlab promote` -> `qlab live --dry-run` from the command line (typer's
CliRunner on the real `qlab` app), with MLflow in a temporary SQLite store and the loopback
Tiger gateway driven by the real tigeropen client."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.live.test_live_runner import SYMBOLS, run_config, script_market

pytestmark = pytest.mark.slow


def _env(monkeypatch, tmp_path, gateway, client_keys) -> None:
    key = tmp_path / "key.pem"
    key.write_text(client_keys.private_pem)
    env = {"QLAB_TRACKING__MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/ml/mlflow.db",
           "QLAB_TIGER__TIGER_ID": "20150001", "QLAB_TIGER__ACCOUNT": "20190000000000900",
           "QLAB_TIGER__PRIVATE_KEY_PATH": str(key), "QLAB_TIGER__SERVER_URL": gateway.url,
           "QLAB_TIGER__QUOTE_SERVER_URL": gateway.url,
           "QLAB_EXECUTION__JOURNAL_PATH": str(tmp_path / "journal")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def test_validate_promote_and_live_dry_run_from_the_command_line(
        gateway, client_keys, server_keys, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from qlab.cli import app

    _env(monkeypatch, tmp_path, gateway, client_keys)
    cli = CliRunner()
    # small data: two years of the embedded S&P 500 closes for three names, and a small TCA
    # study of the config's algorithm (eight parents)
    cfg = run_config().model_copy(update={"universe": run_config().universe.model_copy(
        update={"start": "2019-01-02", "end": "2020-12-31"})})
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    tca = tmp_path / "tca.json"
    tca.write_text(json.dumps({"strategies": {"twap": {
        "n_orders": 8, "z_score": {"mean": 0.25, "std": 1.1}}}}))

    res = cli.invoke(app, ["validate-run", "--config", str(cfg_path), "--tca-json", str(tca)])
    assert res.exit_code == 0, res.output
    run_id = re.search(r"validation run: (\w+)", res.output).group(1)
    assert "FAIL  min_parent_orders: measured 8, threshold >= 100" in res.output
    assert "PASS  cost_z_mean: measured 0.25" in res.output

    # honest on small data: 8 parents are not enough under the default gates
    res = cli.invoke(app, ["promote", run_id])
    assert res.exit_code == 1
    assert "promotion refused" in res.output
    assert "min_parent_orders: measured 8, threshold >= 100" in res.output
    res = cli.invoke(app, ["live", "--dry-run", "--bars", "1"])
    assert res.exit_code == 1 and "no config is promoted" in res.output

    # passing by construction: thresholds this small study meets (recorded with the version)
    measured = {}
    for line in cli.invoke(app, ["validate-run", "--config", str(cfg_path), "--tca-json",
                                 str(tca)]).output.splitlines():
        m = re.match(r"(?:PASS|FAIL)  (\w+): measured ([-\d.e+]+)", line)
        if m:
            measured[m.group(1)] = float(m.group(2))
    gates = tmp_path / "gates.yaml"
    gates.write_text(yaml.safe_dump({
        "min_parent_orders": 8, "max_drawdown": min(1.0, measured["max_drawdown"] + 0.01),
        "max_risk_limit_breaches": int(measured["risk_limit_breaches"]),
        "max_unresolved_alerts": int(measured["unresolved_alerts"]),
        "max_var_zone": int(measured["var_backtest_zone"])}))
    res = cli.invoke(app, ["promote", run_id, "--gates", str(gates)])
    assert res.exit_code == 0, res.output
    assert f"promoted run {run_id}" in res.output and "@live" in res.output
    res = cli.invoke(app, ["promote", "--list"])
    assert res.exit_code == 0 and run_id in res.output and "@live" in res.output

    # the live entry point loads the promoted config from @live and trades it dry
    script_market(gateway)
    pub = tmp_path / "gw.pub"
    pub.write_text(server_keys.public_b64)
    res = cli.invoke(app, ["live", "--dry-run", "--bars", "3", "--since", "2024-03-05",
                           "--idle-polls", "1", "--poll-s", "0",
                           "--tiger-public-key-file", str(pub)])
    assert res.exit_code == 0, res.output
    assert "3 bar(s) processed" in res.output
    assert gateway.calls("place_order") == 0
    assert gateway.calls("kline") >= 2
    decided = [json.loads(x) for x in res.output.splitlines() if '"rebalance_decided"' in x]
    assert decided and decided[0]["config_version"] == "1"
    assert decided[0]["parents"] == len(SYMBOLS)
