"""``qlab validate-run``: record a run that ``qlab promote`` may promote — the run config as an
artifact and the gate metrics (TCA calibration, daily backtest), checked against thresholds.

It reads MLflow and the embedded data and never touches the broker, so it belongs to
research's promotion side; ``live`` only promotes what it recorded. Mounted on ``qlab`` by
``qlab/cli.py``. Only typer is imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail

#: Where ``qlab tca compare`` logs its result JSON in its MLflow run.
TCA_RESULT_ARTIFACT = "results/tca_compare.json"


def validate_run(
    config: Annotated[Path, typer.Option("--config", help="RunConfig YAML to validate.")],
    tca_run: Annotated[str | None, typer.Option("--tca-run", help="MLflow run of `qlab tca "
                                                "compare` giving order count and z-scores.")
                       ] = None,
    tca_json: Annotated[Path | None, typer.Option("--tca-json", help="Or its JSON file.")
                        ] = None,
    backtest: Annotated[bool, typer.Option("--backtest/--no-backtest", help="Daily backtest on "
                                           "the embedded S&P 500 closes.")] = True,
    gates: Annotated[Path | None, typer.Option("--gates", help="YAML of gate thresholds to "
                                               "report against (default thresholds).")] = None,
) -> None:
    """Record a promotable run: the config as an artifact and the gate metrics."""
    import json

    from research.config import ConfigFileError, load_run_config, load_settings
    from research.promotion import (
        GateThresholdsError,
        backtest_gate_metrics,
        evaluate_gates,
        load_thresholds,
        record_validation_run,
        tca_gate_metrics,
    )

    try:
        cfg = load_run_config(config)
    except ConfigFileError as exc:
        fail(str(exc), 2)
    settings = load_settings()
    metrics: dict[str, float] = {}
    tags = {}
    if tca_run or tca_json:
        if tca_json is not None:
            summary = json.loads(tca_json.read_text())
        else:
            import tempfile

            from research.tracking import mlflow_client
            with tempfile.TemporaryDirectory() as tmp:
                p = mlflow_client(settings).download_artifacts(tca_run, TCA_RESULT_ARTIFACT, tmp)
                summary = json.loads(Path(p).read_text())
            tags["qlab.tca_run_id"] = tca_run
        metrics.update(tca_gate_metrics(summary, cfg.execution.algorithm))
    if backtest:
        from research.data.sources import load_sp500_closes

        metrics.update(backtest_gate_metrics(cfg, load_sp500_closes(), settings))
    else:
        metrics["validation.backtest"] = 0.0
    run_id = record_validation_run(cfg, metrics, settings, tags=tags)
    try:
        thresholds = load_thresholds(gates)
    except GateThresholdsError as exc:
        fail(str(exc), 2)
    for r in evaluate_gates(metrics, thresholds):
        typer.echo(r.line())
    typer.echo(f"validation run: {run_id}")
