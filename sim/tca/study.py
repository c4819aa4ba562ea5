"""The execution-comparison study: every parent order executed by every strategy on the same
market path (paired), scored by implementation shortfall against the arrival mid.

For each strategy: a fresh :class:`~sim.SimulatedBroker` (Tiger fee schedule by bar date,
its own market-response model from ``settings.simulation``) and a fresh
:class:`~research.execution.ExecutionEngine` (the real pre-trade validation, breakers and the
real :class:`~research.risk.RiskManager` through :class:`~research.execution.RiskManagerCheck`) over
the same bars. Permanent impact accumulates within one strategy's run only.

No circularity (DESIGN.md principle 2): fills come from the simulated market's own response
model; the cost model (``settings.costs``) is fitted on the bars **before** the first
decision's session and only *predicts* each order's cost, giving the calibration z-score
(realised - predicted) / predicted timing-risk std. A symbol whose data starts after that
session has its own state fitted on its own bars before its first order's session
(``sim.tca._inputs``); with few past daily closes the daily volatility is the 5-minute
realised volatility of the past intraday bars (``meta.assumptions.cost_model.daily_vol_method``).

Inputs are checked before any strategy runs (:func:`sim.tca._inputs.check_study_inputs`):
history, volatility, ADV and spread per traded symbol and the risk model's observations; a
:class:`~sim.tca._inputs.StudyInputError` lists every one that is missing.

Risk manager: its model is fitted on daily returns of past closes only (sessions before the
study; with fewer than max(symbols + 1, 20) past daily returns, on past bar returns scaled to a day
by sqrt(bars per session), flagged in ``meta.assumptions.risk_returns``). The book is flat and
fills are not fed back, so each child is checked on its own against a NAV of
``max(1e8, 100 x the largest parent notional)``: a parent is at most 1% of NAV, so an order set
is normally approved and the check stays a parity check rather than a constraint of the study.

Engine settings: ``settings.execution`` except that the per-child notional cap and the
order-rate limit are lifted (account safeguards, not market costs; with institutional parent
sizes a market order would otherwise be refused outright). Pass ``execution_settings`` to keep
them.

The JSON layout is documented in ``sim/tca/SCHEMA.md``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from research.config import (
    ExecutionPolicy,
    ExecutionSettings,
    Settings,
    SimulationSettings,
    load_settings,
)
from research.domain import Algorithm
from research.trading.algorithm_params import SLICED_ALGORITHMS
from sim.tca._inputs import (
    StudyInputs,
    check_study_inputs,
    past_risk_returns,
    past_volume_profile,
    prepare_inputs,
    risk_symbols,
)
from sim.tca._run import StrategyParams, build_parents, run_strategy, smallest_children
from sim.tca._stats import (
    CI_LEVEL,
    INTERVAL_METHOD,
    INTERVAL_METHOD_TEXT,
    MIN_DAYS_FOR_VERDICT,
    DayClusters,
    RatioInterval,
    day_sd,
    days_needed,
    days_to_half_width,
    design_effect,
    mean_interval,
    ratio_interval,
    reduction_interval,
)
from sim.tca.claim import CLAIM_MIN_SAVING, CLAIM_RESOLUTION_PP

STRATEGY_NAMES: tuple[str, ...] = tuple(a.value for a in Algorithm)  # the TCA word for them
SCHEMA_VERSION = "qlab.tca.comparison/2"
#: %ADV bucket edges (percent of the past ADV) and time-of-day edges (minutes after 09:30).
ADV_PCT_EDGES = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0, math.inf)
TIME_OF_DAY_EDGES = (0.0, 30.0, 120.0, 270.0, 360.0, 390.0)
TIME_OF_DAY_LABELS = ("09:30-10:00", "10:00-11:30", "11:30-14:00", "14:00-15:30", "15:30-16:00")
DECOMPOSITION = ("delay_bps", "spread_bps", "impact_bps", "timing_bps", "opportunity_bps",
                 "fees_bps")
Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Result of :func:`compare_strategies`. ``summary`` is the JSON document (a dict);
    ``per_order`` one row per (order, strategy); ``elapsed_s`` wall time per phase (kept out
    of the JSON so that the same seed gives byte-identical JSON)."""

    summary: dict
    per_order: pd.DataFrame
    elapsed_s: dict = field(default_factory=dict)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.summary, indent=indent, sort_keys=True, allow_nan=False)

    def write_json(self, path) -> None:
        from pathlib import Path

        Path(path).write_text(self.to_json() + "\n")

    def table(self) -> pd.DataFrame:
        """Algorithm, mean IS bps [CI], fill rate, reduction vs market [CI], days needed (for
        printing)."""
        rows = []
        for name, s in self.summary["strategies"].items():
            p = self.summary["paired_vs_market"].get(name, {})
            r = p.get("reduction_pct", {})
            d = p.get("diff_bps") or {}
            red_ci = r.get("ci95") or [None, None]
            diff_ci = d.get("ci95") or [None, None]
            rows.append({
                "strategy": name, "n": s["n_orders"], "is_bps": s["is_bps"]["mean"],
                "is_ci_lo": s["is_bps"]["ci95"][0], "is_ci_hi": s["is_bps"]["ci95"][1],
                "fill_rate": s["fill_rate"], "reduction_pct": r.get("mean"),
                "red_ci_lo": red_ci[0], "red_ci_hi": red_ci[1],
                "days_needed": (p.get("days_needed") or {}).get("days"),
                "reduction_defined": bool(r.get("defined", True)),
                "diff_bps": d.get("mean"), "diff_ci_lo": diff_ci[0], "diff_ci_hi": diff_ci[1],
            })
        return pd.DataFrame(rows)

    def interval_label(self) -> str:
        """How the intervals were computed, e.g. 't(22) on 23 day totals'."""
        return interval_label(self.summary["meta"])

    def format_table(self) -> str:
        def f(x, spec="{:.2f}"):
            return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) \
                else spec.format(x)

        lines = [f"95% intervals: {self.interval_label()}; fill rate share-weighted, IS equally "
                 "weighted per order",
                 f"{'strategy':<8} {'n':>6} {'IS bps [95% CI]':>26} {'fill':>6} "
                 f"{'vs market % [95% CI]':>28} {'days needed':>12}"]
        if not self.table()["reduction_defined"].all():
            lines.insert(0, "no % reduction: market orders' own cost is not resolved above 0 "
                         "(a ratio to it is unbounded); the paired difference is shown in bps")
        for r in self.table().to_dict("records"):
            ci = f"[{f(r['is_ci_lo'])}, {f(r['is_ci_hi'])}]"
            red = ("baseline" if r["strategy"] == "market" else
                   f"{f(r['reduction_pct'], '{:.1f}')} [{f(r['red_ci_lo'], '{:.1f}')}, "
                   f"{f(r['red_ci_hi'], '{:.1f}')}]" if r["reduction_defined"] else
                   f"no % ({f(r['diff_bps'], '{:+.2f}')} bps)")
            lines.append(f"{r['strategy']:<8} {r['n']:>6} {f(r['is_bps']):>9} {ci:>16} "
                         f"{f(r['fill_rate'], '{:.1%}'):>6} {red:>28} "
                         f"{f(r['days_needed'], '{:.0f}'):>12}")
        lines.append(f"days needed: trading days at this many orders per day to detect a "
                     f"{100 * CLAIM_MIN_SAVING:g}% saving with 80% power (5% two-sided)")
        return "\n".join(lines)


