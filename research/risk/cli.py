"""``qlab risk``: risk snapshot and VaR backtest of a weighted book on a price dataset.

    qlab risk snapshot --equal-weight --json
    qlab risk snapshot --weights book.yaml --horizon 21 --method historical
    qlab risk backtest --weights book.json --confidence 0.99 --window 252

Data: by default the S&P 500 daily closes embedded in skfolio (20 names, 1990-2022, offline);
``--prices`` reads a wide CSV instead (first column dates, one column of closes per symbol).
Weights: a JSON or YAML file mapping symbol → signed fraction of NAV, or ``--equal-weight``.
Numbers are fractions (0.05 = 5%); ``--json`` prints machine-readable output.

Imports of numpy/pandas/skfolio happen inside the commands so that ``qlab --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from research.cli_exit import fail

app = typer.Typer(help="Portfolio risk: snapshot and VaR backtest.", no_args_is_help=True)

_WEIGHTS_HELP = "JSON/YAML file mapping symbol -> weight (signed fraction of NAV)."


def _load_prices(prices: Path | None, end: str | None) -> Any:

    if end is not None:
        from research.config import parse_iso_date

        try:
            end = parse_iso_date(end).isoformat()
        except ValueError as exc:
            fail(f"error: --end: {exc}", 2)
    if prices is None:
        from skfolio.datasets import load_sp500_dataset

        frame = load_sp500_dataset()
    else:
        frame = _read_price_file(prices)
    if end is not None:
        frame = frame.loc[:end]
    missing = frame.isna().to_numpy()
    if missing.any():
        rows, cols = missing.nonzero()
        row, col = int(rows[0]), int(cols[0])
        fail(f"error: prices contain {int(missing.sum())} missing value(s), first at "
             f"{frame.index[row]} {frame.columns[col]!r}; clean the file explicitly", 2)
    returns = frame.pct_change().iloc[1:]
    if len(returns) < 2:
        fail("error: fewer than 2 returns in the selected date range", 2)
    return returns


def _read_price_file(path: Path) -> Any:
    """A wide CSV of closes checked as a time series: dates that parse, strictly increase and
    do not repeat, prices that are positive numbers. Returns would otherwise be computed in
    the wrong direction, twice, or across a typo, and nothing downstream could tell."""
    import numpy as np
    import pandas as pd

    from research.data import check_readable_file

    try:
        check_readable_file(path, "CSV of daily closes")
        frame = pd.read_csv(path, index_col=0, encoding="utf-8")
    except (FileNotFoundError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            fail(f"error: {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8", 2)
        if isinstance(exc, pd.errors.EmptyDataError):
            fail(f"error: {path}: the file is empty", 2)
        fail(f"error: cannot read prices from {path}: {exc}", 2)
    except OSError as exc:
        fail(f"error: cannot read prices from {path}: {exc}", 2)
    if frame.empty or frame.shape[1] == 0:
        fail(f"error: {path}: no prices (expected a date column and one column of closes per symbol)", 2)
    problems: list[str] = []
    raw_dates = frame.index.to_series().astype("string")
    try:
        dates = pd.to_datetime(raw_dates, format="ISO8601", errors="coerce")
    except ValueError:  # some rows carry a UTC offset: a close is for a date, not an instant
        zoned = raw_dates.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).fillna(False)
        dates = pd.to_datetime(raw_dates.where(~zoned), format="ISO8601", errors="coerce")
    if dates.dt.tz is not None:  # the same offset on every row: keep each row's own date
        dates = dates.dt.tz_localize(None)
    years = dates.dt.year
    dates = dates.where(((years >= 1900) & (years <= 2200)).fillna(False))
    for i in np.flatnonzero(dates.isna().to_numpy()):
        problems.append(f"row {i + 1}: date {raw_dates.iloc[i]!r} is not a date (YYYY-MM-DD)")
    ns = dates.to_numpy(dtype="datetime64[ns]")
    first_row: dict[Any, int] = {}
    for i in range(len(ns)):
        if np.isnat(ns[i]):
            continue
        if ns[i] in first_row:
            problems.append(f"row {i + 1}: date {raw_dates.iloc[i]} is a duplicate of row "
                            f"{first_row[ns[i]] + 1}")
            continue
        first_row[ns[i]] = i
        if i > 0 and not np.isnat(ns[i - 1]) and ns[i] < ns[i - 1]:
            problems.append(f"row {i + 1}: date {raw_dates.iloc[i]} is before row {i}'s "
                            f"{raw_dates.iloc[i - 1]}: dates must be in increasing order")
    values = frame.apply(pd.to_numeric, errors="coerce")
    text = frame.astype("string")
    bad = (values.isna() & frame.notna()) | ~(values > 0) & values.notna()
    for i, j in zip(*np.nonzero(bad.to_numpy()), strict=True):
        problems.append(f"row {i + 1}: date {raw_dates.iloc[i]} {frame.columns[j]!r}: price "
                        f"{text.iat[i, j]!r} is not a positive number")
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        fail(f"error: {path}: {len(problems)} problem(s) in the prices\n{shown}{more}", 2)
    values.index = pd.DatetimeIndex(dates, name=frame.index.name)
    return values


def _load_weights(path: Path | None, equal_weight: bool, symbols: list[str]) -> dict[str, float]:
    if equal_weight == (path is not None):
        fail("error: give exactly one of --weights FILE or --equal-weight", 2)
    if equal_weight:
        return {s: 1.0 / len(symbols) for s in symbols}
    assert path is not None
    from research.config import ConfigFileError, read_yaml_file

    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            raw = read_yaml_file(path)
        except ConfigFileError as exc:
            fail(f"error: {exc}", 2)
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            fail(f"error: {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8", 2)
        except OSError as exc:
            fail(f"error: cannot read weights file {path}: {exc}", 2)
        except json.JSONDecodeError as exc:
            fail(f"error: {path} is not valid JSON: {exc}", 2)
    if not isinstance(raw, dict) or not raw:
        fail(f"error: {path} must map symbols to weights", 2)
    weights: dict[str, float] = {}
    for symbol, value in raw.items():
        try:
            weights[str(symbol)] = float(value)
        except (TypeError, ValueError):
            fail(f"error: {path}: weight of {symbol!r} is not a number: {value!r}", 2)
    unknown = sorted(set(weights) - set(symbols))
    if unknown:
        fail(f"error: {path}: symbol(s) {unknown} are not in the dataset", 2)
    return weights


def _settings(**overrides: Any) -> Any:
    from research.config import RiskSettings, load_settings

    base = load_settings(None).risk.model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    return RiskSettings.model_validate(base)


def _emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        typer.echo("\n".join(lines))


@app.command()
def snapshot(
    weights: Path | None = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    equal_weight: bool = typer.Option(False, "--equal-weight", help="1/n in every symbol."),
    prices: Path | None = typer.Option(
        None, help="Wide CSV of daily closes (default: skfolio S&P 500)."
    ),
    end: str | None = typer.Option(
        None, help="Last date used (YYYY-MM-DD); default: last in data."
    ),
    nav: float = typer.Option(1_000_000.0, help="Net asset value, dollars."),
    confidence: float | None = typer.Option(None, help="VaR confidence (default: settings)."),
    horizon: int | None = typer.Option(None, help="Horizon in trading days (default: settings)."),
    lookback: int | None = typer.Option(None, help="Days of history (default: settings)."),
    method: str | None = typer.Option(
        None, help="historical|gaussian|cornish_fisher|monte_carlo|fhs"
    ),
    scaling: str | None = typer.Option(None, help="sqrt|overlapping"),
    weights_sum: float | None = typer.Option(None, help="Fail unless the weights sum to this."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Risk snapshot of a book: volatility, VaR/CVaR, contributions and every limit."""
    from pydantic import ValidationError

    from research.risk.errors import RiskInputError
    from research.risk.manager import RiskManager

    returns = _load_prices(prices, end)
    book = _load_weights(weights, equal_weight, [str(c) for c in returns.columns])
    try:
        settings = _settings(
            var_confidence=confidence,
            var_horizon_days=horizon,
            var_lookback_days=lookback,
            var_method=method,
            var_horizon_scaling=scaling,
        )
        manager = RiskManager(settings)
        snap = manager.update(returns, book, nav=nav, weights_sum=weights_sum)
    except ValidationError as exc:
        fail(f"error: invalid option: {exc.errors(include_input=False)[0]['msg']}", 2)
    except RiskInputError as exc:
        fail(f"error: {exc}", 2)
    payload = snap.as_dict()
    lines = [
        f"as of {payload['as_of']}  ({snap.n_observations} days, {snap.method}, "
        f"{snap.confidence:.0%}, {snap.horizon}-day, {snap.scaling})",
        f"volatility   {snap.volatility:.4%} daily, {snap.volatility_annual:.2%} annual",
        f"VaR          {snap.var:.4%}   (gaussian {snap.var_gaussian:.4%})",
        f"CVaR         {snap.cvar:.4%}   (gaussian {snap.cvar_gaussian:.4%})",
        "top CVaR contributors: " + ", ".join(f"{s} {v:.3%}" for s, v in snap.top_contributors),
        "limits:",
    ]
    lines += [
        f"  {str(s.kind):22s} {s.measured:9.4f} / {s.threshold:<7.4g} "
        f"{'BREACH' if s.breached else 'ok':6s} {s.subject}"
        for s in snap.limits
    ]
    _emit(payload, as_json, lines)


