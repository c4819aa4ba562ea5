"""Promotion gates, the registry alias, and `qlab live` refusing what was not promoted.

The metrics here are written by the test to exercise the gates and the registry's mechanics;
what validate-run records by replaying a config is tested in test_cli_end_to_end.py."""

from __future__ import annotations

import io

import pytest

from research.config import RunConfig, Settings, TrackingSettings
from research.promotion import GATE_METRICS, GateThresholds, evaluate_gates

PASSING = {GATE_METRICS["parent_orders"]: 250, GATE_METRICS["cost_z_mean"]: 0.1,
           GATE_METRICS["cost_z_std"]: 1.1, GATE_METRICS["tca_dearer_than_market"]: 0,
           GATE_METRICS["backtest"]: 1, GATE_METRICS["sessions"]: 2000,
           GATE_METRICS["sharpe"]: 0.8, GATE_METRICS["max_drawdown"]: 0.2,
           GATE_METRICS["limit_binds_per_year"]: 12, GATE_METRICS["acceptable_binds_per_year"]: 24,
           GATE_METRICS["var_backtest_zone"]: 1, GATE_METRICS["unresolved_alerts"]: 0}


def test_promote_gates_fail_on_a_missing_metric_and_name_the_value():
    r = {g.gate: g for g in evaluate_gates(PASSING)}
    assert all(g.passed for g in r.values())
    missing = dict(PASSING)
    del missing[GATE_METRICS["cost_z_std"]]
    g = {x.gate: x for x in evaluate_gates(missing)}["cost_z_std"]
    assert not g.passed and g.measured is None and "not recorded" in g.line()
    bad = {**PASSING, GATE_METRICS["cost_z_mean"]: -0.7, GATE_METRICS["var_backtest_zone"]: 2}
    failed = [x for x in evaluate_gates(bad) if not x.passed]
    assert [x.gate for x in failed] == ["cost_z_mean", "var_backtest_zone"]
    assert failed[0].measured == -0.7 and "0.5" in failed[0].threshold
    assert not {x.gate: x for x in evaluate_gates(
        PASSING, GateThresholds(max_drawdown=0.1))}["max_drawdown"].passed
    # the binds gate holds the replay to what the config itself declared acceptable
    over = {**PASSING, GATE_METRICS["limit_binds_per_year"]: 30}
    assert not {x.gate: x for x in evaluate_gates(over)}["limit_binds"].passed
    undeclared = dict(PASSING)
    del undeclared[GATE_METRICS["acceptable_binds_per_year"]]
    assert not {x.gate: x for x in evaluate_gates(undeclared)}["limit_binds"].passed
    # TCA dearer than market with its interval excluding zero fails
    dearer = {**PASSING, GATE_METRICS["tca_dearer_than_market"]: 1}
    assert not {x.gate: x for x in evaluate_gates(dearer)}["tca_verdict"].passed


def test_missing_evidence_is_named_by_the_part_of_validate_run_that_records_it():
    from research.promotion import missing_evidence

    tca = {GATE_METRICS[k] for k in ("parent_orders", "cost_z_mean", "cost_z_std",
                                     "tca_dearer_than_market")}
    no_tca = {k: v for k, v in PASSING.items() if k not in tca}
    assert missing_evidence(evaluate_gates(no_tca)) == ["the TCA study"]
    assert missing_evidence(evaluate_gates({})) == ["the TCA study", "the backtest"]
    assert missing_evidence(evaluate_gates(PASSING)) == []


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    return Settings(tracking=TrackingSettings(mlflow_tracking_uri=f"sqlite:///{root}/mlflow.db",
                                              experiment="promote-test"))


def _config(name="promo") -> RunConfig:
    return RunConfig(name=name, universe={"symbols": ["AAPL", "KO", "XOM"]})