def interval_label(meta: dict) -> str:
    """'t(G-1) on G day totals' with G filled in, from a result's ``meta``."""
    g = int(meta["clusters"])
    return f"t({max(g - 1, 0)}) on {g} day totals"


def _clean(x: Any) -> Any:
    """JSON-safe and byte-stable: floats rounded to 6 decimals, NaN/inf -> None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _emit(progress: bool | Progress | None) -> Progress:
    if progress is None or progress is False:
        return lambda msg: None
    if progress is True:
        return lambda msg: print(msg, flush=True)
    return progress


def build_risk_check(inputs: StudyInputs, settings: Settings, nav: float):
    """A RiskManager fitted on past returns only, wrapped as a PreTradeRiskCheck; with the
    returns' source and count (:func:`sim.tca._inputs.past_risk_returns`)."""
    from research.data.sectors import GICS_SECTOR
    from research.execution.risk_check import RiskManagerCheck
    from research.risk import RiskManager

    # historical VaR needs >= 20 scenarios at 95% and the covariance more rows than assets
    returns, source = past_risk_returns(inputs, risk_rows_needed(inputs))
    symbols = list(returns.columns)
    sectors = {s: GICS_SECTOR.get(s, f"Unknown:{s}") for s in symbols}
    manager = RiskManager(settings.risk, sectors)
    manager.update(returns, None, nav=nav, as_of=inputs.history["timestamp"].iloc[-1])
    return RiskManagerCheck(manager), source, len(returns)