@app.command()
def backtest(
    weights: Path | None = typer.Option(None, "--weights", "-w", help=_WEIGHTS_HELP),
    equal_weight: bool = typer.Option(False, "--equal-weight", help="1/n in every symbol."),
    prices: Path | None = typer.Option(
        None, help="Wide CSV of daily closes (default: skfolio S&P 500)."
    ),
    end: str | None = typer.Option(None, help="Last date used (YYYY-MM-DD)."),
    confidence: float | None = typer.Option(None, help="VaR confidence (default: settings)."),
    window: int | None = typer.Option(None, help="Estimation window, days (default: lookback)."),
    method: str | None = typer.Option(
        None, help="historical|gaussian|cornish_fisher|monte_carlo|fhs"
    ),
    zone_days: int = typer.Option(250, help="Days of the traffic-light window (the most recent)."),
    weights_sum: float | None = typer.Option(None, help="Fail unless the weights sum to this."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rolling 1-day VaR backtest of a constant-weight book: Kupiec, Christoffersen, zone."""
    import numpy as np
    from pydantic import ValidationError

    from research.risk._validation import as_weight_vector
    from research.risk.backtest import backtest_var, rolling_var, traffic_light
    from research.risk.errors import RiskInputError

    returns = _load_prices(prices, end)
    symbols = [str(c) for c in returns.columns]
    book = _load_weights(weights, equal_weight, symbols)
    try:
        settings = _settings(var_confidence=confidence, var_method=method)
        vector = as_weight_vector(book, symbols, len(symbols), declared_sum=weights_sum)
        size = window or int(settings.var_lookback_days)
        portfolio = returns.to_numpy() @ vector
        forecasts = rolling_var(
            portfolio,
            size,
            settings.var_confidence,
            settings.var_method,
            n_paths=int(settings.mc_paths),
            seed=int(settings.seed),
        )
        result = backtest_var(portfolio[size:], forecasts, settings.var_confidence)
        recent = result.exceptions[-zone_days:]
        zone = traffic_light(recent.size, int(recent.sum()), 1.0 - settings.var_confidence)
    except ValidationError as exc:
        fail(f"error: invalid option: {exc.errors(include_input=False)[0]['msg']}", 2)
    except RiskInputError as exc:
        fail(f"error: {exc}", 2)
    dates = returns.index[size:]
    payload = {
        "method": settings.var_method,
        "confidence": result.confidence,
        "window": size,
        "start": str(dates[0]),
        "end": str(dates[-1]),
        "n_obs": result.n_obs,
        "n_exceptions": result.n_exceptions,
        "expected_exceptions": result.kupiec.expected_exceptions,
        "kupiec": {"lr": result.kupiec.lr, "pvalue": result.kupiec.pvalue},
        "christoffersen": {"lr": result.independence.lr, "pvalue": result.independence.pvalue},
        "conditional_coverage": {
            "lr": result.conditional_coverage.lr,
            "pvalue": result.conditional_coverage.pvalue,
        },
        "traffic_light": {
            "days": zone.n_obs,
            "exceptions": zone.n_exceptions,
            "zone": zone.zone.value,
            "green_max": zone.green_max,
            "yellow_max": zone.yellow_max,
        },
        "exception_dates": [str(d) for d in dates[np.flatnonzero(result.exceptions)][-20:]],
    }
    lines = [
        f"{settings.var_method} 1-day VaR {result.confidence:.1%}, {size}-day window, "
        f"{payload['start']} .. {payload['end']}",
        f"exceptions   {result.n_exceptions} of {result.n_obs} "
        f"(expected {result.kupiec.expected_exceptions:.1f})",
        f"Kupiec POF   LR {result.kupiec.lr:.4f}  p {result.kupiec.pvalue:.4f}",
        f"independence LR {result.independence.lr:.4f}  p {result.independence.pvalue:.4f}",
        f"cond. cov.   LR {result.conditional_coverage.lr:.4f}  "
        f"p {result.conditional_coverage.pvalue:.4f}",
        f"traffic light (last {zone.n_obs} days): {zone.zone.value.upper()} with "
        f"{zone.n_exceptions} exceptions (green <= {zone.green_max}, yellow <= {zone.yellow_max})",
    ]
    _emit(payload, as_json, lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
