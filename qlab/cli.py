"""``qlab``: the command line over research (data, config, costs, risk, report), sim (tca)
and live (validate-run, promote, live).

Each area's CLI module imports only typer at module level, so ``qlab --help`` stays fast.
``qlab demo`` is the main job: the execution-comparison report on the embedded data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from research.cli import app

DEMO_REPORT = "execution_comparison"


def _mount_areas() -> None:
    from live.cli import mount as mount_live
    from sim.cli import tca_app

    app.add_typer(tca_app, name="tca")
    mount_live(app)  # validate-run, promote, live


_mount_areas()


@app.command("demo")
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


__all__ = ["app", "demo"]