def risk_rows_needed(inputs: StudyInputs) -> int:
    return max(len(risk_symbols(inputs)) + 1, 20)


def fit_cost_state(settings: Settings, params: StrategyParams, inputs: StudyInputs,
                   choice: Any = None):
    """(model, state): the cost model fitted on the history before the study, and its
    per-symbol state (adv, daily_vol, daily_vol_method, spread_bps, spread_method,
    last_price) with rows for late-starting symbols fitted on their own earlier bars.
    ``choice``: a run config's ``cost_model`` (impact law, spread source, fee schedule,
    calibration) over ``settings.costs``; None: the process defaults alone."""
    from research.costs import CostModel

    def fitted(bars):
        if choice is None:
            model = CostModel.from_settings(settings.costs, pov_rate=params.pov_rate)
        else:
            model = CostModel.for_run(choice, settings.costs).set_params(
                pov_rate=params.pov_rate)
        return model.fit(bars)

    model = fitted(inputs.history)
    state = _model_state(model)
    if not inputs.late_history.empty:
        late = _model_state(fitted(inputs.late_history))
        state = pd.concat([state, late.drop(index=state.index, errors="ignore")])
    return model, state


def _predict(model, state: pd.DataFrame, inputs: StudyInputs, strategies: Sequence[str],
             params: StrategyParams, min_child: np.ndarray | None = None):
    """Cost-model prediction (total bps, timing-risk std bps) per (strategy, order);
    ``min_child``: fee-aware slicing's smallest child per order (the sliced algorithms')."""
    from research.costs._algorithms import ALGORITHM_CODES

    o = inputs.orders
    st = state.loc[o["symbol"]]
    out = {}
    dates = pd.to_datetime(o["day"]).dt.date.to_numpy()
    for name in strategies:
        pred = np.full(len(o), np.nan)
        std = np.full(len(o), np.nan)
        for day in np.unique(dates):
            m = dates == day
            est = model.predict_arrays(
                quantity=o["quantity"].to_numpy(float)[m], price=o["decision_mid"].to_numpy()[m],
                adv=st["adv"].to_numpy(float)[m], daily_vol=st["daily_vol"].to_numpy(float)[m],
                spread_bps=st["spread_bps"].to_numpy(float)[m],
                algorithm=np.full(int(m.sum()), ALGORITHM_CODES[name], np.int64),
                is_sell=(o["side"] == "sell").to_numpy()[m],
                start_minute=o["minute_of_day"].to_numpy(float)[m],
                horizon_minutes=o["horizon_minutes"].to_numpy(float)[m],
                limit_offset_bps=np.full(int(m.sum()), params.limit_offset_bps),
                fees_on=day, order_ids=o["order_id"].to_numpy()[m],
                min_child_shares=(min_child[m] if min_child is not None
                                  and Algorithm(name) in SLICED_ALGORITHMS else None),
            )
            pred[m], std[m] = est.total_bps, est.timing_risk_bps
        out[name] = (pred, std)
    return out


def _model_state(model) -> pd.DataFrame:
    return pd.DataFrame({"adv": model.adv_, "daily_vol": model.daily_vol_,
                         "daily_vol_method": model.daily_vol_method_,
                         "spread_bps": model.spread_bps_, "spread_method": model.spread_method_,
                         "last_price": model.last_price_})


