"""Inputs, tables and the plain-language verdict of the execution-comparison report
(``notebooks/execution_comparison.ipynb``), built from a :class:`~sim.tca.ComparisonResult`
and a :func:`~sim.tca.sensitivity.sensitivity` table; its figures are drawn from these tables
in :mod:`sim.tca.figures`.

The notebook stays a thin view: everything it shows is computed here (or drawn there) and
unit-tested.
Units: bps of the parent's arrival-mid notional (positive = cost); reductions in percent of
the market-order cost (positive = cheaper than market orders). Every interval shown is named with its method
(:func:`interval_label`: t(G-1) on G day totals, Fieller's for the % reduction;
``sim/tca/_stats.py``).

The claim under test, its band and tolerance are stated once, in :mod:`sim.tca.claim`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.tca._stats import MIN_DAYS_FOR_VERDICT, TARGET_POWER, DayClusters, mean_interval
from sim.tca.claim import (
    CLAIM_BAND,
    CLAIM_IS_BPS,
    CLAIM_MIN_SAVING,
    CLAIM_REDUCTION_PCT,
    CLAIM_RESOLUTION_PP,
    band_text,
)
from sim.tca.study import interval_label

COMPONENTS = ("delay", "spread", "impact", "timing", "opportunity", "fees")


# ------------------------------------------------------------------------------- inputs
@dataclass(frozen=True, eq=False)
class StudyData:
    """Bars and parent orders of one study, with their provenance (for captions)."""

    bars: pd.DataFrame
    parents: pd.DataFrame
    bars_description: str
    orders_description: str
    synthetic: bool


def load_study(bars: str, orders: str, *, n_orders: int, seed: int, start: str | None,
               end: str | None, settings=None) -> StudyData:
    """Bars (a file or a store dataset, with history before ``start``) and the parent-order
    set (``synthetic``, ``rebalance`` or a file), exactly as ``qlab tca compare`` loads them."""
    from research.config import load_settings
    from sim.tca.order_sets import parent_order_set
    from sim.tca.study_bars import load_study_bars

    settings = settings or load_settings()
    frame, bars_desc, synthetic = load_study_bars(bars, settings, start, end)
    parents, orders_desc = parent_order_set(orders, frame, n_orders=n_orders, seed=seed,
                                            start=start, end=end)
    return StudyData(frame, parents, bars_desc, orders_desc, synthetic)


def order_subset(parents: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """A seeded random subset of ``n`` parent orders (all of them when ``n`` >= their count),
    in their original order, so that the subset spans the same sessions as the study."""
    if n >= len(parents):
        return parents
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5E45]))
    keep = np.sort(rng.choice(len(parents), size=n, replace=False))
    return parents.iloc[keep].reset_index(drop=True)


# ------------------------------------------------------------------------------- tables
def _ci(values) -> tuple[float, float]:
    lo, hi = (values or [None, None])
    return (math.nan if lo is None else float(lo), math.nan if hi is None else float(hi))


def _num(x) -> float:
    return math.nan if x is None else float(x)


def strategy_table(summary: Mapping) -> pd.DataFrame:
    """One row per strategy: mean IS (bps, equal weight per order) and its 95% CI, the
    notional-weighted IS, the share-weighted fill rate, the paired difference and % reduction
    versus market orders with per-comparison (``*_ci_*``) and simultaneous (``*_sim_*``)
    intervals, the days needed to detect the claim's smallest saving, the arrival-mid shift;
    market's paired columns are NaN."""
    rows = []
    for name, s in summary["strategies"].items():
        p = summary["paired_vs_market"].get(name, {})
        diff, red = p.get("diff_bps", {}), p.get("reduction_pct", {})
        is_lo, is_hi = _ci(s["is_bps"]["ci95"])
        nw = s.get("is_bps_notional_weighted", {})
        nw_lo, nw_hi = _ci(nw.get("ci95"))
        f_lo, f_hi = _ci(s.get("fill_rate_ci95"))
        d_lo, d_hi = _ci(diff.get("ci95"))
        ds_lo, ds_hi = _ci(diff.get("ci_simultaneous"))
        r_lo, r_hi = _ci(red.get("ci95"))
        rs_lo, rs_hi = _ci(red.get("ci_simultaneous"))
        needed = p.get("days_needed") or {}
        days_lo, days_hi = _ci(needed.get("days_range"))
        shift = p.get("arrival_shift_bps", {})
        common = p.get("diff_bps_market_arrival", {})
        c_lo, c_hi = _ci(common.get("ci95"))
        rows.append({
            "strategy": name, "n_orders": s["n_orders"],
            "is_bps": _num(s["is_bps"]["mean"]), "is_ci_lo": is_lo, "is_ci_hi": is_hi,
            "is_std_bps": _num(s["is_bps"].get("std")),
            "is_nw_bps": _num(nw.get("mean")), "is_nw_ci_lo": nw_lo, "is_nw_ci_hi": nw_hi,
            "fill_rate": _num(s["fill_rate"]), "fill_ci_lo": f_lo, "fill_ci_hi": f_hi,
            "diff_bps": _num(diff.get("mean")), "diff_ci_lo": d_lo, "diff_ci_hi": d_hi,
            "diff_sim_lo": ds_lo, "diff_sim_hi": ds_hi, "diff_std_bps": _num(diff.get("std")),
            "reduction_pct": _num(red.get("mean")),
            "reduction_ci_lo": r_lo, "reduction_ci_hi": r_hi,
            "reduction_sim_lo": rs_lo, "reduction_sim_hi": rs_hi,
            "reduction_defined": bool(red.get("defined", True)),
            "days_needed": _num(needed.get("days")), "days_needed_lo": days_lo,
            "days_needed_hi": days_hi, "orders_per_day": _num(needed.get("orders_per_day")),
            "detect_effect_bps": _num(needed.get("effect_bps")),
            "days_to_resolve_band": _num(p.get("days_to_resolve_band")),
            "design_effect": _num(p.get("design_effect")),
            "arrival_shift_bps": _num(shift.get("mean")),
            "arrival_shift_max_abs": _num(shift.get("max_abs")),
            "diff_market_arrival": _num(common.get("mean")),
            "diff_market_arrival_lo": c_lo, "diff_market_arrival_hi": c_hi,
        })
    return pd.DataFrame(rows)


