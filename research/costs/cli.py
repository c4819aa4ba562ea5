"""``qlab costs`` commands: estimate order costs, calibrate impact, Almgren-Chriss schedules.

Mounted by the main CLI as ``app.add_typer(costs.cli.app, name="costs")``. Only typer is
imported at module level; numpy, pandas and the cost model load inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Trading-cost model: estimate, calibrate, Almgren-Chriss schedules.",
                  no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _read_table(path: Path):
    import pandas as pd

    if not path.exists():
        _fail(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".json":
        return pd.read_json(path, orient="records")
    return pd.read_csv(path)


def _market_from_orders(orders):
    """One market row per symbol from per-order market columns; they must agree."""
    from research.costs._model import MARKET_COLUMNS

    cols = [c for c in MARKET_COLUMNS if c in orders.columns]
    if not cols:
        return None
    per_symbol = orders.groupby("symbol")[cols]
    inconsistent = [s for s, g in per_symbol if (g.nunique(dropna=False) > 1).any()]
    if inconsistent:
        _fail(f"orders give different market values for symbol(s) {inconsistent[:5]}; "
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
        help="Calibration JSON from 'qlab costs calibrate'.")] = None,
    compare: Annotated[bool, typer.Option(help="Price every strategy and rank them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
):
    """Expected cost of each order (bps and $): spread, impact, timing risk, fees, total."""
    import pandas as pd

    from research.config import load_settings
    from research.costs import CostModel, load_calibration

    table = _read_table(orders)
    market_frame = (_read_table(market).set_index("symbol") if market is not None
                    else _market_from_orders(table))
    overrides = {"impact_law": impact_law} if impact_law else {}
    try:
        model = CostModel.from_settings(load_settings().costs, **overrides)
        if calibration is not None:
            model.set_params(**{**load_calibration(calibration).model_params(), **overrides})
        result = (model.compare_strategies(table, market_frame) if compare
                  else model.predict(table, market_frame))
    except ValueError as exc:
        _fail(f"error: {exc}", 2)
    if as_json:
        typer.echo(result.reset_index().to_json(orient="records", indent=2))
        return
    shown = ["strategy", "symbol", "side", "quantity", "spread_bps", "temporary_impact_bps",
             "permanent_impact_bps", "timing_risk_bps", "opportunity_cost_bps", "fees_bps",
             "total_bps", "total_usd", "rank"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        typer.echo(result[[c for c in shown if c in result.columns]].round(3).to_string())


@app.command("calibrate")
def calibrate(
    fills: Annotated[Path, typer.Argument(help="Executions table (CSV, Parquet or JSON).")],
    law: Annotated[str, typer.Option(help="square_root or almgren_2005.")] = "square_root",
    out: Annotated[Path | None, typer.Option(help="Write the fitted parameters (JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
):
    """Fit impact coefficients (and the spread profile) by robust regression."""
    from research.costs import calibrate_impact

    table = _read_table(fills)
    try:
        result = calibrate_impact(table, law)
    except (ValueError, RuntimeError) as exc:
        _fail(f"error: {exc}", 2)
    if out is not None:
        result.save(out)
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
        _fail(f"error: {exc}", 2)
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