def compare_strategies(
    bars: pd.DataFrame,
    parents: pd.DataFrame,
    strategies: Sequence[str] = STRATEGY_NAMES,
    settings: Settings | None = None,
    seed: int = 0,
    progress: bool | Progress | None = None,
    *,
    execution_policy: ExecutionPolicy | None = None,
    execution_settings: ExecutionSettings | None = None,
    bars_description: str | None = None,
    synthetic: bool = False,
    data_hash: str | None = None,
    code_version: str | None = None,
    n_jobs: int = 1,
    cost_model_choice: Any = None,
) -> ComparisonResult:
    """Run the paired study (see the module docstring) and summarise it.

    ``bars``: long frame in the bar schema (minute bars; quotes optional) covering at least one
    session before the first decision. ``parents``: the parent-order frame
    (``research.strategies.PARENT_ORDER_COLUMNS``). ``strategies``: any of
    :data:`STRATEGY_NAMES`; "market" is always run (the baseline). ``seed``: the simulated
    market's seed and the bootstrap's. ``n_jobs``: strategies run in parallel processes (fork;
    each run is independent and deterministic, so the JSON does not depend on ``n_jobs``).
    ``execution_policy``: the run config's execution policy the algorithms' parameters come from
    (limit offset and clean-up, POV rate, IS risk aversion and impact coefficient; defaults
    when None) — never ``settings.costs``, the predictor being judged.
    ``cost_model_choice``: the run config's ``cost_model`` when a config's own predictor and
    fee schedule are being judged (``validate-run``); None: ``settings.costs``.
    Returns a :class:`ComparisonResult`.
    """
    say = _emit(progress)
    t0 = time.perf_counter()
    unknown = [s for s in strategies if s not in STRATEGY_NAMES]
    if unknown:
        raise ValueError(f"tca: unknown strateg(ies) {unknown}; choose from {list(STRATEGY_NAMES)}")
    names = ["market"] + [s for s in dict.fromkeys(strategies) if s != "market"]
    settings = settings or load_settings(None)
    sim_settings = settings.simulation.model_copy(update={"seed": seed})
    exec_settings = execution_settings or settings.execution.model_copy(update={
        "max_order_notional": 1e15, "max_orders_per_second": 1e9, "order_burst": 1_000_000_000})
    inputs = prepare_inputs(bars, parents)
    params = StrategyParams.from_policy(execution_policy or ExecutionPolicy(), inputs.bar_minutes)
    o = inputs.orders
    say(f"tca: {len(o)} parent orders on {o['day'].nunique()} session(s), "
        f"{inputs.replay.n_bars} bars x {inputs.replay.n_symbols} symbols")

    from research.costs import fee_schedule

    model, state = fit_cost_state(settings, params, inputs, cost_model_choice)
    notional = float((o["quantity"] * o["decision_mid"]).max())
    nav = max(1e8, 100.0 * notional)
    risk_returns, _ = past_risk_returns(inputs, risk_rows_needed(inputs))
    # every input every strategy needs, per symbol, before any strategy runs
    check_study_inputs(inputs, state, risk_rows=len(risk_returns),
                       risk_rows_needed=risk_rows_needed(inputs), strategies=names)
    for line in _estimates_used(state, o):
        say(f"tca: {line}")
    fee_name = (settings.costs.fee_schedule if cost_model_choice is None
                else cost_model_choice.fee_schedule)
    fees = fee_schedule(fee_name, flat_bps=settings.costs.flat_fee_bps)
    min_child = smallest_children(inputs, params, fees)
    try:
        predictions = _predict(model, state, inputs, names, params, min_child)
        prediction_error = None
    except ValueError as exc:  # a kernel refusal the checks above did not foresee
        nan = np.full(len(o), np.nan)
        predictions = {name: (nan, nan) for name in names}
        prediction_error = f"cost model could not price the orders: {exc}"
        say(f"tca: WARNING {prediction_error}; z-scores are null")
    adv = state.loc[o["symbol"], "adv"].to_numpy(float)
    profile, profile_source = past_volume_profile(inputs.history, inputs.bar_minutes)
    risk_check, risk_source, risk_n = build_risk_check(inputs, settings, nav)
    elapsed = {"prepare": time.perf_counter() - t0}

    frames = []
    light = dataclasses.replace(inputs, history=inputs.history.iloc[:0],  # cheap to pickle
                                late_history=inputs.late_history.iloc[:0])
    jobs = {name: (light, name, build_parents(inputs, name, params, profile, state, min_child),
                   dict(sim_settings=sim_settings, exec_settings=exec_settings,
                        risk_check=risk_check, fee_schedule=fees,
                        latency_bars=exec_settings.latency_bars)) for name in names}
    for name, run, seconds in _execute(jobs, n_jobs):
        elapsed[name] = seconds
        pred, std = predictions[name]
        run.insert(1, "strategy", name)
        run["predicted_bps"] = pred
        run["predicted_std_bps"] = std
        with np.errstate(invalid="ignore", divide="ignore"):
            run["z"] = np.where(std > 0, (run["is_bps"].to_numpy() - pred) / std, np.nan)
        frames.append(run)
        say(f"tca: {name:<6} done in {elapsed[name]:.2f} s, mean IS "
            f"{run['is_bps'].mean():.2f} bps, fill rate {run['filled'].sum() / o['quantity'].sum():.1%}")

    per_order = pd.concat(frames, ignore_index=True)
    meta_cols = o[["order_id", "symbol", "side", "quantity", "day", "minute_of_day",
                   "horizon_minutes", "decision_mid"]].assign(adv_pct=100.0 * o["quantity"] / adv)
    per_order = meta_cols.merge(per_order, on="order_id", how="right", validate="one_to_many")
    per_order = per_order[["order_id", "strategy", *[c for c in per_order.columns
                                                     if c not in ("order_id", "strategy")]]]
    t2 = time.perf_counter()
    summary = summarise(per_order, names)
    summary["meta"] = _meta(
        bars, inputs, names, seed, settings, sim_settings, exec_settings, params, model,
        bars_description, synthetic, data_hash, code_version, nav, risk_source, risk_n,
        summary.pop("_statistics"))
    summary["meta"]["assumptions"]["cost_model"]["prediction_error"] = prediction_error
    _add_input_meta(summary["meta"], inputs, state, profile_source)
    elapsed["statistics"] = time.perf_counter() - t2
    elapsed["total"] = time.perf_counter() - t0
    return ComparisonResult(_clean(summary), per_order, elapsed)


