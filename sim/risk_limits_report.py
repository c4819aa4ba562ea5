"""The tables of the ``risk_limits`` report: pure functions of a :class:`~sim.risk_limits_study.
RiskLimitsStudy` (and the daily closes it traded) — each limit's usage against its threshold,
binds by limit and by symbol, the paired cost of the limits, the VaR and ES backtests of the
replay's own P&L, the alert timeline and the headline metrics. Attribution and risk budgets
are in :mod:`sim.risk_limits_attribution`, figures in :mod:`sim.risk_limits_figures`.

Conventions: returns are the replay's daily equity changes over the previous close's equity
(costs and fees included); 252 sessions a year; VaR and ES are positive loss fractions of NAV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.config import RiskLimits
from research.risk import LimitKind
from research.risk.limits import threshold

SESSIONS_PER_YEAR = 252
#: The limits the loop measures each session, in the report's order.
LIMITS = tuple(k.value for k in LimitKind)


# --------------------------------------------------------------------------- usage and binds
def thresholds(result: Any) -> dict[str, float]:
    """Each limit's threshold in the replay (``meta.limits``)."""
    limits = RiskLimits.model_validate({k: v for k, v in result.meta["limits"].items()
                                        if k in RiskLimits.model_fields})
    return {k: threshold(limits, LimitKind(k)) for k in LIMITS}


def limit_usage(result: Any) -> pd.DataFrame:
    """Each session's measured value of each limit at the close (index: session dates)."""
    usage = result.limit_usage.copy()
    usage.index = pd.DatetimeIndex(usage.pop("session"))
    return usage


def usage_summary(result: Any) -> pd.DataFrame:
    """Per limit: threshold, median and largest measured value, sessions over the threshold
    at the close (drift or a trim that could not be made) and sessions within 90% of it."""
    usage, limits = limit_usage(result), thresholds(result)
    rows = []
    for k in LIMITS:
        values = usage[k].to_numpy(float)
        rows.append({"limit": k, "threshold": limits[k], "median": float(np.median(values)),
                     "max": float(values.max()),
                     "sessions_over": int((values > limits[k] + 1e-12).sum()),
                     "sessions_near": int((values >= 0.9 * limits[k]).sum()),
                     "sessions": int(values.size)})
    return pd.DataFrame(rows).set_index("limit")


