"""Commands of the live world: ``qlab validate-run``, ``qlab promote``, ``qlab live``.

Mounted on ``qlab`` by :func:`mount`; ``python -m live`` runs ``live`` alone. Only typer is
imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


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
    from research.promotion import backtest_gate_metrics, record_validation_run, tca_gate_metrics

    try:
        cfg = load_run_config(config)
    except ConfigFileError as exc:
        _fail(str(exc), 2)
    settings = load_settings()
    metrics: dict[str, float] = {}
    tags = {}
    if tca_run or tca_json:
        if tca_json is not None:
            summary = json.loads(tca_json.read_text())
        else:
            import tempfile

            from live.promotion import _client
            with tempfile.TemporaryDirectory() as tmp:
                p = _client(settings).download_artifacts(tca_run, "results/tca_compare.json", tmp)
                summary = json.loads(Path(p).read_text())
            tags["qlab.tca_run_id"] = tca_run
        metrics.update(tca_gate_metrics(summary, cfg.execution.algorithm))
    if backtest:
        from research.data.sources import load_sp500_closes

        metrics.update(backtest_gate_metrics(cfg, load_sp500_closes(), settings))
    else:
        metrics["validation.backtest"] = 0.0
    run_id = record_validation_run(cfg, metrics, settings, tags=tags)
    from live.promotion import PromotionError, load_thresholds
    from research.promotion import evaluate_gates

    try:
        thresholds = load_thresholds(gates)
    except PromotionError as exc:
        _fail(str(exc), 2)
    for r in evaluate_gates(metrics, thresholds):
        typer.echo(r.line())
    typer.echo(f"validation run: {run_id}")


def promote(
    run_id: Annotated[str | None, typer.Argument(help="MLflow run id to promote.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show the promotion history.")] = False,
    gates: Annotated[Path | None, typer.Option("--gates", help="YAML of gate thresholds "
                                               "(keys of GateThresholds); recorded with the "
                                               "version and re-checked by `qlab live`.")
                     ] = None,
) -> None:
    """Promote a validated run's config to `@live` if every gate passes."""
    from live.promotion import GateFailure, PromotionError, load_thresholds, promotion_history
    from live.promotion import promote as do_promote
    from research.config import load_settings

    settings = load_settings()
    if list_:
        rows = promotion_history(settings)
        if not rows:
            typer.echo("no promoted versions")
        for r in rows:
            typer.echo(f"v{r['version']:>3}  run {r['run_id']}  hash {r['config_hash'][:12]}  "
                       f"{r['promoted_at']}  {r['config_name']}  "
                       f"{','.join('@' + a for a in r['aliases'])}")
        return
    if not run_id:
        _fail("qlab promote: give a RUN_ID (or --list)", 2)
    try:
        lc = do_promote(run_id, settings, load_thresholds(gates))
    except GateFailure as exc:
        _fail(f"promotion refused: {exc}", 1)
    except PromotionError as exc:
        _fail(f"promotion refused: {exc}", 1)
    typer.echo(f"promoted run {run_id} as {settings.tracking.registered_model} version "
               f"{lc.version} @{settings.tracking.live_alias} (config hash {lc.config_hash[:12]})")


def live(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and log; send nothing.")
                       ] = False,
    paper: Annotated[bool, typer.Option("--paper", help="Trade the Tiger paper account.")
                     ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Run config file (only with "
                                                "--dry-run; otherwise @live is used).")] = None,
    bars: Annotated[int | None, typer.Option("--bars", help="Stop after N bars.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First session of minute bars "
                                              "(default today).")] = None,
    idle_polls: Annotated[int, typer.Option("--idle-polls", help="Stop after N polls without "
                                            "a new bar (0: never).")] = 0,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Seconds between bar polls.")] = 5.0,
    kill_file: Annotated[Path | None, typer.Option("--kill-file", help="Halt when this file "
                                                   "exists.")] = None,
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", help="Prometheus port on "
                                                     "127.0.0.1 (0: any).")] = None,
    status_port: Annotated[int | None, typer.Option("--status-port", help="JSON status port on "
                                                    "127.0.0.1 (0: any).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Journal / order-id prefix.")
                      ] = None,
    tiger_public_key: Annotated[Path | None, typer.Option(
        "--tiger-public-key-file", help="Gateway response key (sandbox/test gateways).",
        hidden=True)] = None,
) -> None:
    """Trade the promoted config through Tiger (or --dry-run any config)."""
    from live.main import LiveStartError, run_live

    try:
        n = run_live(dry_run=dry_run, paper=paper, config_path=config, max_bars=bars,
                     since=since, idle_polls=idle_polls, poll_s=poll_s, kill_file=kill_file,
                     metrics_port=metrics_port, status_port=status_port, run_id=run_id,
                     tiger_public_key_file=tiger_public_key)
    except LiveStartError as exc:
        _fail(f"qlab live: {exc}", 1)
    typer.echo(f"qlab live: {n} bar(s) processed")


def mount(app: typer.Typer) -> None:
    """Add ``validate-run``, ``promote`` and ``live`` to the ``qlab`` app."""
    app.command("validate-run")(validate_run)
    app.command("promote")(promote)
    app.command("live")(live)


live_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
live_app.command()(live)
