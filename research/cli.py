"""research's commands: ``qlab data ...`` (bars) and ``qlab config ...`` (settings, run
configs). The ``qlab`` app itself is built by ``qlab/cli.py``, which mounts these groups.

Only typer is imported at module level: numpy, pandas, mlflow, cvxpy and friends are imported
inside the commands, so ``qlab --help`` answers instantly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail, output_file_or_exit, settings_or_exit, write_output_or_exit

#: ``qlab data``: research's bar commands (qlab/ adds live's ``data fetch`` beside them).
data_app = typer.Typer(no_args_is_help=True)
config_app = typer.Typer(help="Settings and run configs.", no_args_is_help=True)


def _store():
    from research.data import BarStore

    return BarStore(settings_or_exit().data.store_path)


# ------------------------------------------------------------------------------------ config
@config_app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False):
    """Print the effective settings (environment + .env + defaults); secrets are masked."""
    from research.config import masked_settings

    settings = masked_settings(settings_or_exit())
    if as_json:
        typer.echo(json.dumps(settings, indent=2))
        return
    for group, values in settings.items():
        typer.echo(f"[{group}]")
        for key, value in values.items():
            typer.echo(f"  {key} = {value}")


@config_app.command("validate")
def config_validate(path: Path):
    """Validate a YAML run config; list every error with its field path, exit 1 on error."""
    from research.config import ConfigFileError, load_run_config
    from research.data import known_run_datasets

    # Checked against what this checkout knows: the store's datasets, the embedded ones, the
    # fee schedules and the calibration file on disk, not only the shape of the YAML.
    try:
        cfg = load_run_config(path, known_datasets=known_run_datasets(_store()))
    except ConfigFileError as exc:
        fail(str(exc))
    typer.echo(f"{path}: valid run config {cfg.name!r}")


# -------------------------------------------------------------------------------------- data
def _validate_source(spec: str, frequency, assume_tz):
    """(frame, report, label) for a file or a stored dataset."""
    from research.data import BarStore, FileSource, looks_like_file, validate_bars

    if looks_like_file(spec):
        path = Path(spec)
        frame = FileSource(path, assume_tz, frequency).read_raw()
        return frame, validate_bars(frame, frequency), str(path)
    store: BarStore = _store()
    frame = store.read(spec)
    return frame, validate_bars(frame, frequency or store.info(spec).frequency), f"dataset {spec}"


@data_app.command("validate")
def data_validate(
    source: Annotated[str, typer.Argument(help="A CSV/Parquet file or a dataset name.")],
    frequency: Annotated[str | None, typer.Option(help="daily or minute (default: inferred).")] = None,
    assume_tz: Annotated[str | None, typer.Option(help="Zone of naive timestamps.")] = None,
    repair: Annotated[Path | None, typer.Option(
        "--repair", dir_okay=False,
        help="Write the rows that pass to this file and list each dropped row.")] = None,
    limit: Annotated[int, typer.Option(help="Violations to print (0 = all).")] = 0,
):
    """Check bars against the schema; name every offending row; exit 1 if any."""
    from research.data import BarValidationError, repair_bars

    if repair is not None:
        output_file_or_exit("--repair", repair, "data validate")
    try:
        frame, report, label = _validate_source(source, frequency, assume_tz)
    except (BarValidationError, FileNotFoundError, KeyError, ValueError) as exc:
        fail(str(exc))
    if report.ok:
        typer.echo(f"{label}: {report.summary()} ({report.frequency})")
        return
    typer.echo(f"{label}: {report.summary(limit or None)}", err=True)
    if repair is not None:
        try:
            kept, dropped = repair_bars(frame, report)
        except BarValidationError as exc:
            fail(str(exc))
        write_output_or_exit("--repair", repair, lambda path: _write_frame(kept, path),
                             "data validate")
        typer.echo(f"repaired: dropped {len(report.offending_rows)} row(s), wrote {len(kept)} "
                   f"row(s) to {repair}", err=True)
    raise typer.Exit(1)


def _write_frame(frame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


@data_app.command("import")
def data_import(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file in the bar schema.",
                                         dir_okay=False)],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file stem).")] = None,
    frequency: Annotated[str | None, typer.Option(help="daily or minute (default: inferred).")] = None,
    assume_tz: Annotated[str | None, typer.Option(help="Zone of naive timestamps.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace an existing dataset.")] = False,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Drop offending rows (each listed) instead of refusing the file.")] = False,
    synthetic: Annotated[bool, typer.Option(help="Label the dataset synthetic.")] = False,
):
    """Validate a file and add it to the store; on any error the store is left untouched."""
    from research.data import BarValidationError, FileSource, repair_bars, validate_bars

    if name is not None and not name.strip():
        # an empty --name (an unset shell variable) is a mistake, not a request for the
        # default: falling back to the file's stem could replace another dataset
        fail("--name is empty: give the dataset a name, or leave --name out to use the file's "
             f"stem ({path.stem!r})\nnothing imported", 2)
    name = name or path.stem
    try:
        frame = FileSource(path, assume_tz, frequency).read_raw()
        report = validate_bars(frame, frequency)
        if not report.ok:
            if not repair:
                fail(f"{path}: {report.summary(None)}\nnothing imported")
            frame, dropped = repair_bars(frame, report)
            for v in dropped:
                typer.echo(f"dropped: {v}", err=True)
        info = _store().write(name, frame, source=f"file {path}", synthetic=synthetic,
                              frequency=frequency, replace=replace)
    except (BarValidationError, FileNotFoundError, FileExistsError, ValueError) as exc:
        fail(f"{exc}\nnothing imported")
    typer.echo(f"imported {info.rows} rows, {len(info.symbols)} symbol(s) as dataset "
               f"{info.name!r} ({info.frequency}, {info.start} .. {info.end})")


@data_app.command("list")
def data_list(as_json: Annotated[bool, typer.Option("--json")] = False):
    """List the datasets in the local store and the data embedded in qlab."""
    from dataclasses import asdict

    from research.data import embedded_data

    infos = _store().list()
    stored = {i.name for i in infos}
    embedded = embedded_data()
    if as_json:
        typer.echo(json.dumps({
            "store": [asdict(i) for i in infos],
            "embedded": [{**asdict(e), "in_store": e.name in stored} for e in embedded],
        }, indent=2))
        return
    typer.echo("store:" if infos else
               "store: empty (`qlab data synth` builds the synthetic datasets below, "
               "`qlab data import FILE` adds yours)")
    for i in infos:
        label = "SYNTHETIC" if i.synthetic else "real"
        quotes = "quotes" if i.has_quotes else "no quotes"
        typer.echo(f"  {i.name:28s} {i.frequency:7s} {len(i.symbols):3d} symbols "
                   f"{i.rows:>10,d} rows  {i.start[:10]} .. {i.end[:10]}  {quotes:9s} {label}")
    typer.echo("embedded (offline, no download):")
    for e in embedded:
        label = "SYNTHETIC" if e.synthetic else "real"
        where = ("in the store" if e.name in stored else "built on first use") \
            if e.kind == "bars" else "closes only"
        typer.echo(f"  {e.name:28s} {e.frequency:7s} {len(e.symbols):3d} symbols  "
                   f"{e.start} .. {e.end}  {label:9s} {where}: {e.description}")


@data_app.command("show")
def data_show(
    dataset: str,
    symbol: Annotated[list[str] | None, typer.Option(help="Restrict to symbol(s).")] = None,
    rows: Annotated[int, typer.Option(min=0, help="Rows of data to print.")] = 5,
):
    """Describe a dataset: provenance, per-symbol coverage and a few rows."""
    import pandas as pd

    from research.data import DatasetNotFound

    store = _store()
    try:
        info = store.info(dataset)
        bars = store.read(dataset, symbol)
    except (DatasetNotFound, KeyError) as exc:
        fail(str(exc))
    typer.echo(f"{info.name}: {info.frequency} bars, "
               f"{'SYNTHETIC' if info.synthetic else 'real'} — {info.source}")
    typer.echo(f"content hash {info.content_hash}, created {info.created}")
    summary = bars.groupby("symbol", observed=True).agg(
        rows=("close", "size"), first=("timestamp", "min"), last=("timestamp", "max"),
        last_close=("close", "last"), mean_volume=("volume", "mean"))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        typer.echo(summary.to_string())
        typer.echo(bars.head(rows).to_string(index=False))


@data_app.command("synth")
def data_synth(
    start: Annotated[str, typer.Option(help="First session (YYYY-MM-DD).")] = "2022-01-01",
    end: Annotated[str, typer.Option(help="Last session; the embedded closes end 2022-12-28.")]
    = "2022-12-28",
    symbol: Annotated[list[str] | None, typer.Option(help="Symbols (default: all 20).")] = None,
    seed: Annotated[int | None, typer.Option(help="Override QLAB_DATA__SYNTH_SEED.")] = None,
):
    """Synthesise minute bars with quotes around the real embedded daily closes (seeded)."""
    import dataclasses

    from research.config import parse_iso_date
    from research.data import (
        SYNTH_DAILY_DATASET,
        SYNTH_MINUTE_DATASET,
        SynthParams,
        ensure_synthetic_datasets,
    )

    for option, value in (("--start", start), ("--end", end)):
        try:
            parse_iso_date(value)
        except ValueError as exc:
            fail(f"data synth: {option}: {exc}")
    settings = settings_or_exit()
    params = SynthParams.from_settings(settings.data)
    if seed is not None:
        params = dataclasses.replace(params, seed=seed)
    store = _store()
    try:
        minute, _ = ensure_synthetic_datasets(store, params, start, end, symbol, replace=True,
                                              progress=sys.stderr.isatty())
    except (ValueError, KeyError) as exc:
        fail(str(exc))
    info = store.info(SYNTH_MINUTE_DATASET)
    typer.echo(f"wrote {info.rows:,d} SYNTHETIC minute bars for {len(info.symbols)} symbols "
               f"({info.start[:10]} .. {info.end[:10]}) as {SYNTH_MINUTE_DATASET!r} and their "
               f"daily aggregate as {SYNTH_DAILY_DATASET!r} in {store.root}")


@data_app.command("summary")
def data_summary():
    """The data pipeline end to end on the embedded data: synthesise the intraday dataset if the
    store lacks it, re-read and re-validate it, and print a summary (``qlab demo`` runs the
    execution-comparison report on it)."""
    import time

    from research.data import (
        SYNTH_MINUTE_DATASET,
        SynthParams,
        ensure_synthetic_datasets,
        validate_bars,
    )

    settings = settings_or_exit()
    store = _store()
    t0 = time.perf_counter()
    _, created = ensure_synthetic_datasets(store, SynthParams.from_settings(settings.data),
                                           progress=sys.stderr.isatty())
    bars = store.read(SYNTH_MINUTE_DATASET)
    report = validate_bars(bars, "minute")
    info = store.info(SYNTH_MINUTE_DATASET)
    first30 = _first_half_hour_share(bars)
    spread = ((bars["ask"] - bars["bid"]) / (0.5 * (bars["ask"] + bars["bid"])) * 1e4).median()
    typer.echo(f"dataset   {info.name} (SYNTHETIC intraday around real closes; "
               f"{'created now' if created else 'already in the store'})")
    typer.echo(f"rows      {info.rows:,d} minute bars, {len(info.symbols)} symbols, "
               f"{info.start[:10]} .. {info.end[:10]}")
    typer.echo(f"valid     {report.summary()}")
    typer.echo(f"volume    first half hour carries {first30:.1%} of the day on average")
    typer.echo(f"spread    median quoted spread {spread:.2f} bps")
    typer.echo(f"output    {store.root / info.name} (hash {info.content_hash}); "
               f"{time.perf_counter() - t0:.1f} s")


def _first_half_hour_share(bars) -> float:
    ts = bars["timestamp"]
    minute_of_day = ts.dt.hour * 60 + ts.dt.minute
    day = ts.dt.normalize()
    total = bars.groupby([bars["symbol"], day], observed=True)["volume"].sum()
    first = bars[minute_of_day <= 10 * 60].groupby(
        [bars["symbol"], day], observed=True)["volume"].sum()
    return float((first / total).mean())
