"""``qlab backtest``: a run config's portfolio backtest through the trading loop's replay (see
:mod:`sim.backtest`), printed and optionally written as the documented JSON. Only typer is
imported at module level, so ``qlab --help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail, settings_or_exit


def backtest(
    config: Annotated[Path, typer.Argument(help="Run config (YAML), e.g. configs/*.yaml.")],
    bars: Annotated[str | None, typer.Option(
        "--bars", help="Minute bars: a CSV/Parquet file in the bar schema or a dataset of the "
        "store (default: the config's universe.dataset).")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First session traded (default: universe.start; the bars before it "
        "fit the cost model).")] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last session traded (default: universe.end).")] = None,
    frequency: Annotated[str, typer.Option(
        "--frequency", help="Bar frequency of the replay: minute (daily is not available "
        "yet).")] = "minute",
    engine: Annotated[str, typer.Option(
        "--engine", help="replay: the trading loop over the simulated broker.")] = "replay",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result JSON "
                                                  "here (schema qlab.backtest/1).")] = None,
) -> None:
    """Backtest CONFIG: its portfolio strategy, rebalance schedule, execution algorithm and
    risk limits traded bar by bar through the loop `qlab live` runs, on the simulated broker;
    prints the metrics (against the S&P 500 index) and the costs by component."""
    import json

    import pandas as pd

    from research.config import ConfigFileError, load_run_config

    if frequency != "minute":
        fail(f"--frequency {frequency!r}: only minute bars can be replayed for now (a daily "
             "replay needs a daily execution model of the simulated market)", 2)
    if engine != "replay":
        fail(f"--engine {engine!r}: only 'replay' is wired to this command; the vectorbt "
             "research path is research.analytics.vectorbt_path", 2)
    if json_out is not None and json_out.is_dir():
        fail(f"--json {json_out}: is a directory; name a file", 2)
    try:
        cfg = load_run_config(config)
    except ConfigFileError as exc:
        fail(str(exc), 2)
    settings = settings_or_exit()
    start = start or cfg.universe.start
    end = end or cfg.universe.end
    if start is None:
        fail("backtest: no --start and no universe.start in the config: name the first "
             "session to trade (the bars before it fit the cost model)", 2)
    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end) if end else None
    except ValueError as exc:
        fail(f"backtest: --start/--end: {exc}", 2)
    if last is not None and last < first:
        fail(f"backtest: --end {end} is before --start {start}", 2)

    from research.costs import CostModel
    from research.data import load_sp500_closes, load_sp500_index
    from research.data.schema import EXCHANGE_TZ
    from sim.backtest import run_backtest
    from sim.driver import daily_closes_of
    from sim.tca.study_bars import load_study_bars

    spec = bars or cfg.universe.dataset
    try:
        frame, description, synthetic = load_study_bars(spec, settings, start, end)
    except (OSError, ValueError) as exc:
        fail(f"backtest: --bars {spec}: {exc}", 2)
    symbols = cfg.universe.symbols or sorted(frame["symbol"].unique())
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        fail(f"backtest: {description} has no bars for universe symbol(s) {missing}", 2)
    frame = frame[frame["symbol"].isin(symbols)]
    day = frame["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()
    history, traded = frame[day < first], frame[day >= first]
    if history.empty or traded.empty:
        fail(f"backtest: {description} needs bars before {first:%Y-%m-%d} (to fit the cost "
             "model) and from it on (to trade)", 2)
    embedded = load_sp500_closes()
    if set(symbols) <= set(embedded.columns):  # the real daily closes: years of lookback
        closes = embedded[symbols].loc[embedded.index < first]
    else:
        closes = daily_closes_of(history)[symbols]
    try:
        model = CostModel.for_run(cfg.cost_model, settings.costs).fit(history)
        result = run_backtest(cfg, settings, traded.reset_index(drop=True),
                              daily_closes=closes, cost_model=model,
                              benchmark=load_sp500_index())
    except ValueError as exc:
        fail(f"backtest: {exc}", 1)
    m = result.metrics
    tag = "SYNTHETIC " if synthetic else ""
    typer.echo(f"backtest {cfg.name}: {tag}{description}, {m.start:%Y-%m-%d}..{m.end:%Y-%m-%d} "
               f"({m.sessions} sessions), {len(result.trades)} fills, "
               f"{len(result.risk_events)} risk trims/rejects")
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
        typer.echo(f"  {name:<12} {dollars:>14,.2f}  {bps[name]:8.2f} bps")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_json(), indent=1, allow_nan=False),
                            encoding="utf-8")
        typer.echo(f"JSON: {json_out}")
