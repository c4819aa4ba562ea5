"""``qlab``: the command line over research (data, config, costs, risk, report,
validate-run), sim (tca, backtest, sweep) and live (promote, live, data fetch).

This module is where the ``qlab`` app is built (:func:`build_app`): each area's CLI module
only defines its commands or groups, and nothing else mounts anything. Each of those modules
imports only typer at module level, so ``qlab --help`` stays fast.
``qlab demo`` is the main job: the execution-comparison report on the embedded data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DEMO_REPORT = "execution_comparison"
#: Help of ``qlab data``: research's bar commands and live's ``fetch``, in one group.
DATA_HELP = "Bars: import, validate, list, show, synthesise."


def demo(
    output_dir: Annotated[Path, typer.Option(help="Folder of the HTML report.")] = Path("reports"),
    smoke: Annotated[bool, typer.Option(
        help="A tiny run (few orders, five sessions) that checks the pipeline in under a "
             "minute.")] = False,
    track: Annotated[bool, typer.Option(help="Record the run in MLflow.")] = True,
) -> None:
    """The main job: the execution-comparison report on the embedded data, default parameters.

    Makes sure the embedded SYNTHETIC minute bars are in the store (synthesised on first use),
    runs notebooks/execution_comparison.ipynb into OUTPUT_DIR/execution_comparison.html and
    prints its path and the headline numbers.
    """
    import sys
    import time

    from research.config import load_settings
    from research.data import BarStore, SynthParams, ensure_synthetic_datasets
    from research.reports.runner import ReportError, run_report
    from sim.tca.report import format_headline

    started = time.perf_counter()
    settings = load_settings()
    store = BarStore(settings.data.store_path)
    _, created = ensure_synthetic_datasets(store, SynthParams.from_settings(settings.data),
                                           progress=sys.stderr.isatty())
    typer.echo(f"data     embedded SYNTHETIC minute bars "
               f"({'synthesised now' if created else 'already in the store'}, "
               f"{time.perf_counter() - started:.0f} s)")
    typer.echo(f"running  {DEMO_REPORT} report{' (smoke)' if smoke else ''} ...")
    try:
        html = run_report(DEMO_REPORT, {"smoke": True} if smoke else {}, output_dir=output_dir,
                          track=track, settings=settings)
    except ReportError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"report   {html} ({html.stat().st_size / 1e6:.1f} MB, self-contained, opens "
               "offline)")
    metrics_path = html.with_name(f"{DEMO_REPORT}.metrics.json")
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        typer.echo(f"headline implementation shortfall vs arrival mid, bps [95% CI]; "
                   f"{metrics['n_orders']} paired orders, {metrics['n_sessions']} sessions, "
                   "SYNTHETIC data")
        typer.echo(format_headline(metrics))
    typer.echo(f"done in {time.perf_counter() - started:.0f} s")


def _execution_comparison_params():
    # imported when a report is validated, not when `qlab --help` starts
    from sim.tca.params import ExecutionComparisonParams

    return ExecutionComparisonParams


def _risk_limits_params():
    from sim.risk_limits_params import RiskLimitsParams

    return RiskLimitsParams


def _backtest_report_params():
    from sim.backtest_params import BacktestReportParams

    return BacktestReportParams


def _replay_venue(config, settings, dataset, since):
    # imported when `qlab live --replay` runs, not when `qlab --help` starts
    from sim.live_replay import replay_venue

    return replay_venue(config, settings, dataset, since)


def register_reports() -> None:
    """Declare the simulated world's report notebooks to research's report runner (which
    cannot import sim) with their parameters models."""
    from research.reports.params import register_params_model

    register_params_model(DEMO_REPORT, _execution_comparison_params)
    register_params_model("risk_limits", _risk_limits_params)
    register_params_model("backtest", _backtest_report_params)


def build_app() -> typer.Typer:
    """The ``qlab`` app with every area's commands mounted (a new app on each call)."""
    from live.cli import data_fetch, live, promote, set_replay_venue
    from research.cli import config_app, data_app
    from research.costs.cli import app as costs_app
    from research.reports.cli import register as register_report
    from research.risk.cli import app as risk_app
    from sim.backtest_cli import backtest
    from sim.cli import tca_app
    from sim.sweep.cli import sweep
    from sim.validation_cli import validate_run

    app = typer.Typer(
        name="qlab",
        help="qlab: execution-cost and risk research that replays history through the live "
             "code.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    register_reports()
    register_report(app)
    set_replay_venue(_replay_venue)
    app.command("validate-run")(validate_run)
    app.command("promote")(promote)
    app.command("live")(live)
    app.command("demo")(demo)
    app.command("backtest")(backtest)
    app.command("sweep")(sweep)

    # research's data commands and live's fetch side by side, without either module
    # changing the other's Typer app
    fetch_app = typer.Typer()
    fetch_app.command("fetch")(data_fetch)
    data_group = typer.Typer(help=DATA_HELP, no_args_is_help=True)
    data_group.add_typer(data_app)
    data_group.add_typer(fetch_app)
    app.add_typer(data_group, name="data")

    app.add_typer(config_app, name="config")
    app.add_typer(costs_app, name="costs")
    app.add_typer(risk_app, name="risk")
    app.add_typer(tca_app, name="tca")
    return app


app = build_app()

__all__ = ["app", "build_app", "demo", "register_reports"]
