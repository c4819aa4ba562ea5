"""The evidence a run config earns before it may be promoted, gathered by replaying the config
itself — nothing a user hands in counts:

1. **the backtest**: the config through the trading loop's replay (:mod:`sim.backtest_data`:
   its own universe, data, strategy, schedule, algorithm and limits, costs charged by the
   simulated market);
2. **the risk-limit analysis** of that replay: each limit's binds (distinct session, symbol
   and limit — an order refused again on every bar of a session counts once), the limits the
   book still breaches at its last close (alerts left unresolved), and the VaR and ES
   backtests of the replay's own P&L against the risk manager's forecasts, at one day and at
   the configured horizon on non-overlapping windows (:mod:`sim.risk_limits_report`'s; the
   gate reads the worse traffic light);
3. **the TCA study** of the config's execution algorithm against market orders on the
   config's own rebalance parent orders (its strategy and capital on its universe), over
   minute bars (default: the embedded synthetic minute bars, 2022), with the cost model's
   z-scores.

:func:`gather_evidence` returns the ``validation.*`` metrics the promotion gates read
(:data:`research.promotion.GATE_METRICS`) and the artifacts that back them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from research.promotion import GATE_METRICS, ZONE_CODES

#: Tag of the evidence a validation run holds (what gather_evidence measures, versioned).
EVIDENCE_VERSION = "replay/1"
#: Minute bars the TCA part runs on unless told otherwise.
DEFAULT_TCA_BARS = "sp500_synthetic_minute"


@dataclass
class Evidence:
    """What :func:`gather_evidence` measured: gate metrics and the results behind them."""

    metrics: dict[str, float]
    backtest: Any
    var_backtest: tuple[Any, Any]  # sim.risk_limits_report.ForecastBacktest: 1 day, horizon
    tca_summary: dict | None
    notes: list[str] = field(default_factory=list)
    data_hash: str = ""

    def var_backtest_document(self) -> dict[str, Any]:
        """The VaR backtests (1 day, the configured horizon on non-overlapping windows) as a
        JSON-ready dict: every test and what was compared."""
        from sim.risk_limits_report import backtest_table

        table = backtest_table(*self.var_backtest).reset_index()
        return {"tests": table.to_dict(orient="records"),
                "method": {bt.horizon: bt.note for bt in self.var_backtest}}


def limit_binds(risk_events: pd.DataFrame) -> pd.DataFrame:
    """Distinct binds: one row per (session, symbol, limit) the limits trimmed or refused —
    a child refused again on each bar of a session is one bind, not one per bar."""
    if risk_events.empty:
        return pd.DataFrame(columns=["session", "symbol", "limit"])
    events = risk_events[risk_events["decision"].isin(["trimmed", "rejected", "rescaled"])]
    rows = [(str(t)[:10], s, lim) for t, s, limits in zip(
        events["time"], events["symbol"], events["limits"], strict=True)
        for lim in str(limits).split(",") if lim]
    return pd.DataFrame(rows, columns=["session", "symbol", "limit"]).drop_duplicates(
        ignore_index=True)


def unresolved_limits(limit_usage: pd.DataFrame, thresholds: dict[str, float]) -> list[str]:
    """The limits whose breach the replay left open: breached at its last close and at the
    close before — a session went by in which the loop could have acted (with ``on_drift:
    alert`` it never does). A breach the last session's prices made is not yet unresolved.
    ``thresholds``: limit -> threshold (:func:`sim.risk_limits_report.thresholds`)."""
    if len(limit_usage) < 2:
        return []
    last, before = limit_usage.iloc[-1], limit_usage.iloc[-2]
    return [kind for kind, limit in thresholds.items() if kind in last
            and float(last[kind]) > limit + 1e-9 and float(before[kind]) > limit + 1e-9]


def own_rebalance_orders(config: Any, bars: pd.DataFrame, closes: pd.DataFrame) -> pd.DataFrame:
    """The config's rebalance parent orders inside the minute bars' window: its strategy,
    schedule, capital and execution horizon on its universe, decided on the session's first
    minute bar (stamped 09:31) as the trading loop decides — not at 09:30, where the last
    price is the previous close and the overnight gap would count as the order's cost (the
    book starts at its target one rebalance before, so the window trades the drift). The
    schedule is ``strategy.rebalance``'s calendar: a config with ``rebalance_every_sessions``
    is studied on its monthly/weekly/daily calendar instead (said in the notes)."""
    from research.data.schema import EXCHANGE_TZ
    from research.strategies import portfolio_strategy
    from research.trading import rebalance_orders

    day = bars["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()
    first, last = day.min(), day.max()
    # the first session's decision needs a session of minute history before it (the study)
    first = day[day > first].min()
    horizon = int(config.execution.horizon_minutes)
    orders = rebalance_orders(closes, portfolio_strategy(config), config.strategy.capital,
                              config.strategy.rebalance, start=first - pd.Timedelta(days=35),
                              end=last, horizon_minutes=min(horizon, 210),
                              decision_time="09:31", initial="target")
    when = orders["decision_time"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()
    return orders[(when >= first) & (when <= last) & (orders["quantity"] > 0)].reset_index(
        drop=True)


def tca_evidence(config: Any, settings: Any, tca_bars: str, seed: int,
                 progress: Any = None) -> tuple[dict, str, list[str]]:
    """(the TCA summary of the config's algorithm vs market on its own rebalance orders, a
    description, notes)."""
    from research.data import BarStore, ensure_synthetic_datasets, load_sp500_closes
    from sim.tca import compare_strategies
    from sim.tca.study_bars import load_study_bars

    if tca_bars == DEFAULT_TCA_BARS:
        from research.data import SynthParams

        ensure_synthetic_datasets(BarStore(settings.data.store_path),
                                  SynthParams.from_settings(settings.data))
    try:
        frame, description, synthetic = load_study_bars(tca_bars, settings, None, None)
    except (OSError, KeyError) as exc:  # KeyError: DatasetNotFound
        raise ValueError(f"TCA bars {tca_bars}: {exc.args[0] if exc.args else exc}") from None
    symbols = list(config.universe.symbols) or sorted(frame["symbol"].unique())
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        raise ValueError(f"TCA bars {tca_bars} have no minute bars for {missing}")
    frame = frame[frame["symbol"].isin(symbols)].reset_index(drop=True)
    embedded = load_sp500_closes()
    if not set(symbols) <= set(embedded.columns):
        from sim.driver import daily_closes_of

        closes = daily_closes_of(frame)[symbols]
    else:
        closes = embedded[symbols]
    orders = own_rebalance_orders(config, frame, closes)
    if orders.empty:
        raise ValueError(f"the config's {config.strategy.rebalance} rebalance trades nothing "
                         f"inside the TCA bars' window ({description})")
    notes = []
    if config.strategy.rebalance_every_sessions is not None:
        notes.append(f"TCA: the rebalance orders follow the {config.strategy.rebalance} "
                     "calendar, not every "
                     f"{config.strategy.rebalance_every_sessions} sessions")
    if config.execution.horizon_minutes > 210:
        notes.append(f"TCA: the parents' horizon is capped at 210 minutes (the config says "
                     f"{config.execution.horizon_minutes}) so every one ends inside its "
                     "session, early closes included")
    algo = str(config.execution.algorithm)
    # the config's own predictor and fee schedule are the ones judged (and charged)
    result = compare_strategies(frame, orders, [algo], settings, seed, progress=progress,
                                execution_policy=config.execution,
                                cost_model_choice=config.cost_model,
                                bars_description=description, synthetic=synthetic)
    tag = "SYNTHETIC " if synthetic else ""
    return result.summary, f"{tag}{description}, {len(orders)} own rebalance orders", notes


def tca_gate_metrics(summary: dict, algorithm: str) -> dict[str, float]:
    """Order count, cost-model z-score moments and the verdict against market orders of
    ``algorithm`` in a TCA summary. A value the study did not produce is left out, so its gate
    fails as "not recorded"."""
    block = summary.get("strategies", {}).get(algorithm)
    if block is None:
        raise ValueError(f"TCA summary has no algorithm {algorithm!r} "
                         f"(has {sorted(summary.get('strategies', {}))})")
    out = {GATE_METRICS["parent_orders"]: float(block["n_orders"])}
    z = block.get("z_score") or {}
    if z.get("mean") is not None:
        out[GATE_METRICS["cost_z_mean"]] = float(z["mean"])
    if z.get("std") is not None:
        out[GATE_METRICS["cost_z_std"]] = float(z["std"])
    if algorithm == "market":
        out[GATE_METRICS["tca_dearer_than_market"]] = 0.0
    else:
        diff = (summary.get("paired_vs_market", {}).get(algorithm) or {}).get("diff_bps") or {}
        ci = diff.get("ci95")
        if ci and ci[0] is not None:
            out["validation.tca_diff_bps"] = float(diff["mean"])
            out["validation.tca_diff_ci_lo"], out["validation.tca_diff_ci_hi"] = map(float, ci)
            # dearer than market orders with the interval excluding zero
            out[GATE_METRICS["tca_dearer_than_market"]] = float(ci[0] > 0)
    return out


def var_backtests(result: Any) -> tuple[Any, Any]:
    """The replay's VaR/ES backtests at one day and at the configured horizon (the risk-limits
    report's, :mod:`sim.risk_limits_report`), the ES test's simulations seeded."""
    from sim.risk_limits_report import var_backtest_daily, var_backtest_horizon

    return var_backtest_daily(result, seed=0), var_backtest_horizon(result, seed=0)


def gather_evidence(config: Any, settings: Any, *, bars: str | None = None,
                    start: Any = None, end: Any = None, tca_bars: str = DEFAULT_TCA_BARS,
                    tca: bool = True, say: Callable[[str], None] = lambda line: None
                    ) -> Evidence:
    """Replay ``config`` and measure it (see the module docstring). ``say`` gets one progress
    line per step."""
    from sim.backtest_data import run_config_backtest
    from sim.risk_limits_report import thresholds

    say("backtest: the config through the trading loop's replay ...")
    result = run_config_backtest(config, settings, bars=bars, start=start, end=end,
                                 run_id=f"validate-{config.name}")
    m = result.metrics
    years = max(m.sessions / 252.0, 1e-9)
    binds = limit_binds(result.risk_events)
    unresolved = unresolved_limits(result.limit_usage, thresholds(result))
    metrics: dict[str, float] = {
        GATE_METRICS["backtest"]: 1.0,
        GATE_METRICS["sessions"]: float(m.sessions),
        GATE_METRICS["sharpe"]: float(m.sharpe) if np.isfinite(m.sharpe) else float("nan"),
        GATE_METRICS["max_drawdown"]: float(m.max_drawdown),
        GATE_METRICS["limit_binds_per_year"]: len(binds) / years,
        GATE_METRICS["acceptable_binds_per_year"]: float(
            config.validation.max_limit_binds_per_year),
        GATE_METRICS["unresolved_alerts"]: float(len(unresolved)),
        "validation.cagr": float(m.cagr),
        "validation.cost_drag_bps_annual": float(m.cost_drag_bps_annual),
        "validation.backtest_parents": float(result.meta["parents"]),
        "validation.backtest_fills": float(len(result.trades)),
    }
    for limit, n in binds["limit"].value_counts().items():
        metrics[f"validation.binds.{limit}"] = float(n)
    say("risk: VaR backtests of the replay's P&L against the risk manager's forecasts ...")
    from research.risk.errors import InsufficientDataError

    try:
        daily, horizon = var_backtests(result)
    except InsufficientDataError as exc:
        h = int(result.meta.get("limits", {}).get("var_horizon_days") or 1)
        raise ValueError(
            f"the replay's {m.sessions} sessions are too few for the VaR backtests of its P&L "
            f"({exc}): they need at least two non-overlapping {h}-session windows, and the "
            "promotion gates a year (min_sessions); validate over a longer window") from None
    zones = [bt.var_test.traffic_light.zone.value for bt in (daily, horizon)]
    metrics[GATE_METRICS["var_backtest_zone"]] = float(max(ZONE_CODES[z] for z in zones))
    for bt in (daily, horizon):
        tag = f"validation.var_{bt.horizon}d"
        metrics[f"{tag}.zone"] = float(ZONE_CODES[bt.var_test.traffic_light.zone.value])
        metrics[f"{tag}.exceptions"] = float(bt.var_test.n_exceptions)
        metrics[f"{tag}.observations"] = float(bt.var_test.n_obs)
        metrics[f"{tag}.es_p"] = float(bt.es_test.pvalue)
    notes = list(result.meta.get("assumptions", []))
    summary = None
    if tca:
        say(f"tca: {config.execution.algorithm} against market orders on the config's own "
            "rebalance orders ...")
        try:
            summary, description, tca_notes = tca_evidence(config, settings, tca_bars,
                                                           int(config.seed))
        except ValueError as exc:  # recorded without it: its gates fail as "not recorded"
            say(f"tca: not run: {exc}")
            notes.append(f"TCA study not run: {exc}")
        else:
            notes += tca_notes + [f"TCA on {description}"]
            metrics.update(tca_gate_metrics(summary, str(config.execution.algorithm)))
    return Evidence(metrics, result, (daily, horizon), summary, notes,
                    result.meta["data_hash"])