def test_promote_refuses_a_failing_run_and_promotes_a_passing_one(tracking, monkeypatch):
    from typer.testing import CliRunner

    from live.promotion import load_live_config
    from qlab.cli import app
    from research.promotion import config_hash, record_validation_run

    monkeypatch.setenv("QLAB_TRACKING__MLFLOW_TRACKING_URI",
                       tracking.tracking.mlflow_tracking_uri)
    monkeypatch.setenv("QLAB_TRACKING__EXPERIMENT", "promote-test")
    failing = record_validation_run(_config(), {**PASSING, GATE_METRICS["unresolved_alerts"]: 2},
                                    tracking)
    cli = CliRunner()
    res = cli.invoke(app, ["promote", failing])
    assert res.exit_code == 1
    refusal = res.output[res.output.index("promotion refused"):]
    assert "unresolved_alerts: measured 2, threshold <= 0" in refusal
    assert "cost_z_mean" not in refusal  # the refusal lists only the failing gates
    # the evidence table before it shows every gate with its value, threshold and verdict
    assert "cost_z_mean" in res.output and "FAIL" in res.output and "PASS" in res.output
    res = cli.invoke(app, ["promote", "--list"])
    assert "no promoted versions" in res.output

    # `qlab live` refuses while nothing is promoted (paper mode: config only from @live)
    from live.main import LiveStartError, run_live

    with pytest.raises(LiveStartError, match="no config is promoted"):
        run_live(paper=True, settings=tracking)

    good = record_validation_run(_config(), PASSING, tracking)
    res = cli.invoke(app, ["promote", good])
    assert res.exit_code == 0, res.output
    lc = load_live_config(tracking)
    assert lc.run_id == good and lc.config == _config()
    assert lc.config_hash == config_hash(_config())
    res = cli.invoke(app, ["promote", "--list"])
    assert good in res.output and "@live" in res.output

    # a promoted config whose gates do not hold (stricter thresholds) is refused at start-up
    from live.promotion import GateFailure

    with pytest.raises(GateFailure, match="min_parent_orders: measured 250"):
        load_live_config(tracking, GateThresholds(min_parent_orders=1000))


def test_promote_secret_never_reaches_logs_metrics_errors_or_mlflow(tracking, gateway,
                                                                     client_keys, server_keys,
                                                                     tmp_path):
    """The (throw-away) private key and its base64 body appear in no output at all."""
    import yaml

    from live.main import LiveStartError, run_live
    from live.tiger.config import private_key_body
    from research.config import ExecutionSettings
    from research.promotion import record_validation_run
    from tests.live.conftest import tiger_settings
    from tests.live.test_live_runner import run_config, script_market

    settings = Settings(tiger=tiger_settings(gateway.url, client_keys.private_pem),
                        execution=ExecutionSettings(journal_path=tmp_path / "j"),
                        tracking=tracking.tracking)
    body = private_key_body(settings.tiger)
    needles = [body[40:80], body[-60:-20]] + [ln for ln in client_keys.private_pem.splitlines()
                                              if len(ln) > 40][:3]
    script_market(gateway)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(run_config().model_dump(mode="json")))
    logs = io.StringIO()
    pub = tmp_path / "pub"
    pub.write_text(server_keys.public_b64)
    run_live(dry_run=True, config_path=cfg, max_bars=3, since="2024-03-05", idle_polls=1,
             poll_s=0.0, settings=settings, tiger_public_key_file=pub, stream=logs)
    outputs = {"logs": logs.getvalue()}
    # an error path: a wrong response key fails the start-up; its message must be clean too
    with pytest.raises(Exception) as err:
        run_live(dry_run=True, config_path=cfg, max_bars=1, since="2024-03-05", idle_polls=1,
                 settings=settings, stream=logs)
    outputs["error"] = f"{err.value!r} {err.value}"
    outputs["logs2"] = logs.getvalue()
    from live.monitoring import LiveMetrics

    outputs["metrics"] = LiveMetrics().exposition().decode()
    run_id = record_validation_run(run_config(), PASSING, tracking)
    from research.tracking import mlflow_client

    c = mlflow_client(tracking)
    run = c.get_run(run_id)
    outputs["mlflow"] = repr(run.data.params) + repr(run.data.tags)
    local = c.download_artifacts(run_id, "", str(tmp_path / "art"))
    outputs["artifacts"] = "".join(p.read_text() for p in
                                   __import__("pathlib").Path(local).rglob("*") if p.is_file())
    assert "order_submitted" in outputs["logs"] or "rebalance_decided" in outputs["logs"]
    for where, text in outputs.items():
        for n in needles:
            assert n not in text, f"private key material in {where}"
    assert isinstance(err.value, (LiveStartError, Exception))