_VOL_METHOD_TEXT = {
    "daily_close_to_close": "std of past daily close-to-close log returns",
    "intraday_realised_5min": "5-minute realised volatility of the past intraday bars (open "
                              "to close, overnight gap excluded: too few past daily closes)",
}


def _estimates_used(state: pd.DataFrame, orders: pd.DataFrame) -> list[str]:
    """Printable lines saying which estimators the inputs came from, per symbol."""
    traded = state.loc[sorted(set(orders["symbol"]))]
    lines = [f"daily volatility: {text}, for {', '.join(group.index)}"
             for method, text in _VOL_METHOD_TEXT.items()
             if len(group := traded[traded["daily_vol_method"] == method])]
    stale = orders[orders["arrival_stale_bars"] > 0]
    if len(stale):
        lines.append(f"{len(stale)} order(s) decided in a minute without a bar of their symbol: "
                     "arrival mid = the symbol's last mid earlier in the session")
    return lines


def _add_input_meta(meta: dict, inputs: StudyInputs, state: pd.DataFrame,
                    profile_source: str) -> None:
    """Which estimator each input came from, and each symbol's own history (SCHEMA.md)."""
    o = inputs.orders
    traded = state.loc[sorted(set(o["symbol"]))]
    cost = meta["assumptions"]["cost_model"]
    cost["daily_vol_method"] = {str(k): str(v) for k, v in traded["daily_vol_method"].items()}
    cost["daily_vol_methods_used"] = {
        str(k): int(v) for k, v in sorted(traded["daily_vol_method"].value_counts().items())}
    cost["daily_vol_method_text"] = {m: _VOL_METHOD_TEXT[m] for m in cost["daily_vol_methods_used"]
                                     if m in _VOL_METHOD_TEXT}
    cost["spread_methods_used"] = {
        str(k): int(v) for k, v in sorted(traded["spread_method"].value_counts().items())}
    meta["assumptions"]["vwap_profile"] = profile_source
    meta["assumptions"]["arrival_mid_from_an_earlier_bar"] = int((o["arrival_stale_bars"] > 0).sum())
    both = pd.concat([inputs.history, inputs.late_history], ignore_index=True)
    span = both.groupby("symbol")["timestamp"].agg(["min", "max"])
    late = set(inputs.late_history["symbol"].unique()) if not inputs.late_history.empty else set()
    meta["bars"]["history_per_symbol"] = {
        str(sym): {"first_bar": row["min"].isoformat(), "last_bar": row["max"].isoformat(),
                   "own_later_history": sym in late}
        for sym, row in span.iterrows()}


def _timed_run(job) -> tuple[pd.DataFrame, float]:
    inputs, name, parents, kw = job
    t = time.perf_counter()
    run = run_strategy(inputs, name, parents, **kw)
    return run, time.perf_counter() - t


#: Measured relative run time of each strategy in the study (1 month, 1,000 orders): scheduled
#: algorithms send a child per parent per bar, market and limit one or two per parent.
_RELATIVE_COST = {"is": 4.5, "vwap": 4.5, "twap": 4.5, "pov": 2.5, "limit": 1.0, "market": 1.0}