def _fmt(x: float, spec: str = "{:.1f}") -> str:
    return "n/a" if x is None or not np.isfinite(x) else spec.format(x)


def _fmt_ci(value: float, lo: float, hi: float, spec: str = "{:.1f}") -> str:
    return f"{_fmt(value, spec)} [{_fmt(lo, spec)}, {_fmt(hi, spec)}]"


def _fmt_days(days: float, lo: float, hi: float) -> str:
    if not np.isfinite(days):
        return "n/a"
    return f"{days:,.0f} [{_fmt(lo, '{:,.0f}')}-{_fmt(hi, '{:,.0f}')}]"


def display_table(summary: Mapping) -> pd.DataFrame:
    """:func:`strategy_table` formatted for reading: strings with intervals, strategy index;
    the columns' name states the interval method."""
    t = strategy_table(summary)
    saving = f"{100 * CLAIM_MIN_SAVING:g}%"
    out = pd.DataFrame({
        "orders": t["n_orders"].to_numpy(),
        "mean IS per order, bps [95% CI]": [_fmt_ci(r.is_bps, r.is_ci_lo, r.is_ci_hi, "{:.2f}")
                                            for r in t.itertuples()],
        "notional-weighted IS, bps [95% CI]": [
            _fmt_ci(r.is_nw_bps, r.is_nw_ci_lo, r.is_nw_ci_hi, "{:.2f}") for r in t.itertuples()],
        "fill rate of shares, % [95% CI]": [
            _fmt_ci(100 * r.fill_rate, 100 * r.fill_ci_lo, 100 * r.fill_ci_hi)
            for r in t.itertuples()],
        "vs market, bps [95% CI]": ["baseline" if r.strategy == "market" else
                                    _fmt_ci(r.diff_bps, r.diff_ci_lo, r.diff_ci_hi, "{:+.2f}")
                                    for r in t.itertuples()],
        "reduction vs market, % [95% CI]": [
            "baseline" if r.strategy == "market" else
            _fmt_ci(r.reduction_pct, r.reduction_ci_lo, r.reduction_ci_hi)
            if r.reduction_defined else "no % (market cost not resolved above 0)"
            for r in t.itertuples()],
        f"days to detect a {saving} saving, {TARGET_POWER:.0%} power [range]": [
            "" if r.strategy == "market" else
            _fmt_days(r.days_needed, r.days_needed_lo, r.days_needed_hi)
            for r in t.itertuples()],
    }, index=pd.Index(t["strategy"], name="strategy"))
    out.columns.name = f"95% intervals: {interval_label(summary['meta'])}"
    return out


def decomposition_table(summary: Mapping) -> pd.DataFrame:
    """Mean cost components per strategy (bps; rows: strategies, columns :data:`COMPONENTS`
    plus ``total``, which equals the mean IS)."""
    rows = {name: {c: _num(s["decomposition_bps"][c]) for c in COMPONENTS}
            for name, s in summary["strategies"].items()}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(COMPONENTS))
    table["total"] = table.sum(axis=1)
    table.index.name = "strategy"
    return table


