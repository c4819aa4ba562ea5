"""``qlab sweep SWEEP.yaml``: a grid or seeded random search over a run config's fields, on
joblib (this machine) or a Dask cluster, tracked in MLflow and resumable. Only typer is
imported at module level, so ``qlab --help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail, output_folder_or_exit, settings_or_exit


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep file (YAML), e.g. "
                                               "configs/sweeps/*.yaml.")],
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address (tcp://HOST:8786): run the points on that "
        "cluster (default: DASK_SCHEDULER_ADDRESS if set, else joblib on this machine).")
    ] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", help="joblib (loky) worker processes on this machine; -1: every core.")] = 2,
    out: Annotated[Path, typer.Option(
        "--out", help="Folder of the results: NAME.parquet, NAME.csv, NAME.html, "
        "NAME.summary.json.")] = Path("reports/sweeps"),
    track: Annotated[bool, typer.Option(
        "--track/--no-track", help="Record the sweep in MLflow (a parent run, a child per "
        "point); without it nothing is recorded and nothing can be resumed.")] = True,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="A progress bar (default: on a terminal; plain "
        "lines otherwise).")] = None,
) -> None:
    """Run every point of SWEEP_FILE (a base run config and a grid and/or seeded random search
    over its fields) as a backtest or on the vectorbt research path. Every point is validated
    before anything runs. A sweep run again resumes: points already recorded as finished (by
    config hash) are not run again."""
    from sim.sweep.executors import ExecutorError, describe, scheduler_address
    from sim.sweep.spec import SweepSpecError, load_sweep

    try:
        spec, base = load_sweep(sweep_file)
    except SweepSpecError as exc:
        fail(f"sweep: {exc}", 2)
    output_folder_or_exit("--out", out, "sweep")
    settings = settings_or_exit()
    address = scheduler_address(scheduler)
    if address is not None and not address.startswith(("tcp://", "tls://", "inproc://",
                                                        "ucx://")):
        fail(f"sweep: --scheduler {address!r} is not an address like tcp://HOST:8786", 2)

    from sim.sweep.runner import run_sweep

    typer.echo(f"sweep {spec.name}: task {spec.task}, {describe(jobs, address)}", err=True)
    try:
        result = run_sweep(spec, base, settings, out_dir=out, jobs=jobs, scheduler=address,
                           track=track, bar=progress)
    except SweepSpecError as exc:
        fail(f"sweep: {exc}", 2)
    except ExecutorError as exc:
        fail(f"sweep: {exc}", 2)
    table = result.table
    failed = table[table["status"] != "FINISHED"]
    typer.echo(f"points   {len(table)} ({result.executed} run now, {result.skipped} recorded "
               f"before{f', {result.duplicates} duplicate draws dropped' if result.duplicates else ''})"
               f"; {len(failed)} failed")
    for _, row in failed.head(5).iterrows():
        typer.echo(f"  point {row['point']}: {row['error']}")
    caution = result.caution
    if caution["best_point"] is not None:
        best = table.loc[table["point"] == caution["best_point"]].iloc[0]
        values = ", ".join(f"{k}={best[k]}" for k in spec.fields)
        typer.echo(f"best     point {caution['best_point']} ({values}): Sharpe "
                   f"{caution['best_sharpe_annual']:.2f}")
    typer.echo(f"caution  {caution['note']}")
    if result.parent_run_id:
        typer.echo(f"mlflow   parent run {result.parent_run_id} "
                   f"({settings.tracking.mlflow_tracking_uri})")
    for kind, path in result.paths.items():
        typer.echo(f"{kind:<8} {path}")
    if len(failed):
        raise typer.Exit(1)


__all__ = ["sweep"]