def _execute(jobs: dict, n_jobs: int):
    """Yield (name, per-parent frame, seconds) in the order of ``jobs``."""
    if n_jobs <= 1 or len(jobs) == 1:
        for name, job in jobs.items():
            run, seconds = _timed_run(job)
            yield name, run, seconds
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    # longest first (a child order per parent per bar costs most), so that the last job to
    # start is a short one and the workers finish together
    longest_first = sorted(jobs, key=lambda name: _RELATIVE_COST.get(name, 1.0), reverse=True)
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=ctx) as pool:
        futures = {name: pool.submit(_timed_run, jobs[name]) for name in longest_first}
        futures = {name: futures[name] for name in jobs}
        for name, fut in futures.items():
            run, seconds = fut.result()
            yield name, run, seconds


def _interval_block(r: RatioInterval) -> dict:
    return {"mean": r.estimate, "ci95": r.as_list()}


def _mean_block(x: np.ndarray, clusters: DayClusters) -> dict:
    """Equal-weighted mean with its day-clustered interval, median and std."""
    return {**_interval_block(mean_interval(x, clusters)), "median": float(np.median(x)),
            "std": float(np.std(x, ddof=1)) if x.size > 1 else None}


def _rescored_on_market_arrival(is_bps: np.ndarray, arrival: np.ndarray,
                                market_arrival: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """IS (bps) re-scored against the market run's arrival mid: the $ cost changes by
    side x quantity x (own arrival - market arrival) and the notional by the arrival ratio."""
    return is_bps * arrival / market_arrival + sign * 1e4 * (arrival - market_arrival) / \
        market_arrival


def summarise(per_order: pd.DataFrame, strategies: Sequence[str]) -> dict:
    """The ``strategies``, ``paired_vs_market`` and ``breakdowns`` parts of the JSON, plus
    ``_statistics`` (for ``meta``). Every interval: :mod:`sim.tca._stats` (t(G-1) on
    day totals); the per-comparison 95% intervals are ``ci95``, the ones adjusted for comparing
    every alternative with market orders (Bonferroni) ``ci_simultaneous``."""
    wide = {name: g.set_index("order_id") for name, g in per_order.groupby("strategy", sort=False)}
    base = wide["market"]
    ids = base.index
    clusters = DayClusters(base["day"].to_numpy())
    ones = clusters.totals(np.ones(len(ids)))
    m_is = base["is_bps"].to_numpy(float)
    m_tot = clusters.totals(m_is)
    # a % of market orders' cost means something only if that cost is resolved above zero —
    # by Fieller's test on the day totals (the ratio's own) and by the interval the report
    # shows for it (the per-order mean): when the two disagree, no % is quoted
    m_lo = mean_interval(m_is, clusters).lo
    market_resolved = m_lo is not None and m_lo > 0
    m_arrival = base["arrival_mid"].to_numpy(float)
    sign = np.where(base["side"].to_numpy() == "sell", -1.0, 1.0)
    notional = base["quantity"].to_numpy(float) * base["decision_mid"].to_numpy(float)
    alternatives = [s for s in strategies if s != "market"]
    n_comparisons = max(len(alternatives), 1)
    level_each = 1.0 - (1.0 - CI_LEVEL) / n_comparisons
    market_mean = float(m_is.mean())
    # the "days needed" figures are powered for the smallest saving the claim asserts
    claim_effect = -CLAIM_MIN_SAVING * market_mean if market_mean > 0 else math.nan
    strategies_out, paired = {}, {}
    for name in strategies:
        d = wide[name].reindex(ids)
        is_bps = d["is_bps"].to_numpy(float)
        z = d["z"].to_numpy(float)
        has_z = np.isfinite(z)
        zf = z[has_z]
        filled = ratio_interval(clusters.totals(d["filled"].to_numpy(float)),
                                clusters.totals(d["quantity"].to_numpy(float)))
        strategies_out[name] = {
            "n_orders": int(len(d)),
            "is_bps": _mean_block(is_bps, clusters),
            "is_bps_notional_weighted": _interval_block(ratio_interval(
                clusters.totals(is_bps * notional), clusters.totals(notional))),
            "fill_rate": filled.estimate, "fill_rate_ci95": filled.as_list(),
            "fill_rate_mean_per_order": _interval_block(
                mean_interval(d["fill_rate"].to_numpy(float), clusters)),
            "fully_filled_share": _interval_block(
                mean_interval((d["fill_rate"] >= 1.0).to_numpy(float), clusters)),
            "decomposition_bps": {c.removesuffix("_bps"): float(d[c].mean())
                                  for c in DECOMPOSITION},
            "decomposition_ci95": {c.removesuffix("_bps"): mean_interval(
                d[c].to_numpy(float), clusters).as_list() for c in DECOMPOSITION},
            "predicted_bps_mean": float(np.nanmean(d["predicted_bps"])) if
            np.isfinite(d["predicted_bps"]).any() else None,
            "z_score": {"n": int(zf.size), "mean": float(zf.mean()) if zf.size else None,
                        "ci95": mean_interval(zf, clusters.subset(has_z)).as_list()
                        if zf.size else [None, None],
                        "std": float(zf.std(ddof=1)) if zf.size > 1 else None},
            "child_orders_mean": float(d["child_orders"].mean()),
            "child_rejects": int(d["child_rejects"].sum()),
        }
        if name == "market":
            continue
        diff = is_bps - m_is
        diff_tot = clusters.totals(diff)
        s_tot = clusters.totals(is_bps)
        red = reduction_interval(s_tot, m_tot)
        red_sim = reduction_interval(s_tot, m_tot, level_each)
        defined = red.bounded and market_resolved
        red_sd, _ = day_sd(s_tot, m_tot)
        arrival = d["arrival_mid"].to_numpy(float)
        shift = sign * 1e4 * (arrival - m_arrival) / m_arrival
        rescored = _rescored_on_market_arrival(is_bps, arrival, m_arrival, sign)
        cheaper = (diff < 0).astype(float)
        paired[name] = {
            "n_pairs": int(diff.size),
            "diff_bps": {**_interval_block(ratio_interval(diff_tot, ones)),
                         "ci_simultaneous": ratio_interval(diff_tot, ones, level_each).as_list(),
                         "std": float(diff.std(ddof=1)) if diff.size > 1 else None},
            # no % is quoted without a resolved market cost: no interval for it either
            "reduction_pct": {"mean": red.estimate,
                              "ci95": red.as_list() if defined else [None, None],
                              "ci_simultaneous": red_sim.as_list() if defined
                              else [None, None],
                              "defined": defined},
            "days_needed": days_needed(diff_tot, ones, claim_effect),
            "days_to_resolve_band": days_to_half_width(100.0 * red_sd, CLAIM_RESOLUTION_PP)
            if defined else None,
            "design_effect": design_effect(diff, clusters),
            "share_of_orders_cheaper": _interval_block(mean_interval(cheaper, clusters)),
            "arrival_shift_bps": {**_interval_block(mean_interval(shift, clusters)),
                                  "max_abs": float(np.abs(shift).max()) if shift.size else None},
            "diff_bps_market_arrival": _interval_block(mean_interval(rescored - m_is, clusters)),
        }
    return {
        "schema": SCHEMA_VERSION,
        "strategies": strategies_out,
        "paired_vs_market": paired,
        "breakdowns": {"adv_pct": _breakdown(per_order, strategies, "adv_pct", ADV_PCT_EDGES,
                                              None, clusters),
                       "time_of_day": _breakdown(per_order, strategies, "minute_of_day",
                                                 TIME_OF_DAY_EDGES, TIME_OF_DAY_LABELS,
                                                 clusters)},
        "_statistics": {
            "interval_method": INTERVAL_METHOD, "clusters": clusters.n_days,
            "multiple_comparisons": {"method": "bonferroni", "comparisons": len(alternatives),
                                     "level_each": level_each},
        },
    }


def _breakdown(per_order: pd.DataFrame, strategies: Sequence[str], column: str,
               edges: Sequence[float], labels: Sequence[str] | None,
               clusters: DayClusters) -> list[dict]:
    """Per bucket: order count, trading days, and per strategy the mean IS (bps) and the mean
    paired difference versus market (bps), each with its day-clustered 95% interval (from the
    bucket's own days: small buckets get wide or no intervals)."""
    base = per_order[per_order["strategy"] == "market"].set_index("order_id")
    bucket = pd.cut(base[column], list(edges), right=False, labels=False).to_numpy()
    by_strategy = {name: per_order[per_order["strategy"] == name].set_index("order_id")
                   ["is_bps"].reindex(base.index).to_numpy(float) for name in strategies}
    rows = []
    for k in range(len(edges) - 1):
        member = bucket == k
        label = labels[k] if labels else f"{edges[k]:g}-{edges[k + 1]:g}"
        sub = clusters.subset(member)
        row: dict = {"bucket": label, "n_orders": int(member.sum()), "days": sub.n_days,
                     "is_bps_mean": {}, "is_bps_ci95": {}, "diff_vs_market_bps_mean": {},
                     "diff_vs_market_bps_ci95": {}}
        if member.any():
            m = by_strategy["market"][member]
            for name in strategies:
                v = by_strategy[name][member]
                r = mean_interval(v, sub)
                row["is_bps_mean"][name], row["is_bps_ci95"][name] = r.estimate, r.as_list()
                if name != "market":
                    r = mean_interval(v - m, sub)
                    row["diff_vs_market_bps_mean"][name] = r.estimate
                    row["diff_vs_market_bps_ci95"][name] = r.as_list()
        rows.append(row)
    return rows


def _meta(bars, inputs: StudyInputs, names, seed, settings, sim_settings: SimulationSettings,
          exec_settings: ExecutionSettings, params: StrategyParams, model, description,
          synthetic, data_hash, code_version, nav, risk_source, risk_n,
          statistics: dict) -> dict:
    from research.data import frame_hash

    o = inputs.orders
    if code_version is None:
        from research.tracking import code_version as cv

        v = cv()
        code_version = v.sha + ("-dirty" if v.dirty else "")
    ts = inputs.replay.timestamps
    return {
        "data_hash": data_hash or frame_hash(bars),
        "seed": seed,
        "code_version": code_version,
        "bars": {
            "description": description or "in-memory bar frame",
            "synthetic": bool(synthetic),
            "symbols": list(inputs.replay.symbols),
            "bar_minutes": inputs.bar_minutes,
            "has_quotes": inputs.has_quotes,
            "study_first_bar": ts[0].isoformat(), "study_last_bar": ts[-1].isoformat(),
            "history_first_bar": inputs.history["timestamp"].iloc[0].isoformat(),
            "history_last_bar": inputs.history["timestamp"].iloc[-1].isoformat(),
        },
        "n_orders": int(len(o)),
        "n_sessions": int(o["day"].nunique()),
        "strategies": list(names),
        # what every interval is, and how many independent units (trading days) it rests on
        "interval_method": statistics["interval_method"],
        "clusters": statistics["clusters"],
        "statistics": {
            "interval_method_text": INTERVAL_METHOD_TEXT, "ci_level": CI_LEVEL,
            "degrees_of_freedom": max(statistics["clusters"] - 1, 0),
            "min_days_for_verdict": MIN_DAYS_FOR_VERDICT,
            "multiple_comparisons": statistics["multiple_comparisons"],
            "weighting": {"is_bps": "equal weight per parent order",
                          "is_bps_notional_weighted": "weighted by the decision notional "
                          "(quantity x decision mid: one weight per order for every strategy)",
                          "fill_rate": "filled shares / ordered shares (share-weighted)"},
            "sign": "positive bps = cost; diff = strategy - market"},
        "assumptions": {
            "impact_y": sim_settings.impact_y,
            "permanent_impact": sim_settings.permanent_impact,
            "limit_fill_rule": sim_settings.limit_fill_rule,
            "limit_volume_share": sim_settings.limit_volume_share,
            "participation_cap": sim_settings.max_participation,
            "spread_source": ("quotes" if inputs.has_quotes else sim_settings.spread_source
                              if sim_settings.spread_source != "quotes"
                              else "fixed fallback half spread (no quotes)"),
            "latency_bars": exec_settings.latency_bars,
            "fee_schedule": str(model.fee_schedule),
            "benchmark": "arrival mid on the decision bar (this run's prices; "
                         "paired_vs_market.<name>.arrival_shift_bps: how far it moved from the "
                         "market run's, diff_bps_market_arrival: scored against the market's)",
            "opportunity_cost_price": "mid when the parent closed (filled, or horizon + grace "
                                      "bars, never past its session)",
            "strategy_params": params.as_dict(),
            "vwap_profile": "pooled past volume profile (sessions before the study)",
            "cost_model": {"fitted_through": model.fitted_through_.isoformat(),
                           "impact_law": model.impact_law, "sqrt_impact_y": model.sqrt_impact_y,
                           "spread_source": model.spread_source,
                           # what each symbol's spread actually came from (the configured
                           # source falls back to a bar estimator without quotes)
                           "spread_methods_used": {str(k): int(v) for k, v in sorted(
                               model.spread_method_.value_counts().items())}},
            "risk_nav": nav,
            "risk_returns": risk_source,
            "risk_observations": int(risk_n),
            "engine_limits": {"max_order_notional": exec_settings.max_order_notional,
                              "max_orders_per_second": exec_settings.max_orders_per_second},
        },
    }