def _exploded(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (event, limit): an event cut by several limits counts for each."""
    out = events.assign(limit=events["limits"].astype(str).str.split(","))
    return out.explode("limit")


def binds_by_limit(result: Any) -> pd.DataFrame:
    """Risk events per limit and decision (trimmed, rejected, rescaled, reduced, halted),
    with the sessions on which the limit bound at least once."""
    events = result.risk_events
    if events.empty:
        return pd.DataFrame(columns=["events", "sessions"]).rename_axis("limit")
    rows = _exploded(events)
    table = rows.pivot_table(index="limit", columns="decision", values="symbol",
                             aggfunc="size", fill_value=0)
    table["events"] = table.sum(axis=1)
    table["sessions"] = rows.groupby("limit")["time"].apply(lambda t: t.str[:10].nunique())
    return table.sort_values("events", ascending=False)


def binds_by_symbol(result: Any) -> pd.DataFrame:
    """Risk events per symbol (rows) and limit (columns); a book-level event ("*", a halt or
    a rescaled target) is its own row, a drift event counts for each symbol it names."""
    events = result.risk_events
    if events.empty:
        return pd.DataFrame()
    rows = _exploded(events)
    rows = rows.assign(symbol=rows["symbol"].astype(str).str.split(",")).explode("symbol")
    table = rows.pivot_table(index="symbol", columns="limit", values="time", aggfunc="size",
                             fill_value=0)
    return table.loc[table.sum(axis=1).sort_values(ascending=False).index]


def bind_counts(result: Any) -> dict[str, int]:
    """Events per limit, every limit named (0 when it never bound)."""
    table = binds_by_limit(result)
    return {k: int(table["events"].get(k, 0)) for k in (*LIMITS, "drift")}


# --------------------------------------------------------------------------- paired cost
def daily_returns(result: Any) -> pd.Series:
    """The replay's daily returns: equity change over the previous close's equity."""
    return result.equity.pct_change().iloc[1:]


def daily_turnover(result: Any) -> pd.Series:
    """Dollars traded each session over the previous close's equity."""
    eq = result.equity
    traded = result.account.traded_notional.reindex(eq.index, fill_value=0.0)
    return (traded / eq.shift(1)).iloc[1:]


def stationary_bootstrap_indices(n: int, n_boot: int, block_length: float,
                                 rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) indices of Politis & Romano's (1994) stationary bootstrap: blocks start at
    uniform positions, their lengths geometric with mean ``block_length``, wrapping around
    the end (circular), so every resample is stationary."""
    if not 1 <= block_length <= n:
        raise ValueError(f"block_length must be in [1, {n}] sessions, got {block_length}")
    new_block = rng.random((n_boot, n)) < 1.0 / block_length
    new_block[:, 0] = True
    starts = rng.integers(0, n, size=(n_boot, n))
    t = np.arange(n)
    block_start = np.maximum.accumulate(np.where(new_block, t, 0), axis=1)
    first = np.take_along_axis(starts, block_start, axis=1)
    return (first + t - block_start) % n


def _arm_statistics(returns: np.ndarray, turnover: np.ndarray) -> dict[str, np.ndarray]:
    """Annualised return (geometric), volatility, max drawdown and turnover of each row."""
    growth = np.log1p(returns)
    path = np.cumsum(growth, axis=-1)
    peak = np.maximum(np.maximum.accumulate(path, axis=-1), 0.0)
    return {"annual_return": np.expm1(growth.mean(axis=-1) * SESSIONS_PER_YEAR),
            "volatility": returns.std(axis=-1, ddof=1) * math.sqrt(SESSIONS_PER_YEAR),
            "max_drawdown": -np.expm1((path - peak).min(axis=-1)),
            "turnover": turnover.mean(axis=-1) * SESSIONS_PER_YEAR}


@dataclass(frozen=True)
class PairedCost:
    """Limits on minus limits off, per metric, with a stationary-bootstrap interval."""

    table: pd.DataFrame  # metric -> limits_on, limits_off, difference, ci_low, ci_high
    n_sessions: int
    n_boot: int
    block_length: float
    seed: int

    @property
    def method(self) -> str:
        return (f"stationary bootstrap (Politis-Romano, circular) of the {self.n_sessions} "
                f"paired daily returns and turnovers, mean block {self.block_length:g} "
                f"sessions, {self.n_boot} resamples, seed {self.seed}; 95% percentile interval")


def paired_cost(study: Any, *, n_boot: int = 1000, block_length: float = 21.0,
                seed: int = 0) -> PairedCost:
    """What the limits cost: the same config with and without them, paired by session — the
    differences (on − off) in annualised return, volatility, max drawdown and turnover (mean
    daily traded notional over the previous equity × 252), each with a 95% interval from a
    stationary bootstrap that resamples the same sessions for both arms."""
    on_r, off_r = daily_returns(study.limited), daily_returns(study.unlimited)
    if not on_r.index.equals(off_r.index):
        raise ValueError("the two replays do not cover the same sessions: they cannot be paired")
    on = np.vstack([on_r.to_numpy(float), daily_turnover(study.limited).to_numpy(float)])
    off = np.vstack([off_r.to_numpy(float), daily_turnover(study.unlimited).to_numpy(float)])
    point_on, point_off = _arm_statistics(*on), _arm_statistics(*off)
    rng = np.random.default_rng(seed)
    n = on.shape[1]
    diffs: dict[str, list[np.ndarray]] = {k: [] for k in point_on}
    chunk = max(1, 2_000_000 // n)  # bounded memory: a few (chunk, n) arrays at a time
    for done in range(0, n_boot, chunk):
        idx = stationary_bootstrap_indices(n, min(chunk, n_boot - done), block_length, rng)
        a = _arm_statistics(on[0][idx], on[1][idx])
        b = _arm_statistics(off[0][idx], off[1][idx])
        for k in diffs:
            diffs[k].append(a[k] - b[k])
    rows = []
    for k in point_on:
        d = np.concatenate(diffs[k])
        low, high = np.quantile(d, [0.025, 0.975])
        rows.append({"metric": k, "limits_on": float(point_on[k]),
                     "limits_off": float(point_off[k]),
                     "difference": float(point_on[k] - point_off[k]),
                     "ci_low": float(low), "ci_high": float(high)})
    return PairedCost(pd.DataFrame(rows).set_index("metric"), n, n_boot, block_length, seed)


def arm_comparison(study: Any) -> pd.DataFrame:
    """The replays side by side (the config with its limits, without them, and the risk-parity
    strategy under the same limits when run): annualised return, volatility, max drawdown,
    turnover (as :func:`paired_cost` measures them) and the events of each limit."""
    arms = {"config, limits on": study.limited, "config, limits off": study.unlimited}
    if study.budgeted is not None:
        arms["risk parity, limits on"] = study.budgeted
    rows = {}
    for name, res in arms.items():
        stats = _arm_statistics(daily_returns(res).to_numpy(float),
                                daily_turnover(res).to_numpy(float))
        rows[name] = {**{k: float(v) for k, v in stats.items()},
                      **{f"binds.{k}": v for k, v in bind_counts(res).items()}}
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- VaR backtests
@dataclass(frozen=True)
class ForecastBacktest:
    """A VaR + ES backtest of one horizon: the aligned series and every test."""

    horizon: int
    confidence: float
    realised: pd.Series  # returns over the horizon, by the forecast's session
    var: pd.Series
    cvar: pd.Series
    var_test: Any  # research.risk.VaRBacktest
    es_test: Any  # research.risk.ExpectedShortfallTest
    excluded: int  # sessions whose forecast book was empty (no risk to test)
    note: str


def _forecasts(result: Any) -> pd.DataFrame:
    frame = result.risk_forecasts.copy()
    frame.index = pd.DatetimeIndex(frame.pop("session"))
    return frame


def _run_tests(horizon: int, confidence: float, realised: pd.Series, var: pd.Series,
               cvar: pd.Series, excluded: int, note: str, es_options: dict) -> ForecastBacktest:
    from research.risk import backtest_expected_shortfall, backtest_var

    var_test = backtest_var(realised.to_numpy(), var.to_numpy(), confidence)
    es_test = backtest_expected_shortfall(realised.to_numpy(), var.to_numpy(), cvar.to_numpy(),
                                          confidence, **es_options)
    return ForecastBacktest(horizon, confidence, realised, var, cvar, var_test, es_test,
                            excluded, note)


def var_backtest_daily(result: Any, **es_options: Any) -> ForecastBacktest:
    """Each session's return against the 1-day VaR and ES the risk manager forecast before its
    open (``var_1d``, ``cvar_1d``: the configured method at one day, on the refit's book).
    Sessions whose refit book was empty (from cash) are left out: a zero forecast tests
    nothing. ``es_options``: :func:`research.risk.backtest_expected_shortfall`'s."""
    f = _forecasts(result)
    r = daily_returns(result).reindex(f.index)
    keep = (f["cvar_1d"] > 0) & r.notna()
    confidence = float(f["confidence"].iloc[0])
    note = ("each session's return (equity change over the previous close, costs included) "
            "against the 1-day forecast made before its open on the book held then; on a "
            "rebalance session the book changes during the day")
    return _run_tests(1, confidence, r[keep], f.loc[keep, "var_1d"], f.loc[keep, "cvar_1d"],
                      int((~keep).sum()), note, es_options)


def var_backtest_horizon(result: Any, **es_options: Any) -> ForecastBacktest:
    """The configured horizon's forecast (``var``, ``cvar``, h sessions) against the return
    over the h sessions from its session on, on **non-overlapping** windows (every h-th
    session): overlapping windows share h − 1 days, so their exceptions are dependent and the
    χ² tests would not apply. Few windows (33 years at h = 21: ~380), so wide tests."""
    f = _forecasts(result)
    h = int(f["horizon_days"].iloc[0])
    eq = result.equity
    position = {d: i for i, d in enumerate(eq.index)}
    rows = []
    for k in range(0, len(f) - h + 1, h):
        day = f.index[k]
        i = position.get(day)
        if i is None or i < 1 or i + h - 1 >= len(eq):
            continue
        rows.append((day, eq.iloc[i + h - 1] / eq.iloc[i - 1] - 1.0, f["var"].iloc[k],
                     f["cvar"].iloc[k]))
    frame = pd.DataFrame(rows, columns=["session", "realised", "var", "cvar"]).set_index(
        "session")
    keep = frame["cvar"] > 0
    confidence = float(f["confidence"].iloc[0])
    note = (f"the {h}-session return from each forecast's session (one every {h} sessions: "
            f"non-overlapping windows) against that session's {h}-day forecast")
    return _run_tests(h, confidence, frame.loc[keep, "realised"], frame.loc[keep, "var"],
                      frame.loc[keep, "cvar"], int((~keep).sum()), note, es_options)


def backtest_table(*tests: ForecastBacktest) -> pd.DataFrame:
    """One row per horizon: exceptions against the expected count, Kupiec, Christoffersen,
    conditional coverage (LR and p), the traffic light and the Z2 ES test."""
    rows = []
    for t in tests:
        v, e = t.var_test, t.es_test
        rows.append({
            "horizon_days": t.horizon, "observations": v.n_obs, "exceptions": v.n_exceptions,
            "expected": v.kupiec.expected_exceptions, "kupiec_lr": v.kupiec.lr,
            "kupiec_p": v.kupiec.pvalue, "christoffersen_lr": v.independence.lr,
            "christoffersen_p": v.independence.pvalue,
            "conditional_coverage_lr": v.conditional_coverage.lr,
            "conditional_coverage_p": v.conditional_coverage.pvalue,
            "traffic_light": v.traffic_light.zone.value, "es_z2": e.z2,
            "es_critical_5pct": e.critical_value, "es_p": e.pvalue})
    return pd.DataFrame(rows).set_index("horizon_days")


# --------------------------------------------------------------------------- alerts
def alert_summary(result: Any) -> pd.DataFrame:
    """Alerts per limit: sent (by state) and held back by the cool-down."""
    alerts = result.alerts
    if alerts.empty:
        return pd.DataFrame(columns=["sent", "suppressed"]).rename_axis("limit")
    sent = alerts[~alerts["suppressed"]]
    table = sent.pivot_table(index="limit", columns="state", values="time", aggfunc="size",
                             fill_value=0)
    table["sent"] = table.sum(axis=1)
    table["suppressed"] = alerts[alerts["suppressed"]].groupby("limit").size()
    return table.fillna(0).astype(int)


# --------------------------------------------------------------------------- verdict, metrics
def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def verdict(study: Any, cost: PairedCost, daily: ForecastBacktest,
            horizon: ForecastBacktest) -> str:
    """The report's closing paragraph, written from the numbers."""
    res = study.limited
    summary, counts = usage_summary(res), bind_counts(res)
    bound = [k for k in LIMITS if counts[k] > 0]
    never = [k for k in LIMITS if counts[k] == 0]
    over = summary[summary["sessions_over"] > 0]
    held = ("every limit was within its threshold at every close" if over.empty else
            "; ".join(f"{k} closed over its threshold on {int(r.sessions_over)} of "
                      f"{int(r.sessions)} sessions (largest {r['max']:.3f} vs "
                      f"{r.threshold:.3f})" for k, r in over.iterrows()))
    lines = [f"**Did the limits hold?** {held}. Pre-trade checks trim and refuse orders; what "
             "the book does between rebalances (prices moving held positions, a VaR that "
             "rises with volatility, correlations that rise in a crisis) is measured and "
             "alerted, and the drift policy decides whether it is traded back "
             f"(`on_drift={res.meta['limits'].get('on_drift')}`)."]
    lines.append("**How often did they bind?** " + ", ".join(
        f"{k}: {counts[k]} events" for k in bound) + (
        f"; never: {', '.join(never)}" if never else "") + ".")
    t = cost.table
    sig = [k for k, r in t.iterrows() if r.ci_low > 0 or r.ci_high < 0]
    lines.append("**What did they cost?** Limits on minus limits off: " + ", ".join(
        f"{k.replace('_', ' ')} {_pct(r.difference)} [{_pct(r.ci_low)}, {_pct(r.ci_high)}]"
        for k, r in t.iterrows()) + ". " + (
        f"The interval excludes zero for {', '.join(sig)}." if sig else
        "No interval excludes zero: over this sample the limits' cost is not resolved.")
        + f" ({cost.method}.)")
    for bt in (daily, horizon):
        v, e = bt.var_test, bt.es_test
        lines.append(
            f"**{bt.horizon}-day VaR backtest** ({v.n_obs} observations): {v.n_exceptions} "
            f"exceptions against {v.kupiec.expected_exceptions:.1f} expected, Kupiec p = "
            f"{v.kupiec.pvalue:.3g}, independence p = {v.independence.pvalue:.3g}, traffic "
            f"light {v.traffic_light.zone.value}; ES (Z2 = {e.z2:.2f}, 5% critical "
            f"{e.critical_value:.2f}) {'understated' if e.rejects() else 'not rejected'}.")
    return "\n\n".join(lines)


def headline_metrics(study: Any, cost: PairedCost, daily: ForecastBacktest,
                     horizon: ForecastBacktest) -> dict[str, float | str]:
    """What promotion gates read (MLflow): ``risk.binds.<limit>`` (events), ``risk.var_1d.*``
    and ``risk.var_<h>d.*`` (exceptions, expected, kupiec_p, christoffersen_p, zone, es_z2,
    es_p), ``risk.cost.<metric>`` with ``.ci_low``/``.ci_high`` (limits on − off), and
    ``risk.limits_held`` (1 when no limit closed over its threshold)."""
    res = study.limited
    out: dict[str, float | str] = {f"risk.binds.{k}": v for k, v in bind_counts(res).items()}
    summary = usage_summary(res)
    out["risk.sessions_over.total"] = int(summary["sessions_over"].sum())
    out["risk.limits_held"] = int(summary["sessions_over"].sum() == 0)
    for bt, tag in ((daily, "var_1d"), (horizon, f"var_{horizon.horizon}d")):
        v, e = bt.var_test, bt.es_test
        out.update({f"risk.{tag}.observations": v.n_obs,
                    f"risk.{tag}.exceptions": v.n_exceptions,
                    f"risk.{tag}.expected": v.kupiec.expected_exceptions,
                    f"risk.{tag}.kupiec_p": v.kupiec.pvalue,
                    f"risk.{tag}.christoffersen_p": v.independence.pvalue,
                    f"risk.{tag}.conditional_coverage_p": v.conditional_coverage.pvalue,
                    f"risk.{tag}.zone": v.traffic_light.zone.value,
                    f"risk.{tag}.zone_code": ("green", "yellow", "red").index(
                        v.traffic_light.zone.value),
                    f"risk.{tag}.es_z2": e.z2, f"risk.{tag}.es_p": e.pvalue})
    for k, r in cost.table.iterrows():
        out[f"risk.cost.{k}"] = r.difference
        out[f"risk.cost.{k}.ci_low"] = r.ci_low
        out[f"risk.cost.{k}.ci_high"] = r.ci_high
    alerts = res.alerts
    out["risk.alerts.sent"] = int((~alerts["suppressed"]).sum()) if len(alerts) else 0
    out["risk.alerts.suppressed"] = int(alerts["suppressed"].sum()) if len(alerts) else 0
    return out
