"""``qlab backtest``: a run config's portfolio backtest through the trading loop's replay (see
:mod:`sim.backtest`), printed and optionally written as the documented JSON. Only typer is
imported at module level, so ``qlab --help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import (
    dates_or_exit,
    fail,
    output_file_or_exit,
    run_config_or_exit,
    settings_or_exit,
    write_output_or_exit,
)


def backtest(
    config: Annotated[Path, typer.Argument(help="Run config (YAML), e.g. configs/*.yaml.")],
    bars: Annotated[str | None, typer.Option(
        "--bars", help="sp500_daily (the embedded real daily closes, 1990-2022), a dataset of "
        "the store (daily or minute bars) or a CSV/Parquet file in the bar schema (default: "
        "the config's universe.dataset).")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First session traded (default: universe.start; the data before it "
        "is the lookback).")] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last session traded (default: universe.end, else the data's last).")
    ] = None,
    frequency: Annotated[str | None, typer.Option(
        "--frequency", help="daily or minute (default: the data's own; minute bars can be "
        "replayed daily, aggregated).")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="replay: the trading loop over the simulated broker; vectorbt: the "
        "fast research path on daily closes (the config's strategy and schedule, flat costs, "
        "no risk limits, no execution algorithm).")] = "replay",
    slippage_bps: Annotated[float | None, typer.Option(
        "--slippage-bps", help="vectorbt engine: slippage on each order's price, bps "
        "(default 5).")] = None,
    fee_bps: Annotated[float | None, typer.Option(
        "--fee-bps", help="vectorbt engine: fees, bps of each order's value (default 5).")
    ] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the simulated market (default: settings.simulation.seed), kept "
        "in meta.seed. Its default model draws nothing at random (fills follow from the bars "
        "and the response model), so today every seed gives the same JSON; only fault "
        "injection and the bar synthesiser (their own seeds) are random.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result JSON "
                                                  "here (schema qlab.backtest/1).")] = None,
) -> None:
    """Backtest CONFIG: its portfolio strategy, rebalance schedule, execution algorithm and
    risk limits traded bar by bar through the loop `qlab live` runs, on the simulated broker;
    prints the metrics (against the S&P 500 index) and the costs by component."""
    import json

    from research.data.schema import Frequency

    if frequency is not None:
        try:
            frequency = Frequency.parse(frequency).value
        except ValueError as exc:
            fail(f"--frequency: {exc}", 2)
    costs = None
    if engine == "vectorbt":
        from research.analytics import FlatCosts, VectorbtPathInputError

        try:
            costs = FlatCosts(**{k: v for k, v in (("slippage_bps", slippage_bps),
                                                   ("fee_bps", fee_bps)) if v is not None})
        except VectorbtPathInputError as exc:
            fail(f"--slippage-bps/--fee-bps: {exc}", 2)
    elif engine != "replay":
        fail(f"--engine {engine!r}: replay or vectorbt", 2)
    elif slippage_bps is not None or fee_bps is not None:
        fail("--slippage-bps/--fee-bps are the vectorbt engine's flat costs; the replay "
             "prices fills with the simulated market and the config's fee schedule", 2)
    if json_out is not None:
        output_file_or_exit("--json", json_out, "backtest")
    cfg = run_config_or_exit(config)
    settings = settings_or_exit()
    if seed is not None:
        settings = settings.model_copy(update={"simulation": settings.simulation.model_copy(
            update={"seed": int(seed)})})
    dates_or_exit("backtest", start=start, end=end)

    from sim.backtest_data import BacktestDataError, run_config_backtest

    try:
        result = run_config_backtest(cfg, settings, bars=bars, frequency=frequency,
                                     start=start, end=end, engine=engine, costs=costs)
    except BacktestDataError as exc:
        fail(f"backtest: {exc}", 2)
    except ValueError as exc:
        fail(f"backtest: {exc}", 1)
    m = result.metrics
    meta = result.meta
    run_kind = "vectorbt fast path" if engine == "vectorbt" else "replay"
    typer.echo(f"backtest {cfg.name}: {meta.get('data', '')}, {meta['frequency']} {run_kind}, "
               f"{m.start:%Y-%m-%d}..{m.end:%Y-%m-%d} ({m.sessions} sessions), "
               f"{len(result.trades)} fills, {len(result.risk_events)} risk trims/rejects")
    for note in meta.get("assumptions", []):
        typer.echo(f"  assumed: {note}")
    for note in meta.get("not_modelled", []):
        typer.echo(f"  not modelled: {note}")
    for kind in ("dropped_parents", "refused_parents"):  # orders that never traded, and why
        lost = meta.get(kind) or {}
        for pid, why in list(lost.items())[:5]:
            typer.echo(f"  {kind.split('_')[0]}: {pid}: {why}")
        if len(lost) > 5:
            typer.echo(f"  ... {len(lost) - 5} more {kind.replace('_', ' ')} (meta.{kind})")
    if meta["conventions"].get("benchmark"):
        typer.echo(f"  benchmark: {meta['conventions']['benchmark']}")
    for name in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
                 "calmar", "turnover_annual", "cost_drag_bps_annual", "alpha", "beta",
                 "tracking_error", "information_ratio"):
        value = getattr(m, name, None)
        if value is not None:
            typer.echo(f"  {name:<22} {value:,.4f}")
    bps = result.costs_bps()
    typer.echo("costs, $ and bps of traded notional "
               f"(${result.traded_notional:,.0f} traded):")
    for name, dollars in result.costs_dollars.items():
        if dollars != dollars:  # NaN: a component this engine does not have (null in JSON)
            continue
        typer.echo(f"  {name:<12} {dollars:>14,.2f}  {bps[name]:8.2f} bps")
    if json_out is not None:
        text = json.dumps(result.to_json(), indent=1, allow_nan=False)
        write_output_or_exit("--json", json_out,
                             lambda path: path.write_text(text, encoding="utf-8"), "backtest")
        typer.echo(f"JSON: {json_out}")
