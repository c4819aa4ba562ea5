"""What a worker runs: a unit of points of one task, each point from its own JSON inputs only.

* ``backtest``: one point per unit, :func:`sim.backtest_data.run_config_backtest` (the daily
  replay on the embedded closes, or the bars the sweep names) with the point's run config and
  settings. Its result JSON (``qlab.backtest/1``) is the point's artifact.
* ``vectorbt``: up to ``vectorbt.chunk_size`` points per unit, the inverse-volatility
  parameter sets (``strategy.lookback_days``, ``strategy.rebalance_every_sessions``) of points
  that share everything else run in one vectorised
  :func:`research.analytics.vectorbt_path.inverse_volatility_grid` call. The closes are the
  embedded real closes from ``start`` to ``end``: the window includes the lookback (the
  research path's convention, W1's: the first decision is at the first multiple of N
  sessions with a full window), so the first sessions are in cash.

A point whose inputs the task refuses (a ValueError naming them) is returned FAILED with the
message; any other exception propagates and stops the sweep (what is finished stays recorded).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.sweep.points import Point

FINISHED, FAILED = "FINISHED", "FAILED"
#: The vectorbt point's parameters (the rest of a point is shared by its unit).
VECTORBT_PARAMS = ("lookback_days", "rebalance_every_sessions")


@dataclass(frozen=True)
class WorkUnit:
    """Points of one task that a worker runs together, with the sweep's data window."""

    task: str
    bars: str | None
    frequency: str | None
    start: str | None
    end: str | None
    points: tuple[Point, ...]


@dataclass
class Outcome:
    """A point's result: numeric ``metrics`` (NaN where undefined), its daily ``returns`` (for
    the deflated Sharpe ratio), the ``result`` JSON (the artifact) and its wall time."""

    index: int
    config_hash: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    returns: list[float] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = math.nan


def per_period_moments(returns: list[float]) -> dict[str, float]:
    """The daily (not annualised) Sharpe ratio and the number of returns: what the deflated
    Sharpe ratio compares across points."""
    from research.analytics.deflated_sharpe import per_period_sharpe

    return {"sharpe_per_period": per_period_sharpe(returns), "n_returns": float(len(returns))}


def _metric_values(metrics: Any) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.as_dict().items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _run_backtest(unit: WorkUnit) -> list[Outcome]:
    from research.config import RunConfig
    from sim.backtest_data import run_config_backtest
    from sim.sweep.points import settings_from_json

    outcomes = []
    for point in unit.points:
        started = time.perf_counter()
        try:
            result = run_config_backtest(
                RunConfig.model_validate(point.config), settings_from_json(point.settings),
                bars=unit.bars, frequency=unit.frequency, start=unit.start, end=unit.end)
        except ValueError as exc:
            outcomes.append(Outcome(point.index, point.config_hash, FAILED, error=str(exc),
                                    seconds=time.perf_counter() - started))
            continue
        document = json.loads(json.dumps(result.to_json(), allow_nan=False))
        returns = [float(v) for v in document["returns"].values()]
        bps = result.costs_bps()
        metrics = {**_metric_values(result.metrics), **per_period_moments(returns),
                   "shortfall_bps_of_traded": float(bps.get("total", math.nan)),
                   "fills": float(len(result.trades)),
                   "risk_events": float(len(result.risk_events))}
        outcomes.append(Outcome(point.index, point.config_hash, FINISHED, metrics, returns,
                                document, seconds=time.perf_counter() - started))
    return outcomes


