"""``qlab costs`` commands: estimate order costs, calibrate impact, Almgren-Chriss schedules.

Mounted by the main CLI as ``app.add_typer(costs.cli.app, name="costs")``. Only typer is
imported at module level; numpy, pandas and the cost model load inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail, output_file_or_exit, write_output_or_exit

app = typer.Typer(help="Trading-cost model: estimate, calibrate, Almgren-Chriss schedules.",
                  no_args_is_help=True)


#: The cost model prices a parent order worked within one session (390 minutes); a longer
#: schedule is an Almgren-Chriss problem in days (``qlab costs schedule``).
MAX_HORIZON_MINUTES = 390
_MAX_LISTED = 20


def _read_table(path: Path):
    """The table in ``path``; every way it cannot be read is an error naming the file."""
    import pandas as pd

    from research.data import check_readable_file

    try:
        check_readable_file(path, "table (CSV, Parquet or JSON records)")
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc), 2)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".json":
            try:
                frame = pd.read_json(path, orient="records", encoding="utf-8")
            except ValueError as exc:
                if isinstance(exc, UnicodeDecodeError):
                    raise
                fail(f"{path}: not JSON records ([{{\"order_id\": ...}}, ...]): {exc}", 2)
        else:
            frame = pd.read_csv(path, encoding="utf-8")
    except pd.errors.EmptyDataError:
        fail(f"{path}: the file is empty (not even a header row)", 2)
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8", 2)
    except (pd.errors.ParserError, OSError) as exc:
        fail(f"{path}: cannot be read: {exc}", 2)
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors for a file that is not Parquet
        fail(f"{path}: cannot be read as {suffix.lstrip('.') or 'a table'}: {exc}", 2)
    if frame.empty:
        fail(f"{path}: no rows (only a header?)", 2)
    return frame


def _check_orders(table, path: Path, market_columns_allowed: bool):
    """The orders table checked row by row; returns it with ``start_time`` in New York time.

    The cost model trusts its arrays; a file is where typos, absurd sizes and times outside the
    session come in, so each is named here with its row and order id, all at once.
    """
    import numpy as np
    import pandas as pd

    from research.costs._model import MARKET_COLUMNS, ORDER_COLUMNS
    from research.data.calendar import epoch_ns, session_bounds_for
    from research.data.schema import EXCHANGE_TZ
    from research.strategies.parent_orders import MAX_ORDER_QUANTITY

    allowed = [*ORDER_COLUMNS, "limit_offset_bps", *(MARKET_COLUMNS if market_columns_allowed
                                                     else ())]
    missing = [c for c in ORDER_COLUMNS if c not in table.columns]
    unknown = [str(c) for c in table.columns if c not in allowed]
    if missing or unknown:
        lines = [f"missing column {c!r}" for c in missing]
        lines += [f"unknown column {c!r}" + ("" if market_columns_allowed else
                                               " (market values come from --market)")
                  for c in unknown]
        fail(f"{path}: " + "; ".join(lines) + f". Columns: {', '.join(allowed)}", 2)

    ids = table["order_id"].astype(str).to_numpy()
    problems: list[str] = []

    def report(mask, column: str, reason) -> None:
        for i in np.flatnonzero(mask):
            text = reason(i) if callable(reason) else reason
            problems.append(f"row {i + 1} (order_id {ids[i]!r}): {column}: {text}")

    def numbers(column: str):
        raw = table[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        report(np.isnan(values) & raw.notna().to_numpy(), column,
               lambda i: f"{raw.iloc[i]!r} is not a number")
        return values, raw.isna().to_numpy()

    quantity, absent = numbers("quantity")
    report(absent, "quantity", "missing")
    with np.errstate(invalid="ignore"):
        report(quantity > MAX_ORDER_QUANTITY, "quantity",
               lambda i: f"{quantity[i]:g} shares is more than any company has outstanding "
                         f"(limit {MAX_ORDER_QUANTITY:g})")
        horizon, absent = numbers("horizon_minutes")
        report(absent, "horizon_minutes", "missing")
        report(horizon < 1, "horizon_minutes",
               lambda i: f"{horizon[i]:g} is shorter than one minute, the model's time step")
        report(horizon > MAX_HORIZON_MINUTES, "horizon_minutes",
               lambda i: f"{horizon[i]:g} minutes is longer than a session "
                         f"({MAX_HORIZON_MINUTES}); price multi-day schedules with "
                         "'qlab costs schedule'")
    if "limit_offset_bps" in table.columns:
        numbers("limit_offset_bps")  # empty means the default offset; text is an error

    raw_start = table["start_time"]
    start, mixed = _start_times(raw_start)
    # ISO-8601 reads "-1" as the year -1: outside any calendar, so not a start time either
    years = start.dt.year
    start = start.where(((years >= 1900) & (years <= 2200)).fillna(False))
    report(mixed, "start_time", "no UTC offset while other rows have one")
    if isinstance(start.dtype, pd.DatetimeTZDtype):
        start = start.dt.tz_convert(EXCHANGE_TZ)
    else:  # naive times are New York wall-clock times, as the cost model reads them
        start = start.dt.tz_localize(EXCHANGE_TZ, ambiguous="NaT", nonexistent="NaT")
    unparsed = start.isna().to_numpy() & ~mixed
    report(unparsed, "start_time", lambda i: f"{raw_start.iloc[i]!r} is not a date-time")
    known = ~unparsed
    if known.any():
        opens, closes = session_bounds_for(start[known], "XNYS")
        t = epoch_ns(start[known])
        outside = np.zeros(len(table), dtype=bool)
        outside[known] = (opens < 0) | (t < opens) | (t >= closes)
        report(outside, "start_time",
               lambda i: f"{start.iloc[i]} is outside regular trading hours (not a session, "
                         "or before the open / at or after the close)")
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:_MAX_LISTED])
        more = (f"\n  ... and {len(problems) - _MAX_LISTED} more"
                if len(problems) > _MAX_LISTED else "")
        fail(f"{path}: {len(problems)} problem(s) in the orders\n{shown}{more}", 2)
    return table.assign(start_time=start)


def _start_times(raw):
    """(parsed start times, rows without an offset among rows with one). Offsets may change
    from row to row (a file across a DST change): those are compared as instants."""
    import numpy as np
    import pandas as pd

    none = np.zeros(len(raw), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw, none
    raw = raw.astype("string")  # a column of numbers is not epochs: parse its text
    try:
        return pd.to_datetime(raw, format="ISO8601", errors="coerce"), none
    except ValueError:  # "Mixed timezones detected"
        text = raw.astype("string").str.strip()
        zoned = text.str.contains(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", regex=True)
        mixed = ~zoned.fillna(True).to_numpy(dtype=bool)
        parsed = pd.to_datetime(raw.where(~mixed), format="ISO8601", errors="coerce", utc=True)
        return parsed, mixed


def _market_from_orders(orders):
    """One market row per symbol from per-order market columns; they must agree."""
    from research.costs._model import MARKET_COLUMNS

    cols = [c for c in MARKET_COLUMNS if c in orders.columns]
    if not cols:
        return None
    per_symbol = orders.groupby("symbol")[cols]
    inconsistent = [s for s, g in per_symbol if (g.nunique(dropna=False) > 1).any()]
    if inconsistent:
        fail(f"orders give different market values for symbol(s) {inconsistent[:5]}; "
              f"pass one row per symbol with --market")
    return per_symbol.first()


@app.command("estimate")
def estimate(
    orders: Annotated[Path, typer.Argument(help="Orders table (CSV, Parquet or JSON records).")],
    market: Annotated[Path | None, typer.Option(
        help="Market state per symbol (price, adv, daily_vol, spread_bps); default: "
             "those columns in the orders file.")] = None,
    impact_law: Annotated[str | None, typer.Option(help="square_root or almgren_2005.")] = None,
    calibration: Annotated[Path | None, typer.Option(
        help="Calibration JSON from 'qlab costs calibrate'.", exists=True, dir_okay=False)] = None,
    compare: Annotated[bool, typer.Option(help="Price every algorithm and rank them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
):
    """Expected cost of each order (bps and $): spread, impact, timing risk, fees, total."""
    import pandas as pd

    from research.config import load_settings
    from research.costs import CostModel, load_calibration

    table = _check_orders(_read_table(orders), orders, market_columns_allowed=market is None)
    if market is not None:
        market_table = _read_table(market)
        if "symbol" not in market_table.columns:
            fail(f"{market}: missing column 'symbol'", 2)
        market_frame = market_table.set_index("symbol")
    else:
        market_frame = _market_from_orders(table)
    overrides = {"impact_law": impact_law} if impact_law else {}
    try:
        model = CostModel.from_settings(load_settings().costs, **overrides)
        if calibration is not None:
            model.set_params(**{**load_calibration(calibration).model_params(), **overrides})
        result = (model.compare_algorithms(table, market_frame) if compare
                  else model.predict(table, market_frame))
    except ValueError as exc:
        fail(f"error: {orders}: {exc}", 2)
    if as_json:
        typer.echo(result.reset_index().to_json(orient="records", indent=2))
        return
    shown = ["algorithm", "symbol", "side", "quantity", "spread_bps", "temporary_impact_bps",
             "permanent_impact_bps", "timing_risk_bps", "opportunity_cost_bps", "fees_bps",
             "total_bps", "total_usd", "rank"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        typer.echo(result[[c for c in shown if c in result.columns]].round(3).to_string())


@app.command("calibrate")
def calibrate(
    fills: Annotated[Path, typer.Argument(help="Executions table (CSV, Parquet or JSON).")],
    law: Annotated[str, typer.Option(help="square_root or almgren_2005.")] = "square_root",
    out: Annotated[Path | None, typer.Option(dir_okay=False,
                                             help="Write the fitted parameters (JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
):
    """Fit impact coefficients (and the spread profile) by robust regression."""
    from research.costs import calibrate_impact

    if out is not None:
        output_file_or_exit("--out", out, "costs calibrate")
    table = _read_table(fills)
    try:
        result = calibrate_impact(table, law)
    except (ValueError, RuntimeError) as exc:
        fail(f"error: {exc}", 2)
    if out is not None:
        write_output_or_exit("--out", out, result.save, "costs calibrate")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"law {result.law}: {result.n_obs} executions, residual scale "
               f"{result.residual_scale_bps:.3f} bps")
    for name, value in result.params.items():
        typer.echo(f"  {name:16s} {value:12.6g}  +- {result.std_errors[name]:.3g} (1 s.e.)")
    if result.spread_profile is not None:
        typer.echo("  spread profile: " + " ".join(
            f"{m:.2f}" for m in result.spread_profile.multipliers))
    if out is not None:
        typer.echo(f"written to {out}")


@app.command("schedule")
def schedule(
    shares: Annotated[float, typer.Option(help="Shares to liquidate.")],
    horizon: Annotated[float, typer.Option(help="Horizon, days.")],
    periods: Annotated[int, typer.Option(help="Number of trading periods.")],
    sigma: Annotated[float, typer.Option(help="Volatility, $/share/day^0.5.")],
    eta: Annotated[float, typer.Option(help="Temporary impact, $/share per share/day.")],
    gamma: Annotated[float, typer.Option(help="Permanent impact, $/share per share.")] = 0.0,
    epsilon: Annotated[float, typer.Option(help="Fixed cost, $/share.")] = 0.0,
    risk_aversion: Annotated[float, typer.Option(help="Lambda, 1/$.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
):
    """Almgren-Chriss optimal liquidation schedule: holdings, trades, E, V."""
    from research.costs import AlmgrenChriss

    try:
        result = AlmgrenChriss(sigma=sigma, eta=eta, gamma=gamma, epsilon=epsilon,
                               risk_aversion=risk_aversion).schedule(
            shares=shares, horizon=horizon, periods=periods)
    except ValueError as exc:
        fail(f"error: {exc}", 2)
    if as_json:
        typer.echo(json.dumps({
            "times": result.times.tolist(), "holdings": result.holdings.tolist(),
            "trades": result.trades.tolist(), "expected_cost": result.expected_cost,
            "variance": result.variance, "std": result.std, "kappa": result.kappa,
        }, indent=2))
        return
    typer.echo(f"kappa {result.kappa:.6g}/day   E ${result.expected_cost:,.2f}   "
               f"V {result.variance:.6g} $^2   sd ${result.std:,.2f}")
    typer.echo(f"{'t (days)':>10s} {'holdings':>16s} {'trade':>16s}")
    for k, t in enumerate(result.times):
        trade = "" if k == 0 else f"{result.trades[k - 1]:16,.1f}"
        typer.echo(f"{t:10.4g} {result.holdings[k]:16,.1f} {trade}")
