"""A portfolio backtest: a run config traded through the trading loop's replay driver — the loop
``qlab live`` runs, with the simulated broker in Tiger's place — over recorded minute bars, and
turned into what a quant reads: the dated equity curve (accounting from the broker's fills,
:mod:`research.analytics.accounting`), the performance metrics (:mod:`research.analytics.
metrics`: 252 sessions a year, risk-free rate 0 unless given), the costs by component, every
fill and every pre-trade trim or reject of the risk limits.

Costs, in dollars and in bps of the traded notional (Perold's decomposition per parent, the
execution part split per fill by :mod:`sim.fill_costs`): ``delay`` (arrival mid to the first
child's mid), ``spread``, ``impact``, ``timing`` (the mid's drift while the parent worked),
``opportunity`` (the unfilled rest, marked at the mid when the parent closed) and ``fees``
(what the simulated broker charged, per order as Tiger bills). ``total`` is their sum, which
equals the parents' implementation shortfall. The annual cost drag counts what trading paid
(spread, impact, fees), not the shortfall's drift or the opportunity cost of shares never
traded (neither is in the equity).

Equity is marked at each session's last close as the run saw it (the simulated market carries
the run's own permanent impact); the first point is the session before the replay, at the
starting capital. Daily data replays through :mod:`sim.daily_market`
(:func:`run_daily_backtest`), with a cost model fitted on the sessions before the first
(:func:`daily_cost_model`). Attribution (by position, sector and factor) is
:mod:`sim.backtest_attribution`'s, in the JSON's ``attribution`` block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from research.analytics import PortfolioAccount, account_fills, covering_benchmark
from research.analytics.metrics import PerformanceMetrics, performance_metrics
from research.data.schema import EXCHANGE_TZ
from research.execution import execution_quality
from research.risk import MemorySink
from research.trading import JOIN_COVERAGE, STALE_SESSIONS
from sim.daily_market import build_daily_market
from sim.driver import ReplayDriver
from sim.fill_costs import decompose_fills, half_spreads
from sim.replay import BarReplay, bar_minutes_of

SCHEMA = "qlab.backtest/1"
#: Minutes of a regular session: a daily bar carries this many minutes' worth of orders.
SESSION_MINUTES = 390
COST_COMPONENTS = ("delay", "spread", "impact", "timing", "opportunity", "fees")
#: The run config's limits and their policies, copied into ``meta.limits``.
_LIMIT_FIELDS = ("max_position_weight", "max_sector_weight", "max_pairwise_correlation",
                 "max_gross_exposure", "max_net_exposure", "var_budget", "daily_loss_limit",
                 "var_confidence", "var_horizon_days", "on_target_breach", "on_drift",
                 "on_daily_loss")


@dataclass(frozen=True)
class BacktestResult:
    """What :func:`run_backtest` measured; :meth:`to_json` is the documented output."""

    config: Any
    account: PortfolioAccount
    metrics: PerformanceMetrics
    costs_dollars: dict[str, float]
    traded_notional: float
    trades: pd.DataFrame
    risk_events: pd.DataFrame
    decisions: list[dict]
    meta: dict = field(default_factory=dict)
    limit_usage: pd.DataFrame = field(default_factory=pd.DataFrame)
    risk_forecasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the closes the equity is marked at (session x symbol, as the run saw them, the first row
    #: the session before the replay): weights and P&L by symbol are read from them
    closes: pd.DataFrame | None = None
    #: what trading paid each session (spread, impact, fees, dated by the fill; $): the cost
    #: drag of ``metrics``, by session
    paid_costs: pd.Series | None = None

    @property
    def equity(self) -> pd.Series:
        return self.account.equity

    def attribution(self, factor_prices: pd.DataFrame | None = None) -> Any:
        """:class:`sim.backtest_attribution.BacktestAttribution` of this run (computed on each
        call; ``factor_prices`` default: the embedded factor ETFs)."""
        from sim.backtest_attribution import backtest_attribution

        return backtest_attribution(self, factor_prices)

    def costs_bps(self) -> dict[str, float]:
        """Each cost component in bps of the traded notional (NaN when nothing traded)."""
        n = self.traded_notional
        return {k: (v / n * 1e4 if n > 0 else float("nan")) for k, v in
                self.costs_dollars.items()}

    def to_json(self) -> dict[str, Any]:
        """The documented output (``schema`` ``qlab.backtest/1``):

        ``config`` (the run config), ``equity`` and ``returns`` ({session: value}),
        ``metrics`` (start, end, sessions, final_equity, total_return, cagr, volatility,
        sharpe, sortino, max_drawdown, calmar, turnover_annual, cost_drag_bps_annual and,
        against the benchmark, alpha, beta, tracking_error, information_ratio; null where
        undefined), ``costs.dollars`` and ``costs.bps_of_traded`` (delay, spread, impact,
        timing, opportunity, fees, total) and ``costs.traded_notional``, ``trades`` (every
        fill: time, symbol, side, quantity, price, fees, client_order_id, parent_id,
        bar_volume — the shares the bar it filled on traded),
        ``risk_events`` (every trim or reject: time, symbol, side, requested — including the
        same side's shares already working —, allowed, decision, limits, message),
        ``decisions`` (each rebalance: session, nav, parents, algorithm, horizon_bars, bar,
        weights), ``limit_usage`` (each session's limits measured on the book at its close:
        position_weight, sector_weight, pairwise_correlation, gross_exposure, net_exposure,
        var_budget (the pre-trade VaR), daily_loss, each with the ``<limit>_subject`` it was
        measured on; the thresholds are in ``meta.limits``), ``risk_forecasts`` (each
        session's forecast from the refit before its open: nav, var, cvar (at horizon_days),
        var_1d, cvar_1d (the same method at one day), var_gaussian, volatility, horizon_days,
        confidence, observations — fractions of NAV, what a VaR backtest compares with the
        session's P&L), ``alerts`` (the risk manager's limit alerts, one per refit at most per
        limit: time, limit, subject, measured, threshold, severity, state, previous_state,
        suppressed — true for an alert the cool-down held back, sent false — and message),
        ``attribution`` (:mod:`sim.backtest_attribution`; null on a result without the closes
        its equity was marked at): ``by_position`` (equity_change and, per symbol, pnl =
        holding + trading - fees, traded, fills, share: the symbols' pnl add up to
        equity_change), ``by_sector`` (Brinson-Fachler per rebalance window against the
        equal-weighted universe, named in ``benchmark``: ``windows`` (session, start, end,
        portfolio_return, held_return, benchmark_return, allocation, selection, interaction,
        trading, active = portfolio_return - benchmark_return = the four effects' sum),
        ``totals`` (their arithmetic sums) and ``sectors`` (each sector's allocation,
        selection, interaction summed)) and ``by_factor`` (OLS on the factor ETFs' returns:
        available, factors, start, end, sessions, alpha_per_session, alpha_annual, betas,
        r_squared, residual_volatility_annual, contributions (alpha, each factor, residual:
        they add up to sum_of_returns); or available false and the reason)
        and ``meta`` (bars, data, frequency,
        conventions (sessions_per_year, risk_free_rate, equity, benchmark: what the benchmark
        is), assumptions, limits, parents, refused_parents, dropped_parents)."""
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        def plain(v: Any) -> Any:
            if isinstance(v, pd.Timestamp):
                return f"{v:%Y-%m-%d}"
            if isinstance(v, float | np.floating):
                return num(float(v))
            return v

        eq = self.equity
        returns = eq.pct_change().iloc[1:]
        return {
            "schema": SCHEMA,
            "config": self.config.model_dump(mode="json"),
            "equity": {f"{d:%Y-%m-%d}": float(v) for d, v in eq.items()},
            "returns": {f"{d:%Y-%m-%d}": float(v) for d, v in returns.items()},
            "metrics": {k: plain(v) for k, v in self.metrics.as_dict().items()},
            "costs": {"dollars": {k: num(v) for k, v in self.costs_dollars.items()},
                      "bps_of_traded": {k: num(v) for k, v in self.costs_bps().items()},
                      "traded_notional": num(self.traded_notional)},
            "trades": _records(self.trades),
            "risk_events": _records(self.risk_events),
            "decisions": [{k: plain(v) for k, v in d.items()} for d in self.decisions],
            "limit_usage": _records(self.limit_usage),
            "risk_forecasts": _records(self.risk_forecasts),
            "alerts": _records(self.alerts),
            "attribution": self.attribution().to_json() if self.closes is not None else None,
            "meta": self.meta,
        }


def _data_hash(replay: BarReplay, daily_closes: pd.DataFrame) -> str:
    """Content hash of what the replay read (bars, stamps, the lookback closes): the data
    identity a tracked run records."""
    import hashlib

    h = hashlib.sha256()
    h.update(",".join(replay.symbols).encode())
    h.update(",".join(t.isoformat() for t in replay.timestamps).encode())
    for a in (replay.open, replay.high, replay.low, replay.close, replay.volume, replay.bid,
              replay.ask, daily_closes.to_numpy(dtype=float)):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    return h.hexdigest()[:16]


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].map(lambda t: t.isoformat())
    return out.to_dict(orient="records")


def run_daily_backtest(config: Any, settings: Any, closes: pd.DataFrame, *, start: Any,
                       end: Any = None, bars: dict[str, pd.DataFrame] | None = None,
                       benchmark: pd.Series | None = None, risk_free_rate: float = 0.0,
                       run_id: str | None = None, data: str = "") -> BacktestResult:
    """Trade ``config`` over the daily sessions ``start``..``end`` of ``closes`` (wide,
    session dates x symbols, with the history before ``start`` the lookbacks read) through the
    daily simulated market of :mod:`sim.daily_market`. ``bars``: optional wide ``open``,
    ``high``, ``low``, ``volume`` frames on the same dates (:func:`sim.daily_market.
    wide_daily_bars`); what is missing is modelled and said in ``meta.assumptions``;
    ``data``: what the bars are (kept in ``meta.data``)."""
    symbols = list(config.universe.symbols or closes.columns)
    fields = {k: v.reindex(columns=symbols) for k, v in (bars or {}).items()
              if k in ("open", "high", "low", "volume")}
    market = build_daily_market(
        closes[symbols], start=start, end=end, open_=fields.get("open"),
        high=fields.get("high"), low=fields.get("low"), volume=fields.get("volume"),
        adv_usd=dict(settings.data.synth_adv_usd),
        default_adv_usd=settings.data.synth_default_adv_usd,
        fallback_half_spread_bps=settings.data.synth_spread_bps / 2,
        permanent_impact=settings.simulation.permanent_impact)
    first = pd.Timestamp(market.replay.timestamps[0]).tz_localize(None).normalize()
    # a daily bar stands for a session: the orders the engine sends on it go out over the
    # session's seconds and minutes, not in the one instant its stamp shows. So the
    # order-rate bucket may hand out a bar's worth at once (two orders per symbol: a child and
    # its clean-up), and the child notional cap (a per-order fat-finger guard) is the
    # session's worth of capped orders — one a minute — or a parent above one cap would be
    # cut and its rest filled at the next session's open instead of within the session
    ex = settings.execution
    settings = settings.model_copy(update={"execution": ex.model_copy(update={
        "order_burst": max(ex.order_burst, 2 * len(symbols)),
        "max_order_notional": ex.max_order_notional * SESSION_MINUTES})})
    model, fitted_on = daily_cost_model(config, settings, market)
    loss_seen = ("at its opening auction (the overnight move, which the open's orders are "
                 "checked against) and at its close" if "open" in fields
                 else "at its close only (closes-only data: the open is the previous close)")
    daily_loss = (f"daily-loss limit: a daily bar shows a session's loss {loss_seen}; a loss "
                  "within the session shows at the close, after the open's orders were sent, "
                  "so it stops only what follows ('halt' cancels the unfilled rest until the "
                  "next session, 'reduce' refuses risk-adding orders), and one that recovers by "
                  "the close is never seen")
    return run_backtest(config, settings, market.replay,
                        daily_closes=closes.loc[closes.index < first, symbols],
                        cost_model=model, benchmark=benchmark, risk_free_rate=risk_free_rate,
                        run_id=run_id, frequency="daily", broker_options=market.broker_options,
                        assumptions=[*market.notes, fitted_on, daily_loss],
                        data=data,
                        fees_before_first="earliest")


def daily_cost_model(config: Any, settings: Any, market: Any) -> tuple[Any, str]:
    """The run's pre-trade cost model (``config.cost_model`` over ``settings.costs``) fitted
    on the daily market's sessions before the first traded one (:attr:`sim.daily_market.
    DailyMarket.history`: the data's own open, range and volume where it has them, else the
    market's modelled ones, and the half spread the market charges), and a sentence for
    ``meta.assumptions`` saying so. VWAP, IS, the cost-aware no-trade band and the optimised
    strategy's cost penalty read it. A daily market has one spread a session, no time-of-day
    shape: the model is given a flat spread profile, so it predicts the spread it was fitted
    on over any window. Its ADV and volatility are refreshed at each decision by the trading
    loop (from the sessions before it); the spread and the profiles stay the fit's."""
    from research.costs import CostModel, TimeOfDayProfile, default_spread_profile, fee_schedule
    from sim.fees import backdated_schedule

    history = market.history
    if history.empty:
        raise ValueError("daily backtest: no session before the first one to fit the cost "
                         "model on")
    session = float(default_spread_profile().edges[-1])  # the regular session's minutes
    flat = TimeOfDayProfile(np.array([0.0, session]), np.array([1.0]), kind="spread")
    model = CostModel.for_run(config.cost_model, settings.costs)
    if model.spread_profile is None:  # a calibration file's profile is kept
        model.set_params(spread_profile=flat)
    # the broker charges a session before the fee schedule existed its first version
    # (fees_before_first "earliest"): the model predicts those fees, not an error
    first = pd.Timestamp(market.replay.timestamps[0]).date()
    schedule = fee_schedule(config.cost_model.fee_schedule, flat_bps=settings.costs.flat_fee_bps)
    model.set_params(fee_schedule=backdated_schedule(schedule, first))
    model.fit(history)
    days = pd.DatetimeIndex(history["timestamp"]).tz_convert(EXCHANGE_TZ)
    text = (f"cost model: fitted on the {days.normalize().nunique()} sessions "
            f"{days.min():%Y-%m-%d}..{days.max():%Y-%m-%d} before the first traded one, as the "
            f"daily market modelled them ("
            f"{'ADV from the modelled volume; ' if market.volume_modelled else ''}spread: the "
            f"market's "
            f"{2 * market.broker_options['fallback_half_spread_bps']:g} bps, flat over the "
            f"session); its ADV (21 sessions) and volatility (63 returns) refreshed at each "
            f"decision from the sessions before it")
    return model, text


def run_backtest(config: Any, settings: Any, bars: pd.DataFrame | BarReplay, *,
                 daily_closes: pd.DataFrame, cost_model: Any = None,
                 benchmark: pd.Series | None = None, risk_free_rate: float = 0.0,
                 run_id: str | None = None, frequency: str = "minute",
                 broker_options: dict[str, Any] | None = None,
                 assumptions: list[str] | tuple[str, ...] = (), data: str = "",
                 fees_before_first: str = "refuse") -> BacktestResult:
    """Trade ``config`` over ``bars`` (long minute bars of its universe, or a prepared
    :class:`BarReplay`: a daily one comes from :func:`run_daily_backtest`) and measure it.

    ``daily_closes``: closes before the first replayed session (the strategy's and the risk
    model's lookbacks); ``cost_model``: fitted on bars before the replay (VWAP and IS need it);
    ``benchmark``: dated index levels (alpha, beta, tracking error, information ratio);
    ``frequency``: "minute" or "daily" (the replay's layout, see :mod:`sim.daily_market`);
    ``broker_options``: the simulated broker's (a daily market's response paths);
    ``assumptions``: what the data lacked and was modelled; ``data``: what the bars are (both
    kept in ``meta``); ``fees_before_first``: see :class:`sim.fees.DatedFeeFn` (a daily
    history older than the fee schedule is charged its first version, and ``meta`` says so)."""
    if frequency not in ("minute", "daily"):
        raise ValueError(f"backtest: frequency must be 'minute' or 'daily', got {frequency!r}")
    alert_sink = MemorySink()
    driver = ReplayDriver(config, settings, bars, daily_closes=daily_closes,
                          cost_model=cost_model, run_id=run_id or f"backtest-{config.name}",
                          broker_options=broker_options, fees_before_first=fees_before_first,
                          alert_sinks=[alert_sink])
    replay = driver.replay
    minutes = bar_minutes_of(replay.timestamps)
    if frequency == "minute" and (minutes is None or minutes > 60):
        raise ValueError("backtest: the bars are not intraday (one a session, or more than an "
                         "hour apart); replay daily data with frequency 'daily'")
    n_bars, n_sym = replay.n_bars, replay.n_symbols
    seen_close = np.full((n_bars, n_sym), np.nan)
    seen_mid = np.full((n_bars, n_sym), np.nan)

    def seen(snap) -> None:
        seen_close[snap.bar_index] = snap.close
        seen_mid[snap.bar_index] = snap.mid()

    loop = driver.run(seen=seen)
    engine, broker = loop.engine, driver.broker
    fills = broker.fills()

    stamps = pd.DatetimeIndex(replay.timestamps).tz_convert(EXCHANGE_TZ)
    days = stamps.tz_localize(None).normalize()
    # each session's close as the run saw it: its last bar's close, a symbol without a bar in
    # the last minute keeping its latest earlier one
    closes = pd.DataFrame(seen_close, index=days, columns=list(replay.symbols)).ffill()
    closes = closes.groupby(level=0).last()
    before = daily_closes.loc[daily_closes.index < closes.index[0], list(replay.symbols)]
    if not before.empty:
        start_row = before.ffill().iloc[[-1]]
        closes = pd.concat([start_row, closes])
    account = account_fills(closes, fills, float(config.strategy.capital))

    parents = list(engine.parents)
    quality = {q.parent_id: q for q in execution_quality(engine)}
    start = np.array([quality[p].start_price for p in parents], dtype=float)
    costs = decompose_fills(engine, fills, parents, start, seen_mid, half_spreads(broker),
                            replay)
    if len(costs.parent) != len(fills):  # every fill of a backtest is one of its parents'
        raise RuntimeError(f"backtest: {len(fills) - len(costs.parent)} fill(s) belong to no "
                           "parent of the run")
    paper = np.array([quality[p].quantity * quality[p].arrival_price for p in parents])
    costs_dollars = {
        "delay": float(np.sum([quality[p].delay_bps for p in parents] * paper / 1e4)),
        "spread": float(costs.spread.sum()),
        "impact": float(costs.impact.sum()),
        "timing": float(costs.timing.sum()),
        "opportunity": float(np.sum([quality[p].opportunity_bps for p in parents]
                                    * paper / 1e4)),
        "fees": float(sum(f.fees for f in fills)),
    }
    costs_dollars["total"] = float(sum(costs_dollars[k] for k in COST_COMPONENTS))
    traded = float(sum(f.quantity * f.price for f in fills))
    # the cost drag is what trading paid — spread, impact and fees, dated by the fill — not the
    # shortfall's market drift (delay, timing: either sign) nor the opportunity cost of shares
    # never traded (never in the equity): those are reported in `costs`, not as a drag
    fill_day = pd.DatetimeIndex([f.timestamp for f in fills]).tz_convert(
        EXCHANGE_TZ).tz_localize(None).normalize() if fills else pd.DatetimeIndex([])
    paid = costs.spread + costs.impact + np.array([f.fees for f in fills], dtype=float)
    cost_by_day = pd.Series(paid, index=fill_day).groupby(level=0).sum().reindex(
        account.equity.index, fill_value=0.0)
    benchmark, benchmark_text = covering_benchmark(benchmark, account.equity.index)
    metrics = performance_metrics(account.equity, benchmark,
                                  traded_notional=account.traded_notional, costs=cost_by_day,
                                  risk_free_rate=risk_free_rate)
    child_parent = {cid: c.parent_id for cid, c in engine.children.items()}
    trades = pd.DataFrame({
        "time": [f.timestamp for f in fills], "symbol": [f.symbol for f in fills],
        "side": [f.side.value for f in fills], "quantity": [int(f.quantity) for f in fills],
        "price": [float(f.price) for f in fills], "fees": [float(f.fees) for f in fills],
        "client_order_id": [f.client_order_id for f in fills],
        "parent_id": [child_parent.get(f.client_order_id) for f in fills],
        "bar_volume": _bar_volumes(replay, fills)})
    # the loop prepares the session after the last replayed one (its risk refit and target
    # checks) before it knows the replay ends: nothing of it belongs to this backtest
    last_day = f"{closes.index[-1]:%Y-%m-%d}"
    risk_events = pd.DataFrame([e for e in loop.risk_events
                                if (e["time"] or "")[:10] <= last_day],
                               columns=["time", "symbol", "side", "requested", "allowed",
                                        "decision", "limits", "message"])
    limit_usage = pd.DataFrame([r for r in loop.limit_usage if r["session"] <= last_day])
    forecasts = pd.DataFrame([r for r in loop.risk_forecasts if r["session"] <= last_day])
    alerts = _alert_frame(alert_sink, last_day)
    meta = {"bars": {"symbols": list(replay.symbols), "first": replay.timestamps[0].isoformat(),
                     "last": replay.timestamps[-1].isoformat(), "n_bars": n_bars,
                     "sessions": int(closes.shape[0] - (0 if before.empty else 1))},
            "data": data, "data_hash": _data_hash(replay, daily_closes), "frequency": frequency,
            "seed": int(settings.simulation.seed),
            "seed_effect": "none: the simulated market draws nothing at random (its fills "
                           "follow from the bars and the response model)",
            "conventions": {"sessions_per_year": 252, "risk_free_rate": risk_free_rate,
                            "equity": "marked at each session's last close as the run saw it",
                            "benchmark": benchmark_text},
            "assumptions": list(assumptions) + _coverage_notes(loop, last_day) + ([
                f"fees: fills on {len(driver.fee_fn.backdated)} session(s) before the fee schedule "
                f"{config.cost_model.fee_schedule!r} existed ({driver.fee_fn.schedule.first_date})"
                " were charged its first version"] if driver.fee_fn.backdated else []),
            "limits": {k: v for k, v in loop.risk.settings.model_dump(mode="json").items()
                       if k in _LIMIT_FIELDS},
            "parents": len(parents), "refused_parents": dict(loop.refused),
            "dropped_parents": dict(loop.dropped)}
    return BacktestResult(config, account, metrics, costs_dollars, traded, trades, risk_events,
                          list(loop.decisions), meta,
                          limit_usage=limit_usage, risk_forecasts=forecasts, alerts=alerts,
                          closes=closes, paid_costs=cost_by_day.rename("paid_costs"))


def _coverage_notes(loop: Any, last_day: str) -> list[str]:
    """One sentence per change of the names the risk model covers (and so the strategy sizes),
    and per name that stopped or resumed trading, in session order: the universe as the run
    saw it."""
    covered_rule = (
        f"the strategy sizes only the names the risk model covers: those with a return on at "
        f"least {JOIN_COVERAGE:.0%} of the sessions the best-covered name has one in its "
        f"{int(loop.risk.lookback)}-session window, and every held name")
    stopped_rule = (
        f"no bar on {STALE_SESSIONS} sessions in a row: a delisting or a halt — not sized from "
        "then on; a position in it is kept at its last close, as if cashed out at that price, "
        "and the others are sized on the rest of NAV")
    notes: list[tuple[str, str]] = []
    for change in loop.coverage_changes:
        parts = [f"{', '.join(change[k])} {k.replace('_', ' ')}"
                 for k in ("joined", "left", "not_covered") if change[k]]
        notes.append((change["session"], f"{'; '.join(parts)} — {covered_rule}"))
    for change in loop.trading_changes:
        if change["stopped"]:
            notes.append((change["session"],
                          f"{', '.join(change['stopped'])} stopped trading ({stopped_rule})"))
        if change["resumed"]:
            notes.append((change["session"], f"{', '.join(change['resumed'])} has bars again"))
        if change.get("listed"):
            notes.append((change["session"], f"{', '.join(change['listed'])} has its first bar"))
    return [f"universe on {day}: {text}" for day, text in sorted(notes, key=lambda n: n[0])
            if day <= last_day]


def _bar_volumes(replay: BarReplay, fills: list) -> list[float]:
    """The volume of the bar each fill was made on (shares; its participation's denominator:
    a daily replay's session bar, or the opening auction's)."""
    row = {t: i for i, t in enumerate(replay.timestamps)}
    col = {s: j for j, s in enumerate(replay.symbols)}
    return [float(replay.volume[row[f.timestamp], col[f.symbol]]) for f in fills]


_ALERT_COLUMNS = ["time", "limit", "subject", "measured", "threshold", "severity", "state",
                  "previous_state", "suppressed", "message"]


def _alert_frame(sink: MemorySink, last_day: str) -> pd.DataFrame:
    """The alerts sent and those the cool-down held back, in time order (a refit's alerts are
    stamped with its session: the risk manager refits once a session, before its open)."""
    rows = [{**e.as_dict(), "suppressed": held}
            for held, events in ((False, sink.events), (True, sink.suppressed_events))
            for e in events if e.time.isoformat()[:10] <= last_day]
    frame = pd.DataFrame(rows, columns=_ALERT_COLUMNS)
    return frame.sort_values(["time", "limit"], kind="stable").reset_index(drop=True)