def decomposition_display(summary: Mapping) -> pd.DataFrame:
    """:func:`decomposition_table` as 'mean [95% CI]' strings (intervals from the JSON's
    ``decomposition_ci95``; the total is the mean IS and carries its interval)."""
    rows = {}
    for name, s in summary["strategies"].items():
        cis = s.get("decomposition_ci95", {})
        row = {c: _fmt_ci(_num(s["decomposition_bps"][c]), *_ci(cis.get(c)), "{:.2f}")
               for c in COMPONENTS}
        row["total"] = _fmt_ci(_num(s["is_bps"]["mean"]), *_ci(s["is_bps"]["ci95"]), "{:.2f}")
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "strategy"
    table.columns.name = f"bps [95% CI: {interval_label(summary['meta'])}]"
    return table


def breakdown_table(summary: Mapping, kind: str) -> pd.DataFrame:
    """Long table of ``breakdowns.<kind>`` (``adv_pct`` or ``time_of_day``): one row per
    non-empty (bucket, strategy) with ``n_orders``, ``days``, ``is_bps`` (mean) and its 95%
    CI, ``diff_vs_market_bps`` (mean paired difference; NaN for market) and its CI."""
    if kind not in summary["breakdowns"]:
        raise ValueError(f"breakdown {kind!r} not in the result; choose from "
                         f"{sorted(summary['breakdowns'])}")
    rows = []
    for bucket in summary["breakdowns"][kind]:
        if not bucket["n_orders"]:
            continue
        for name, value in bucket["is_bps_mean"].items():
            lo, hi = _ci(bucket.get("is_bps_ci95", {}).get(name))
            dlo, dhi = _ci(bucket.get("diff_vs_market_bps_ci95", {}).get(name))
            rows.append({"bucket": bucket["bucket"], "n_orders": bucket["n_orders"],
                         "days": bucket.get("days"), "strategy": name, "is_bps": _num(value),
                         "is_ci_lo": lo, "is_ci_hi": hi,
                         "diff_vs_market_bps": _num(bucket["diff_vs_market_bps_mean"].get(name)),
                         "diff_ci_lo": dlo, "diff_ci_hi": dhi})
    return pd.DataFrame(rows, columns=["bucket", "n_orders", "days", "strategy", "is_bps",
                                       "is_ci_lo", "is_ci_hi", "diff_vs_market_bps",
                                       "diff_ci_lo", "diff_ci_hi"])


