"""Command line of the simulated world. ``tca_app`` is mounted by ``qlab/cli.py`` as ``qlab tca``.

Only typer is imported at module level; the study is imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail, output_file_or_exit, settings_or_exit, write_output_or_exit
from research.domain import Algorithm  # standard library only: --help stays fast

tca_app = typer.Typer(help="Transaction-cost analysis: execution strategies compared on the "
                           "same simulated market path.", no_args_is_help=True,
                      pretty_exceptions_enable=False, add_completion=False)


def check_study_arguments(bars: str, start: str | None, end: str | None, settings) -> tuple[
        str | None, str | None]:
    """Refuse, before anything loads, the arguments that cannot make a study: an unknown
    dataset, a date that is not one, a window upside down or without a trading session.
    Returns (start, end) as ISO dates."""
    from research.config import parse_iso_date
    from research.data import BarStore, known_bar_datasets, looks_like_file
    from research.data.calendar import sessions

    if not looks_like_file(bars):
        known = known_bar_datasets(BarStore(settings.data.store_path))
        if bars not in known:
            fail(f"tca: --bars {bars!r} is neither a file nor a known dataset (known: "
                  f"{', '.join(sorted(known))}; a file needs a .csv or .parquet suffix)", 2)
    dates = {}
    for option, value in (("--start", start), ("--end", end)):
        if value is not None:
            try:
                dates[option] = parse_iso_date(value)
            except ValueError as exc:
                fail(f"tca: {option}: {exc}", 2)
    first, last = dates.get("--start"), dates.get("--end")
    if first is not None and last is not None:
        if first > last:
            fail(f"tca: --start {first} is after --end {last}", 2)
        if len(sessions(first, last, settings.data.calendar)) == 0:
            fail(f"tca: --start {first} .. --end {last} contains no trading session of "
                  f"{settings.data.calendar}", 2)
    return (first.isoformat() if first else None), (last.isoformat() if last else None)


@tca_app.command("compare")
def compare(
    bars: Annotated[str, typer.Option("--bars", help="Bar file (CSV/Parquet in the bar schema, "
                                      "quotes optional) or dataset name.")] = "sp500_synthetic_minute",
    orders: Annotated[str, typer.Option("--orders", help="Parent-order file, or a generator: "
                                        "'synthetic' or 'rebalance'.")] = "synthetic",
    strategies: Annotated[str, typer.Option("--strategies", help="Comma-separated strategies "
                                            "(market is always the baseline).")
                          ] = ",".join(a.value for a in Algorithm),
    seed: Annotated[int, typer.Option("--seed", help="Seed of orders, market and bootstrap.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", dir_okay=False,
                                                  help="Write the result JSON here.")] = None,
    n_orders: Annotated[int, typer.Option("--n-orders", min=1,
                                          help="Orders of the synthetic generator.")] = 500,
    start: Annotated[str | None, typer.Option("--start", help="First study session (YYYY-MM-DD).")
                     ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last study session (YYYY-MM-DD).")
                   ] = None,
    capital: Annotated[float | None, typer.Option("--capital", min=1.0, max=1e13,
                                                  help="Rebalance capital, $.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1,
                                      help="Strategies run in parallel processes.")] = 1,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Record an MLflow run.")
                     ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
) -> None:
    """Execute every parent order with every strategy on the same market path and compare
    implementation shortfall against the arrival mid (bps; 95% intervals from day totals,
    t(G-1), so they stay honest with few days)."""
    import time

    from sim.tca import STRATEGY_NAMES, compare_strategies
    from sim.tca.order_sets import parent_order_set
    from sim.tca.study_bars import load_study_bars

    names = [s.strip().lower() for s in strategies.split(",") if s.strip()]
    bad = [s for s in names if s not in STRATEGY_NAMES]
    if bad or not names:
        fail(f"--strategies: unknown {bad}; choose from {','.join(STRATEGY_NAMES)}", 2)
    if json_out is not None:
        output_file_or_exit("--json", json_out, "tca compare")
    settings = settings_or_exit()
    start, end = check_study_arguments(bars, start, end, settings)
    try:
        frame, bars_desc, synthetic = load_study_bars(bars, settings, start, end)
        parents, orders_desc = parent_order_set(orders, frame, n_orders=n_orders, seed=seed,
                                                start=start, end=end, capital=capital)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        fail(f"tca compare: {exc}", 2)
    from research.data import frame_hash

    data_hash = frame_hash(frame)
    params = {"bars": bars, "orders": orders, "orders_description": orders_desc,
              "strategies": ",".join(names), "n_orders": len(parents), "start": start,
              "end": end, "simulation": settings.simulation.model_dump(),
              "costs": settings.costs.model_dump(mode="json")}
    from research.tracking import tracked_run

    t0 = time.perf_counter()
    with tracked_run("tca_compare", params, settings=settings, data_hash=data_hash, seed=seed,
                     enabled=track) as run:
        try:
            result = compare_strategies(
                frame, parents, names, settings, seed, progress=None if quiet else True,
                bars_description=bars_desc, synthetic=synthetic,
                data_hash=data_hash, n_jobs=jobs)
        except ValueError as exc:
            fail(f"tca compare: {exc}", 2)
        summary = result.summary
        summary["meta"]["orders_description"] = orders_desc
        metrics = {"strategies": {n: {"is_bps": s["is_bps"], "fill_rate": s["fill_rate"]}
                                  for n, s in summary["strategies"].items()},
                   # an unbounded ratio (market cost not resolved above 0) is not logged
                   "paired_vs_market": {n: {"reduction_pct": p["reduction_pct"] if
                                            p["reduction_pct"].get("defined", True) else
                                            {"defined": False},
                                            "diff_bps": p["diff_bps"]}
                                        for n, p in summary["paired_vs_market"].items()},
                   "elapsed_s": time.perf_counter() - t0}
        run.log_metrics(metrics, non_numeric="skip")
        run.log_dict(summary, "results/tca_compare.json")
        if json_out is not None:
            write_output_or_exit("--json", json_out, result.write_json, "tca compare")
    label = "SYNTHETIC data" if synthetic else "data"
    typer.echo(f"\n{label}: {bars_desc}; orders: {orders_desc}")
    typer.echo(result.format_table())
    typer.echo(f"IS = implementation shortfall vs the arrival mid, bps (positive = cost); "
               f"95% intervals: {result.interval_label()}; "
               f"{time.perf_counter() - t0:.1f} s")
    if json_out is not None:
        typer.echo(f"JSON: {json_out}")


@tca_app.command("sensitivity")
def sensitivity_cmd(
    bars: Annotated[str, typer.Option("--bars")] = "sp500_synthetic_minute",
    orders: Annotated[str, typer.Option("--orders")] = "synthetic",
    strategies: Annotated[str, typer.Option("--strategies")] = "market,limit,twap",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    n_orders: Annotated[int, typer.Option("--n-orders", min=1)] = 200,
    start: Annotated[str | None, typer.Option("--start")] = None,
    end: Annotated[str | None, typer.Option("--end")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", dir_okay=False,
                                                 help="Write the table here.")] = None,
) -> None:
    """Rerun the comparison over the assumption grid (impact Y, limit-fill rule, participation
    cap, spread source) and print ranking and % reduction per cell."""
    import pandas as pd

    from sim.tca.order_sets import parent_order_set
    from sim.tca.sensitivity import sensitivity
    from sim.tca.study_bars import load_study_bars

    if csv_out is not None:
        output_file_or_exit("--csv", csv_out, "tca sensitivity")
    settings = settings_or_exit()
    start, end = check_study_arguments(bars, start, end, settings)
    try:
        frame, _, _ = load_study_bars(bars, settings, start, end)
        parents, _ = parent_order_set(orders, frame, n_orders=n_orders, seed=seed, start=start,
                                      end=end)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        fail(f"tca sensitivity: {exc}", 2)
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    table = sensitivity(frame, parents, names, settings, seed, progress=typer.echo)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        typer.echo(table[["axis", "value", "strategy", "is_bps", "is_ci_lo", "is_ci_hi",
                          "reduction_pct", "reduction_ci_lo", "reduction_ci_hi",
                          "clusters"]].to_string(index=False))
    typer.echo("95% intervals: t(G-1) on day totals (G = clusters, trading days); the "
               "cells rerun the same orders on one market path")
    if csv_out is not None:
        write_output_or_exit("--csv", csv_out, lambda path: table.to_csv(path, index=False),
                             "tca sensitivity")