def _run_vectorbt(unit: WorkUnit) -> list[Outcome]:
    import pandas as pd

    from research.analytics.vectorbt_path import (
        FlatCosts,
        InverseVolatilityParams,
        inverse_volatility_grid,
    )
    from research.data import load_sp500_closes, load_sp500_index

    started = time.perf_counter()
    first = unit.points[0]
    strategy, options = first.config["strategy"], first.options
    try:
        closes = load_sp500_closes()
        symbols = first.config["universe"]["symbols"] or list(closes.columns)
        start = unit.start or first.config["universe"]["start"]
        end = unit.end or first.config["universe"]["end"]
        closes = closes.loc[pd.Timestamp(start) if start else None:
                            pd.Timestamp(end) if end else None, symbols]
        params = [InverseVolatilityParams(p.config["strategy"]["lookback_days"],
                                          p.config["strategy"]["rebalance_every_sessions"])
                  for p in unit.points]
        costs = FlatCosts(options["slippage_bps"], options["fee_bps"])
        grid = inverse_volatility_grid(closes, params, costs, float(strategy["capital"]),
                                       load_sp500_index(), chunk_size=len(params),
                                       zero_volatility=options["zero_volatility"])
    except (KeyError, ValueError) as exc:
        seconds = (time.perf_counter() - started) / len(unit.points)
        return [Outcome(p.index, p.config_hash, FAILED, error=f"vectorbt: {exc}",
                        seconds=seconds) for p in unit.points]
    seconds = (time.perf_counter() - started) / len(unit.points)  # one call: time shared
    # curves as plain lists, the dates of the window only at its ends: per-point pandas
    # iteration and dated dicts cost ten times the vectorised backtest itself
    dates = closes.index.strftime("%Y-%m-%d").tolist()
    curves = grid.equity[[(p.lookback, p.rebalance_every) for p in params]].to_numpy()
    daily = curves[1:] / curves[:-1] - 1.0
    outcomes = []
    for k, (point, p) in enumerate(zip(unit.points, params, strict=True)):
        returns = daily[:, k].tolist()
        row = grid.metrics.loc[(p.lookback, p.rebalance_every)]
        metrics = {name: float(v) for name, v in row.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        metrics.update(per_period_moments(returns))
        document = {
            "schema": "qlab.sweep.vectorbt/1",
            "params": {"lookback": p.lookback, "rebalance_every": p.rebalance_every,
                       "slippage_bps": costs.slippage_bps, "fee_bps": costs.fee_bps,
                       "capital": float(strategy["capital"]), "symbols": symbols},
            "window": {"first": dates[0], "last": dates[-1], "sessions": len(dates),
                       "note": "the window includes the lookback: in cash until the first "
                               "decision is traded"},
            "metrics": {name: (v if math.isfinite(v) else None) for name, v in metrics.items()},
            # the daily returns from the window's second session; the equity is the capital
            # compounded by them (kept compact: a worker ships a thousand of these)
            "returns": returns,
        }
        outcomes.append(Outcome(point.index, point.config_hash, FINISHED, metrics, returns,
                                document, seconds=seconds))
    return outcomes


RUNNERS: dict[str, Callable[[WorkUnit], list[Outcome]]] = {
    "backtest": _run_backtest, "vectorbt": _run_vectorbt}


def run_unit(unit: WorkUnit) -> list[Outcome]:
    """Run every point of ``unit`` (a module-level function: joblib and Dask ship it by name)."""
    return RUNNERS[unit.task](unit)


def work_units(task: str, points: list[Point], *, bars: str | None, frequency: str | None,
               start: str | None, end: str | None, chunk_size: int) -> list[WorkUnit]:
    """The points cut into units: one point each for a backtest; for vectorbt, points that
    differ only in their inverse-volatility parameters together, ``chunk_size`` at a time."""
    def unit(members: list[Point]) -> WorkUnit:
        return WorkUnit(task, bars, frequency, start, end, tuple(members))

    if task != "vectorbt":
        return [unit([p]) for p in points]
    groups: dict[str, list[Point]] = {}
    for p in points:
        shared = {**p.config, "strategy": {k: v for k, v in p.config["strategy"].items()
                                           if k not in VECTORBT_PARAMS}}
        key = json.dumps([shared, p.options], sort_keys=True)
        groups.setdefault(key, []).append(p)
    return [unit(members[i:i + chunk_size]) for members in groups.values()
            for i in range(0, len(members), chunk_size)]


__all__ = ["FAILED", "FINISHED", "Outcome", "WorkUnit", "per_period_moments", "run_unit",
           "work_units"]