def calibration_table(per_order: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: orders with a prediction, mean predicted and realised IS (bps), mean
    error (bps), the z-score's mean with its 95% interval (clustered by day) and its std
    (descriptive: near 0 and 1 when the model is right)."""
    missing = [c for c in ("strategy", "day", "is_bps", "predicted_bps", "z")
               if c not in per_order]
    if missing:
        raise ValueError(f"calibration_table: per-order frame lacks column(s) {missing}")
    ok = per_order[np.isfinite(per_order["predicted_bps"]) & np.isfinite(per_order["z"])]
    rows = {}
    for name, d in ok.groupby("strategy", sort=False):
        z = d["z"].to_numpy(float)
        zi = mean_interval(z, DayClusters(d["day"].to_numpy()))
        rows[name] = {"orders": len(d), "predicted_bps": d["predicted_bps"].mean(),
                      "realised_bps": d["is_bps"].mean(),
                      "error_bps": (d["is_bps"] - d["predicted_bps"]).mean(),
                      "z_mean": zi.estimate, "z_mean_ci_lo": _num(zi.lo),
                      "z_mean_ci_hi": _num(zi.hi),
                      "z_std": float(np.std(z, ddof=1)) if z.size > 1 else math.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    order = list(dict.fromkeys(per_order["strategy"]))
    table = table.reindex([s for s in order if s in table.index])
    table.columns.name = "z mean: 95% CI, t(G-1) on day totals; z std: descriptive"
    return table


def sensitivity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per sensitivity cell: what changed, the ranking by point estimate (cheapest
    first; not a test) and each strategy's % reduction versus market with its 95% interval
    (the paired difference in bps where market's cost is not resolved above 0)."""
    if table.empty:
        raise ValueError("sensitivity_summary: the sensitivity table is empty")
    rows = []
    for (axis, value), cell in table.groupby(["axis", "value"], sort=False):
        ranked = cell.sort_values(["is_bps", "strategy"])["strategy"]
        row = {"assumption changed": _cell_name(axis, value),
               "ranking by point estimate": " < ".join(ranked)}
        for r in cell.to_dict("records"):
            if r["strategy"] == "market":
                continue
            row[f"{r['strategy']} vs market [95% CI]"] = _cell_interval(r)
        m = cell[cell["strategy"] == "market"].iloc[0]
        row["market IS, bps [95% CI]"] = _fmt_ci(float(m["is_bps"]), _num(m.get("is_ci_lo")),
                                                 _num(m.get("is_ci_hi")), "{:.2f}")
        if "clusters" in cell:
            row["days"] = int(cell["clusters"].iloc[0])
        rows.append(row)
    out = pd.DataFrame(rows)
    out.columns.name = "95% intervals: t(G-1) on each cell's G day totals (Fieller for %)"
    return out


def _cell_name(axis, value) -> str:
    return "none (base)" if axis == "base" else f"{axis} = {value}"


def _cell_interval(r: Mapping) -> str:
    """'-3.2% [-20.1, 12.0]' or, where no % exists, '+1.00 bps [-0.50, 2.50]'."""
    if r.get("reduction_defined", True):
        return _fmt_ci(_num(r["reduction_pct"]), _num(r.get("reduction_ci_lo")),
                       _num(r.get("reduction_ci_hi"))) + "%"
    return _fmt_ci(_num(r.get("diff_bps")), _num(r.get("diff_ci_lo")),
                   _num(r.get("diff_ci_hi")), "{:+.2f}") + " bps"


# ------------------------------------------------------------------------------- verdict
@dataclass(frozen=True)
class StrategyFinding:
    """How one strategy's % reduction interval relates to the claimed band. ``ci95`` is the
    interval the verdict used (simultaneous when several strategies are tested)."""

    strategy: str
    reduction_pct: float
    ci95: tuple[float, float]
    finding: str  # consistent | unresolved | unsized | below | above | costlier | no_interval |
    #              baseline_unresolved (market's own cost not resolved above 0: no % exists)
    days_to_detect_claim: float
    days_range: tuple[float, float]
    days_to_resolve_band: float


@dataclass(frozen=True)
class ClaimVerdict:
    """``outcome``: ``holds`` (a tested strategy's interval lies inside the claimed band,
    :func:`classify_reduction`), ``does not hold`` (every tested interval lies outside the
    band), ``unresolved`` (otherwise, and always with fewer than
    :data:`~sim.tca._stats.MIN_DAYS_FOR_VERDICT` trading days: ``reason`` is then
    ``"too few days"``). ``tested``: the strategies the claim was tested on (one when named in
    advance; else every alternative, with Bonferroni-adjusted intervals). ``markdown``: the
    text."""

    outcome: str
    best_strategy: str | None
    findings: tuple[StrategyFinding, ...]
    markdown: str
    reason: str | None = None
    tested: tuple[str, ...] = ()


def classify_reduction(lo: float, hi: float, band: tuple[float, float] = CLAIM_BAND) -> str:
    """Where a reduction interval [lo, hi] (%) lies relative to the claim's ``band``
    (:data:`~sim.tca.claim.CLAIM_BAND`, tolerance included) and to zero.

    ``consistent`` (the claim holds) needs the whole interval inside the band. An interval
    that excludes zero and reaches the band but extends outside it is ``unsized``: a real
    saving whose size the data do not pin (10% [0.2, 44.5] or [13.0, 16.0] do not make
    "15-18%" hold, wherever the point estimate falls)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no_interval"
    if hi < 0:
        return "costlier"
    if hi < band[0]:
        return "below"
    if lo > band[1]:
        return "above"
    if lo <= 0:
        return "unresolved"
    if lo >= band[0] and hi <= band[1]:
        return "consistent"
    return "unsized"


_BAND = band_text()
_FINDING_TEXT = {
    "consistent": f"consistent with the claim (the whole interval lies within {_BAND})",
    "unresolved": f"not resolved (the interval meets {_BAND} but also includes zero)",
    "unsized": ("cheaper than market orders, but the size is not pinned (the interval excludes "
                f"zero and reaches {_BAND}, but extends outside it)"),
    "below": f"below the claim (the whole interval is under {CLAIM_BAND[0]:g}%)",
    "above": f"above the claim (the whole interval is over {CLAIM_BAND[1]:g}%)",
    "costlier": "more expensive than market orders (the whole interval is below zero)",
    "no_interval": ("no bounded interval at this level (market orders' cost is not resolved "
                    "above zero at it, or there are fewer than two days)"),
    "baseline_unresolved": ("no meaningful % (market orders' own cost is not resolved above "
                            "zero, so a ratio to it is unbounded; read the paired difference "
                            "in bps)"),
}


_OUTCOME_TEXT = {"holds": "HOLDS", "does not hold": "DOES NOT HOLD",
                 "unresolved": "is NOT RESOLVED"}
#: Below this fill rate a strategy's IS leans on the opportunity-cost mark of the unfilled rest.
LOW_FILL_RATE = 0.9


def _findings(t: pd.DataFrame, tested: Sequence[str], simultaneous: bool) -> list[StrategyFinding]:
    out = []
    for r in t[t["strategy"].isin(tested)].itertuples():
        lo, hi = ((r.reduction_sim_lo, r.reduction_sim_hi) if simultaneous
                  else (r.reduction_ci_lo, r.reduction_ci_hi))
        out.append(StrategyFinding(
            strategy=r.strategy, reduction_pct=r.reduction_pct, ci95=(lo, hi),
            finding=classify_reduction(lo, hi) if r.reduction_defined else "baseline_unresolved",
            days_to_detect_claim=r.days_needed, days_range=(r.days_needed_lo, r.days_needed_hi),
            days_to_resolve_band=r.days_to_resolve_band))
    return out


def _outcome(findings: Sequence[StrategyFinding]) -> str:
    kinds = {f.finding for f in findings}
    if "consistent" in kinds:
        return "holds"
    if kinds & {"unresolved", "unsized", "no_interval", "baseline_unresolved"} or not findings:
        return "unresolved"
    return "does not hold"


def _assumptions_text(meta: Mapping) -> str:
    a = meta["assumptions"]
    rule = {"touch": "when the market touches the limit",
            "through": "only when the market trades through the limit"}.get(
        a["limit_fill_rule"], a["limit_fill_rule"])
    bars = meta["bars"]
    data = ("SYNTHETIC minute bars (simulated around real daily closes)" if bars["synthetic"]
            else "the supplied bars")
    return (f"{data}; simulated temporary impact Y = {a['impact_y']:g} (square root of bar "
            f"participation), permanent impact {a['permanent_impact']:g} x daily vol x "
            f"shares/ADV; limits fill {rule}; "
            f"participation capped at {100 * a['participation_cap']:.0f}% of bar volume; "
            f"spread from {a['spread_source']}; {a['fee_schedule']} fees; "
            f"{a['latency_bars']} bar(s) latency")


def unchanged_cells(table: pd.DataFrame) -> list[str]:
    """Sensitivity cells (``"axis = value"``) whose every strategy's mean IS equals the base
    cell's: the changed assumption does not bind on these orders (e.g. touch versus
    trade-through when no bar's extreme ever equals a limit price)."""
    base = table[table["axis"] == "base"].set_index("strategy")["is_bps"]
    out = []
    for (axis, value), cell in table[table["axis"] != "base"].groupby(["axis", "value"],
                                                                       sort=False):
        is_bps = cell.set_index("strategy")["is_bps"].reindex(base.index)
        if np.allclose(is_bps.to_numpy(float), base.to_numpy(float), rtol=0.0, atol=1e-9):
            out.append(f"{axis} = {value}")
    return out


def _sensitivity_text(table: pd.DataFrame, n_sub: int | None) -> list[str]:
    """Each cell's intervals (no counts of point estimates: the cells rerun the same orders on
    one market path, so they are not independent evidence)."""
    strategies = list(table["strategy"].unique())
    days = f", {int(table['clusters'].iloc[0])} trading days" if "clusters" in table else ""
    subset = f"{n_sub} orders{days}, " if n_sub else ""
    lines = [f"Sensitivity ({subset}strategies {', '.join(strategies)}; the cells rerun the "
             "same orders on one market path, so they are not independent evidence). Each "
             "cell's reduction versus market orders with its 95% interval:", ""]
    inert = set(unchanged_cells(table))
    for (axis, value), cell in table.groupby(["axis", "value"], sort=False):
        name = _cell_name(axis, value)
        parts = [f"{r['strategy']} {_cell_interval(r)}" for r in cell.to_dict("records")
                 if r["strategy"] != "market"]
        note = " (identical to the base: the assumption does not bind on these orders)" \
            if name in inert else ""
        lines.append(f"- {name}: {'; '.join(parts)}{note}.")
    return lines


def _versus_market(red: float, lo: float, hi: float) -> str:
    """'X% cheaper/dearer than market orders (reduction R% [lo, hi])', the direction stated
    only when the interval excludes zero."""
    ci = f"reduction {red:.1f}% [{lo:.1f}, {hi:.1f}]"
    if lo > 0:
        return f"{red:.1f}% cheaper than market orders ({ci})"
    if hi < 0:
        return f"{-red:.1f}% dearer than market orders ({ci})"
    return f"not distinguishable from market orders ({ci})"


def _tested_text(tested: Sequence[str], named: bool, meta: Mapping) -> str:
    mc = meta["statistics"]["multiple_comparisons"]
    if named:
        return (f"The claim is tested on **{tested[0]}**, named before the run: one "
                "comparison, its own 95% interval.")
    if len(tested) == 1:
        return f"The claim is tested on {tested[0]}, the only alternative: one comparison."
    return (f"The claim is tested on every alternative ({len(tested)} comparisons) with "
            f"simultaneous 95% intervals: each at {100 * mc['level_each']:.1f}% (Bonferroni), "
            "so that a claim that is false for all of them passes for none with 95% "
            "confidence. Name one strategy in advance (`strategy_under_test`) to test it "
            "alone.")


def claim_verdict(summary: Mapping, sensitivity_table: pd.DataFrame | None = None,
                  sensitivity_n_orders: int | None = None,
                  strategy_under_test: str | None = None) -> ClaimVerdict:
    """Does the seed's claim (:mod:`sim.tca.claim`) hold on this result? The text states the
    intervals and their method, which strategies were tested and how (one named in advance,
    or all with simultaneous intervals), the assumptions, each sensitivity cell's interval
    (run on ``sensitivity_n_orders`` orders), and how many trading days would resolve what
    is left (see :class:`ClaimVerdict`)."""
    t = strategy_table(summary)
    if "market" not in set(t["strategy"]):
        raise ValueError("claim_verdict: the result has no market-order baseline")
    meta = summary["meta"]
    others = t[t["strategy"] != "market"]
    alternatives = list(others["strategy"])
    if strategy_under_test is not None and strategy_under_test not in alternatives:
        raise ValueError(f"claim_verdict: strategy_under_test {strategy_under_test!r} is not "
                         f"an alternative in this result; choose from {alternatives}")
    tested = [strategy_under_test] if strategy_under_test else alternatives
    simultaneous = strategy_under_test is None and len(tested) > 1
    market = t[t["strategy"] == "market"].iloc[0]
    findings = _findings(t, tested, simultaneous)
    days = int(meta["clusters"])
    too_few_days = days < MIN_DAYS_FOR_VERDICT
    outcome = "unresolved" if too_few_days else _outcome(findings)
    best = None if others.empty else str(others.sort_values("is_bps")["strategy"].iloc[0])
    label = "SYNTHETIC data" if meta["bars"]["synthetic"] else "this data"
    n = int(meta["n_orders"])
    method = interval_label(meta)
    headline = f"**Verdict on {label}: the {_BAND} claim {_OUTCOME_TEXT[outcome]}"
    lines = [headline + (": too few days.**" if too_few_days else ".**"), ""]
    if too_few_days:
        lines += [f"The study spans {days} trading day(s); a verdict needs at least "
                  f"{MIN_DAYS_FOR_VERDICT}. Orders on one day share its market moves, so the "
                  f"day is the unit of evidence: with {days} the intervals below are honest "
                  f"(t with {max(days - 1, 0)} degrees of freedom) but one unusual day sets "
                  "their width, and no verdict is drawn from them.", ""]
    if best is not None:
        b = others[others["strategy"] == best].iloc[0]
        lines.append(
            f"On {n:,} paired parent orders over {days} trading day(s) "
            f"({meta['bars']['study_first_bar'][:10]} to {meta['bars']['study_last_bar'][:10]}),"
            f" market orders cost {market.is_bps:.2f} bps per order [95% CI "
            f"{market.is_ci_lo:.2f}, {market.is_ci_hi:.2f}] and the cheapest alternative by "
            f"point estimate, **{best}**, {b.is_bps:.2f} bps: " + (
                f"{_versus_market(b.reduction_pct, b.reduction_ci_lo, b.reduction_ci_hi)}."
                if b.reduction_defined else
                f"{b.diff_bps:+.2f} bps per order versus market orders [{b.diff_ci_lo:+.2f}, "
                f"{b.diff_ci_hi:+.2f}]. No % reduction is quoted: the market baseline's own "
                "interval reaches zero, so any ratio to it is unbounded."))
        lines.append("")
    lines += [f"Intervals: {method} (clustered by trading day; Fieller's interval for the % "
              f"reduction). The claim holds only for an interval that lies inside {_BAND}. "
              + _tested_text(tested, bool(strategy_under_test), meta), ""]
    kind = "simultaneous 95% intervals" if simultaneous else "95% interval"
    lines.append(f"Per strategy tested (reduction versus market orders, {kind}):")
    lines.append("")
    for f in findings:
        if f.finding == "baseline_unresolved":
            d = others[others["strategy"] == f.strategy].iloc[0]
            lo, hi = ((d.diff_sim_lo, d.diff_sim_hi) if simultaneous
                      else (d.diff_ci_lo, d.diff_ci_hi))
            lines.append(f"- {f.strategy}: {d.diff_bps:+.2f} bps versus market orders "
                         f"[{lo:+.2f}, {hi:+.2f}], {_FINDING_TEXT[f.finding]}.")
            continue
        lines.append(f"- {f.strategy}: {f.reduction_pct:.1f}% [{f.ci95[0]:.1f}, "
                     f"{f.ci95[1]:.1f}], {_FINDING_TEXT[f.finding]}.")
    low_fill = others[others["fill_rate"] < LOW_FILL_RATE]
    for r in low_fill.itertuples():
        lines += ["", f"Note: {r.strategy} filled {100 * r.fill_rate:.1f}% of the shares; its "
                  "cost counts the unfilled rest at its opportunity cost (marked at the mid "
                  "when the parent closed), not at what finishing the order later would cost."]
    levels = []
    for name, claimed in CLAIM_IS_BPS.items():
        row = t[t["strategy"] == name]
        if row.empty:
            continue
        r = row.iloc[0]
        inside = r.is_ci_lo <= claimed <= r.is_ci_hi
        levels.append(f"{name} {r.is_bps:.1f} bps vs {claimed} claimed "
                      f"({'inside' if inside else 'outside'} the interval)")
    if levels:
        lines += ["", "Seed levels: " + "; ".join(levels) + "."]
    lines += ["", f"Assumptions: {_assumptions_text(meta)}."]
    lines += ["", _benchmark_text(others)]
    if sensitivity_table is not None and not sensitivity_table.empty:
        lines += [""] + _sensitivity_text(sensitivity_table, sensitivity_n_orders)
    lines += ["", _days_intro(t, market.is_bps), ""]
    for f in findings:
        parts = []
        r = others[others["strategy"] == f.strategy].iloc[0]
        if np.isfinite(f.days_to_detect_claim):
            parts.append(f"{f.days_to_detect_claim:,.0f} trading days (range "
                         f"{_fmt(f.days_range[0], '{:,.0f}')}-{_fmt(f.days_range[1], '{:,.0f}')},"
                         f" about {f.days_to_detect_claim * r.orders_per_day:,.0f} orders) to "
                         f"detect a {100 * CLAIM_MIN_SAVING:g}% saving")
        if np.isfinite(f.days_to_resolve_band):
            parts.append(f"{f.days_to_resolve_band:,.0f} days to pin the reduction to "
                         f"±{CLAIM_RESOLUTION_PP:.1f} points (to tell {CLAIM_REDUCTION_PCT[0]:g}%"
                         f" from {CLAIM_REDUCTION_PCT[1]:g}%)")
        if np.isfinite(r.design_effect):
            parts.append(f"design effect {r.design_effect:.2f}")
        if parts:
            lines.append(f"- {f.strategy}: " + "; ".join(parts) + ".")
    return ClaimVerdict(outcome, best, tuple(findings), "\n".join(lines),
                        "too few days" if too_few_days else None, tuple(tested))


def _days_intro(t: pd.DataFrame, market_is: float) -> str:
    per_day = t["orders_per_day"].dropna()
    effect = t["detect_effect_bps"].dropna()
    at = f" at {per_day.iloc[0]:.1f} orders a day" if len(per_day) else ""
    size = (f" ({abs(effect.iloc[0]):.2f} bps, {100 * CLAIM_MIN_SAVING:g}% of market orders' "
            f"{market_is:.2f} bps)" if len(effect) else "")
    return (f"What would resolve the rest: trading days{at} for a two-sided 5% test to detect "
            f"the claim's smallest saving{size} with {TARGET_POWER:.0%} power (range: with the "
            "day-to-day variance at the ends of its 80% interval). Counted in days because "
            "orders on one day share its market moves: more orders within the same days "
            "narrow the intervals far less. The design effect is how much those shared moves "
            "inflate the variance of a mean over i.i.d. orders.")


def _benchmark_text(others: pd.DataFrame) -> str:
    """How far each strategy's arrival mid (its own run's) moved from the market run's, and
    the difference scored against the market run's arrival mid instead."""
    parts = []
    for r in others.itertuples():
        if not np.isfinite(r.arrival_shift_bps):
            continue
        common = _fmt_ci(r.diff_market_arrival, r.diff_market_arrival_lo,
                         r.diff_market_arrival_hi, "{:+.2f}")
        parts.append(f"- {r.strategy}: shifted {r.arrival_shift_bps:+.2f} bps on average "
                     f"(largest {r.arrival_shift_max_abs:.2f} on one order); against the "
                     f"market run's arrival mid it costs {common} bps more than market orders.")
    if not parts:
        return "Benchmark: each strategy's own run's arrival mid."
    return "\n".join(["Benchmark: each strategy is scored against its own run's arrival mid, "
                      "which earlier orders' permanent impact moves (shift positive = against "
                      "the order, flattering the strategy):", ""] + parts)


def headline_metrics(summary: Mapping, verdict: ClaimVerdict | None = None) -> dict:
    """Numbers for :func:`research.reports.publish_metrics` (MLflow, the demo's printout):
    mean IS and CI per strategy (bps), % reduction and CI per strategy versus market."""
    t = strategy_table(summary)
    out: dict = {
        "n_orders": int(summary["meta"]["n_orders"]),
        "n_sessions": int(summary["meta"]["n_sessions"]),
        "clusters": int(summary["meta"]["clusters"]),
        "interval_label": interval_label(summary["meta"]),
        "is_bps": {r.strategy: r.is_bps for r in t.itertuples()},
        "is_bps_ci95": {r.strategy: [r.is_ci_lo, r.is_ci_hi] for r in t.itertuples()},
        # NaN where no % exists (MLflow keeps NaN): an unbounded ratio is not a metric
        "reduction_pct": {r.strategy: r.reduction_pct if r.reduction_defined else math.nan
                          for r in t.itertuples() if r.strategy != "market"},
        "reduction_pct_ci95": {r.strategy: [r.reduction_ci_lo, r.reduction_ci_hi]
                               if r.reduction_defined else [math.nan, math.nan]
                               for r in t.itertuples() if r.strategy != "market"},
        "reduction_defined": {r.strategy: bool(r.reduction_defined) for r in t.itertuples()
                              if r.strategy != "market"},
        "diff_bps": {r.strategy: r.diff_bps for r in t.itertuples() if r.strategy != "market"},
        "diff_bps_ci95": {r.strategy: [r.diff_ci_lo, r.diff_ci_hi] for r in t.itertuples()
                          if r.strategy != "market"},
        "fill_rate": {r.strategy: r.fill_rate for r in t.itertuples()},
    }
    if verdict is not None:
        out["claim_outcome"] = verdict.outcome
        out["claim_outcome_reason"] = verdict.reason
        out["claim_tested"] = list(verdict.tested)
        out["best_strategy"] = verdict.best_strategy
    return out


def format_headline(metrics: Mapping) -> str:
    """Plain-text lines of :func:`headline_metrics` (what ``qlab demo`` prints)."""
    lines = []
    if "interval_label" in metrics:
        lines.append(f"95% intervals: {metrics['interval_label']}")
    for name, value in metrics["is_bps"].items():
        lo, hi = metrics["is_bps_ci95"][name]
        line = f"{name:<7} IS {_fmt_ci(value, lo, hi, '{:.2f}'):>24} bps"
        if name in metrics.get("reduction_pct", {}):
            if metrics.get("reduction_defined", {}).get(name, True):
                rlo, rhi = metrics["reduction_pct_ci95"][name]
                line += f"   vs market {_fmt_ci(metrics['reduction_pct'][name], rlo, rhi):>22} %"
            else:  # a % of a baseline not resolved above zero is unbounded: quote bps
                dlo, dhi = metrics["diff_bps_ci95"][name]
                line += (f"   vs market {_fmt_ci(metrics['diff_bps'][name], dlo, dhi, '{:+.2f}'):>22}"
                         " bps (no %: market cost not resolved above 0)")
        lines.append(line)
    if "claim_outcome" in metrics:
        reason = metrics.get("claim_outcome_reason")
        lines.append(f"{_BAND} claim: {metrics['claim_outcome']}"
                     f"{': ' + reason if reason else ''} (tested: "
                     f"{', '.join(metrics.get('claim_tested') or []) or 'n/a'}; cheapest "
                     f"alternative by point estimate: {metrics.get('best_strategy')})")
    return "\n".join(lines)


__all__ = [
    "CLAIM_IS_BPS", "CLAIM_REDUCTION_PCT", "COMPONENTS", "ClaimVerdict", "StrategyFinding",
    "StudyData", "breakdown_table", "calibration_table", "claim_verdict",
    "classify_reduction", "decomposition_table", "display_table", "format_headline",
    "headline_metrics", "decomposition_display", "interval_label", "load_study", "order_subset",
    "sensitivity_summary", "strategy_table", "unchanged_cells",
]
