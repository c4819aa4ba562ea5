"""Tables, figures and the plain-language verdict of the execution-comparison report
(``notebooks/execution_comparison.ipynb``), built from a :class:`~sim.tca.ComparisonResult`
and a :func:`~sim.tca.sensitivity.sensitivity` table.

The notebook stays a thin view: everything it shows is computed here and unit-tested.
Units: bps of the parent's arrival-mid notional (positive = cost); reductions in percent of
the market-order cost (positive = cheaper than market orders). plotly is imported inside the
figure functions.

The claim under test is the seed report's: optimised execution cuts costs by 15-18% versus
market orders (market about 20.7 bps, limit about 17.9 bps, TWAP about 16.2 bps).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.tca._stats import Z80_POWER, Z95

#: The seed report's claim: % reduction versus market orders, and its per-strategy levels (bps).
CLAIM_REDUCTION_PCT = (15.0, 18.0)
CLAIM_IS_BPS = {"market": 20.7, "limit": 17.9, "twap": 16.2}
#: Half width (percentage points) the reduction's interval must shrink to before it can tell
#: 15% from 18%: half the claimed band.
CLAIM_RESOLUTION_PP = (CLAIM_REDUCTION_PCT[1] - CLAIM_REDUCTION_PCT[0]) / 2.0
COMPONENTS = ("delay", "spread", "impact", "timing", "opportunity", "fees")
STRATEGY_COLOURS = {"market": "#636efa", "limit": "#ef553b", "twap": "#00cc96",
                    "vwap": "#ab63fa", "pov": "#ffa15a", "is": "#19d3f3"}


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
    from sim.cli import load_study_bars
    from sim.tca.order_sets import parent_order_set

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
    """One row per strategy: mean IS (bps) and its 95% CI, fill rate, paired difference and %
    reduction versus market orders with CIs, orders needed; market's paired columns are NaN."""
    rows = []
    for name, s in summary["strategies"].items():
        p = summary["paired_vs_market"].get(name, {})
        is_lo, is_hi = _ci(s["is_bps"]["ci95"])
        d_lo, d_hi = _ci(p.get("diff_bps", {}).get("ci95"))
        r_lo, r_hi = _ci(p.get("reduction_pct", {}).get("ci95"))
        needed = p.get("orders_needed") or {}
        rows.append({
            "strategy": name, "n_orders": s["n_orders"],
            "is_bps": _num(s["is_bps"]["mean"]), "is_ci_lo": is_lo, "is_ci_hi": is_hi,
            "is_std_bps": _num(s["is_bps"].get("std")), "fill_rate": _num(s["fill_rate"]),
            "diff_bps": _num(p.get("diff_bps", {}).get("mean")), "diff_ci_lo": d_lo,
            "diff_ci_hi": d_hi, "diff_std_bps": _num(p.get("diff_bps", {}).get("std")),
            "reduction_pct": _num(p.get("reduction_pct", {}).get("mean")),
            "reduction_ci_lo": r_lo, "reduction_ci_hi": r_hi,
            "reduction_defined": bool(p.get("reduction_pct", {}).get("defined", True)),
            "orders_needed_ci": _num(needed.get("ci")),
            "orders_needed_power80": _num(needed.get("power80")),
            "design_effect": _num(needed.get("design_effect")),
        })
    return pd.DataFrame(rows)


def _fmt(x: float, spec: str = "{:.1f}") -> str:
    return "n/a" if x is None or not np.isfinite(x) else spec.format(x)


def _fmt_ci(value: float, lo: float, hi: float, spec: str = "{:.1f}") -> str:
    return f"{_fmt(value, spec)} [{_fmt(lo, spec)}, {_fmt(hi, spec)}]"


def display_table(summary: Mapping) -> pd.DataFrame:
    """:func:`strategy_table` formatted for reading: strings with intervals, strategy index."""
    t = strategy_table(summary)
    out = pd.DataFrame({
        "orders": t["n_orders"].to_numpy(),
        "mean IS, bps [95% CI]": [_fmt_ci(r.is_bps, r.is_ci_lo, r.is_ci_hi, "{:.2f}")
                                  for r in t.itertuples()],
        "fill rate": [_fmt(100 * x, "{:.1f}%") for x in t["fill_rate"]],
        "vs market, bps [95% CI]": ["baseline" if r.strategy == "market" else
                                    _fmt_ci(r.diff_bps, r.diff_ci_lo, r.diff_ci_hi, "{:+.2f}")
                                    for r in t.itertuples()],
        "reduction vs market, % [95% CI]": [
            "baseline" if r.strategy == "market" else
            _fmt_ci(r.reduction_pct, r.reduction_ci_lo, r.reduction_ci_hi)
            if r.reduction_defined else "no % (market cost not resolved above 0)"
            for r in t.itertuples()],
        "paired orders to exclude 0": ["" if r.strategy == "market" else
                                       _fmt(r.orders_needed_ci, "{:,.0f}")
                                       for r in t.itertuples()],
    }, index=pd.Index(t["strategy"], name="strategy"))
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


def breakdown_table(summary: Mapping, kind: str) -> pd.DataFrame:
    """Long table of ``breakdowns.<kind>`` (``adv_pct`` or ``time_of_day``): one row per
    non-empty (bucket, strategy) with ``n_orders``, ``is_bps`` (mean) and
    ``diff_vs_market_bps`` (mean paired difference; NaN for market)."""
    if kind not in summary["breakdowns"]:
        raise ValueError(f"breakdown {kind!r} not in the result; choose from "
                         f"{sorted(summary['breakdowns'])}")
    rows = []
    for bucket in summary["breakdowns"][kind]:
        if not bucket["n_orders"]:
            continue
        for name, value in bucket["is_bps_mean"].items():
            rows.append({"bucket": bucket["bucket"], "n_orders": bucket["n_orders"],
                         "strategy": name, "is_bps": _num(value),
                         "diff_vs_market_bps": _num(bucket["diff_vs_market_bps_mean"].get(name))})
    return pd.DataFrame(rows, columns=["bucket", "n_orders", "strategy", "is_bps",
                                       "diff_vs_market_bps"])


def calibration_table(per_order: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: orders with a prediction, mean predicted and realised IS (bps), mean
    error (bps) and the z-score's mean and std (near 0 and 1 when the model is right)."""
    missing = [c for c in ("strategy", "is_bps", "predicted_bps", "z") if c not in per_order]
    if missing:
        raise ValueError(f"calibration_table: per-order frame lacks column(s) {missing}")
    ok = per_order[np.isfinite(per_order["predicted_bps"]) & np.isfinite(per_order["z"])]
    g = ok.groupby("strategy", sort=False)
    table = pd.DataFrame({
        "orders": g.size(),
        "predicted_bps": g["predicted_bps"].mean(),
        "realised_bps": g["is_bps"].mean(),
        "error_bps": g.apply(lambda d: (d["is_bps"] - d["predicted_bps"]).mean(),
                             include_groups=False),
        "z_mean": g["z"].mean(),
        "z_std": g["z"].std(ddof=1),
    })
    order = list(dict.fromkeys(per_order["strategy"]))
    return table.reindex([s for s in order if s in table.index])


def sensitivity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per sensitivity cell: what changed, the ranking (cheapest first), whether it
    matches the base cell's, and each strategy's % reduction versus market [95% CI]."""
    if table.empty:
        raise ValueError("sensitivity_summary: the sensitivity table is empty")
    rows = []
    for (axis, value), cell in table.groupby(["axis", "value"], sort=False):
        ranked = cell.sort_values(["is_bps", "strategy"])["strategy"]
        row = {"assumption changed": "none (base)" if axis == "base" else f"{axis} = {value}",
               "ranking, cheapest first": " < ".join(ranked),
               "same ranking as base": bool(cell["same_ranking_as_base"].iloc[0])}
        for r in cell.to_dict("records"):
            if r["strategy"] == "market":
                continue
            if r.get("reduction_defined", True):
                text = _fmt_ci(r["reduction_pct"], r["reduction_ci_lo"], r["reduction_ci_hi"])
            else:  # market cost not resolved above 0 in this cell: no % exists
                text = f"no % ({_fmt(r['diff_bps'], '{:+.2f}')} bps)"
            row[f"{r['strategy']} vs market, %"] = text
        row["market IS, bps"] = _fmt(float(cell.loc[cell["strategy"] == "market",
                                                     "is_bps"].iloc[0]), "{:.2f}")
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- verdict
@dataclass(frozen=True)
class StrategyFinding:
    """How one strategy's % reduction interval relates to the claimed 15-18% band."""

    strategy: str
    reduction_pct: float
    ci95: tuple[float, float]
    finding: str  # consistent | unresolved | unsized | below | above | costlier | no_interval |
    #              baseline_unresolved (market's own cost not resolved above 0: no % exists)
    orders_to_exclude_zero: float
    orders_to_detect_claim: float
    orders_to_resolve_band: float


@dataclass(frozen=True)
class ClaimVerdict:
    """``outcome``: ``holds`` (some strategy's interval is pinned to the band, see
    :func:`classify_reduction`), ``does not hold`` (every interval lies outside the band, or no
    strategy beats market), ``unresolved`` (otherwise: an interval reaches the band but also
    zero, or is too wide to pin the size, or there is no interval or no meaningful %);
    ``markdown``: the text."""

    outcome: str
    best_strategy: str | None
    findings: tuple[StrategyFinding, ...]
    markdown: str


def classify_reduction(lo: float, hi: float, band: tuple[float, float] = CLAIM_REDUCTION_PCT,
                       tolerance: float = CLAIM_RESOLUTION_PP) -> str:
    """Where a reduction interval [lo, hi] (%) lies relative to ``band`` and to zero.

    ``consistent`` (the claim holds) needs the interval pinned to the band: inside it widened
    by ``tolerance`` points each side. An interval that excludes zero and reaches the band but
    is wider is ``unsized``: a real saving whose size the data do not pin (10% [0.2, 44.5] or
    16% [0.5, 60] do not make "15-18%" hold, wherever the point estimate falls)."""
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
    if lo >= band[0] - tolerance and hi <= band[1] + tolerance:
        return "consistent"
    return "unsized"


def orders_to_detect(diff_std_bps: float, design_effect: float, effect_bps: float) -> float:
    """Paired orders for 80% power (two-sided 5%) to detect a mean difference ``effect_bps``
    given the per-order std of the difference and the clustering design effect."""
    if not (diff_std_bps > 0 and abs(effect_bps) > 0):
        return math.nan
    deff = design_effect if np.isfinite(design_effect) else 1.0
    return math.ceil((Z95 + Z80_POWER) ** 2 * deff * (diff_std_bps / effect_bps) ** 2)


def orders_to_narrow(n: int, lo: float, hi: float, half_width: float) -> float:
    """Orders for an interval of half width ``(hi - lo) / 2`` at ``n`` orders to shrink to
    ``half_width`` (intervals narrow as 1/sqrt(n)); ``n`` itself when it already has."""
    if not (np.isfinite(lo) and np.isfinite(hi) and n > 0 and half_width > 0):
        return math.nan
    return float(max(n, math.ceil(n * ((hi - lo) / 2.0 / half_width) ** 2)))


_FINDING_TEXT = {
    "consistent": ("consistent with the claim (the interval lies within 15-18% give or take "
                   f"{CLAIM_RESOLUTION_PP:.1f} points)"),
    "unresolved": "not resolved (the interval meets 15-18% but also includes zero)",
    "unsized": ("cheaper than market orders, but the size is not pinned (the interval excludes "
                "zero and reaches 15-18%, but is wider than the band)"),
    "below": "below the claim (the whole interval is under 15%)",
    "above": "above the claim (the whole interval is over 18%)",
    "costlier": "more expensive than market orders (the whole interval is below zero)",
    "no_interval": "no interval (too few orders)",
    "baseline_unresolved": ("no meaningful % (market orders' own cost is not resolved above "
                            "zero, so a ratio to it is unbounded; read the paired difference "
                            "in bps)"),
}


_OUTCOME_TEXT = {"holds": "HOLDS", "does not hold": "DOES NOT HOLD",
                 "unresolved": "is NOT RESOLVED"}
#: Below this fill rate a strategy's IS leans on the opportunity-cost mark of the unfilled rest.
LOW_FILL_RATE = 0.9


def _findings(t: pd.DataFrame, market_is: float) -> list[StrategyFinding]:
    claim_effect = -CLAIM_REDUCTION_PCT[0] / 100.0 * market_is  # diff of a 15% saving, bps
    out = []
    for r in t[t["strategy"] != "market"].itertuples():
        out.append(StrategyFinding(
            strategy=r.strategy, reduction_pct=r.reduction_pct,
            ci95=(r.reduction_ci_lo, r.reduction_ci_hi),
            finding=(classify_reduction(r.reduction_ci_lo, r.reduction_ci_hi)
                     if r.reduction_defined else "baseline_unresolved"),
            orders_to_exclude_zero=r.orders_needed_ci,
            orders_to_detect_claim=orders_to_detect(r.diff_std_bps, r.design_effect,
                                                    claim_effect),
            orders_to_resolve_band=orders_to_narrow(int(r.n_orders), r.reduction_ci_lo,
                                                    r.reduction_ci_hi, CLAIM_RESOLUTION_PP)))
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
            f"{a['latency_bars']} bar(s) latency; benchmark: {a['benchmark']}")


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


def _sensitivity_text(table: pd.DataFrame, strategies: Sequence[str],
                      n_sub: int | None) -> list[str]:
    cells = table.drop_duplicates(["axis", "value"])
    held = int(cells["same_ranking_as_base"].sum())
    base = table[table["axis"] == "base"].sort_values(["is_bps", "strategy"])["strategy"]
    subset = f" ({n_sub} orders, strategies {', '.join(table['strategy'].unique())})" \
        if n_sub else f" (strategies {', '.join(table['strategy'].unique())})"
    lines = [f"Sensitivity{subset}: the base ranking {' < '.join(base)} held in {held} of "
             f"{len(cells)} assumption cells."]
    inert = unchanged_cells(table)
    if inert:
        lines.append(f"Identical to the base, so the assumption does not bind on these orders: "
                     f"{', '.join(inert)}.")
    for name in strategies:
        rows = table[table["strategy"] == name]
        if "reduction_defined" in rows:  # cells whose market baseline reaches 0 have no %
            undefined = rows[~rows["reduction_defined"].astype(bool)]
            rows = rows[rows["reduction_defined"].astype(bool)]
            if name != "market" and len(undefined):
                d = undefined["diff_bps"].to_numpy(float)
                lines.append(f"{name}: no % in {len(undefined)} cell(s) whose market cost is not "
                             f"resolved above 0; there the paired difference runs from "
                             f"{np.nanmin(d):+.2f} to {np.nanmax(d):+.2f} bps.")
        red = rows["reduction_pct"].to_numpy(float)
        red = red[np.isfinite(red)]
        if name == "market" or not red.size:
            continue
        lo, hi = float(red.min()), float(red.max())
        worst = rows.sort_values("reduction_pct").iloc[0]
        where = "base" if worst["axis"] == "base" else f"{worst['axis']} = {worst['value']}"
        inside = sum(CLAIM_REDUCTION_PCT[0] <= x <= CLAIM_REDUCTION_PCT[1] for x in red)
        lines.append(f"{name}: reduction from {lo:.1f}% to {hi:.1f}% across cells (lowest "
                     f"with {where}); the point estimate lies in 15-18% in {inside} of "
                     f"{red.size}.")
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


def claim_verdict(summary: Mapping, sensitivity_table: pd.DataFrame | None = None,
                  sensitivity_n_orders: int | None = None) -> ClaimVerdict:
    """Does the seed's 15-18% claim hold on this result? The text states the interval, the
    assumptions it rests on, how the sensitivity cells (run on ``sensitivity_n_orders``
    orders) moved it, and how many paired orders would resolve what is left (see
    :class:`ClaimVerdict`)."""
    t = strategy_table(summary)
    if "market" not in set(t["strategy"]):
        raise ValueError("claim_verdict: the result has no market-order baseline")
    meta = summary["meta"]
    market = t[t["strategy"] == "market"].iloc[0]
    findings = _findings(t, market.is_bps)
    outcome = _outcome(findings)
    others = t[t["strategy"] != "market"]
    best = None if others.empty else str(others.sort_values("is_bps")["strategy"].iloc[0])
    label = "SYNTHETIC data" if meta["bars"]["synthetic"] else "this data"
    n, sessions = int(meta["n_orders"]), int(meta["n_sessions"])
    lines = [f"**Verdict on {label}: the 15-18% claim {_OUTCOME_TEXT[outcome]}.**", ""]
    if best is not None:
        b = others[others["strategy"] == best].iloc[0]
        lines.append(
            f"On {n:,} paired parent orders over {sessions} session(s) "
            f"({meta['bars']['study_first_bar'][:10]} to {meta['bars']['study_last_bar'][:10]}),"
            f" market orders cost {market.is_bps:.2f} bps [95% CI {market.is_ci_lo:.2f}, "
            f"{market.is_ci_hi:.2f}] and the cheapest alternative, **{best}**, "
            f"{b.is_bps:.2f} bps: " + (
                f"{_versus_market(b.reduction_pct, b.reduction_ci_lo, b.reduction_ci_hi)}."
                if b.reduction_defined else
                f"{b.diff_bps:+.2f} bps per order versus market orders [{b.diff_ci_lo:+.2f}, "
                f"{b.diff_ci_hi:+.2f}]. No % reduction is quoted: the market baseline's own "
                "interval reaches zero, so any ratio to it is unbounded."))
        lines.append("")
    lines.append("Per strategy (reduction versus market orders, 95% CI clustered by day):")
    lines.append("")
    for f in findings:
        if f.finding == "baseline_unresolved":
            d = others[others["strategy"] == f.strategy].iloc[0]
            lines.append(f"- {f.strategy}: {d.diff_bps:+.2f} bps versus market orders "
                         f"[{d.diff_ci_lo:+.2f}, {d.diff_ci_hi:+.2f}], "
                         f"{_FINDING_TEXT[f.finding]}.")
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
    lines += ["", f"Assumptions: {_assumptions_text(meta)}. Intervals: "
              f"{meta['statistics']['ci_method'].replace('_', ' ')} "
              f"({meta['statistics']['n_clusters']} clusters, {meta['statistics']['n_boot']} "
              "resamples)."]
    if sensitivity_table is not None and not sensitivity_table.empty:
        lines += [""] + _sensitivity_text(sensitivity_table, list(t["strategy"]),
                                        sensitivity_n_orders)
    lines += ["", "What would resolve the rest:"]
    lines.append("")
    for f in findings:
        parts = []
        if np.isfinite(f.orders_to_exclude_zero):
            parts.append(f"{f.orders_to_exclude_zero:,.0f} paired orders for the interval of "
                         "the observed difference to exclude zero")
        if np.isfinite(f.orders_to_detect_claim):
            parts.append(f"{f.orders_to_detect_claim:,.0f} to detect a 15% saving with 80% "
                         "power")
        if np.isfinite(f.orders_to_resolve_band):
            parts.append(f"{f.orders_to_resolve_band:,.0f} to pin the reduction to "
                         f"±{CLAIM_RESOLUTION_PP:.1f} points (to tell 15% from 18%)")
        if parts:
            lines.append(f"- {f.strategy}: " + "; ".join(parts) + ".")
    return ClaimVerdict(outcome, best, tuple(findings), "\n".join(lines))


def headline_metrics(summary: Mapping, verdict: ClaimVerdict | None = None) -> dict:
    """Numbers for :func:`research.reports.publish_metrics` (MLflow, the demo's printout):
    mean IS and CI per strategy (bps), % reduction and CI per strategy versus market."""
    t = strategy_table(summary)
    out: dict = {
        "n_orders": int(summary["meta"]["n_orders"]),
        "n_sessions": int(summary["meta"]["n_sessions"]),
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
        out["best_strategy"] = verdict.best_strategy
    return out


def format_headline(metrics: Mapping) -> str:
    """Plain-text lines of :func:`headline_metrics` (what ``qlab demo`` prints)."""
    lines = []
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
        lines.append(f"15-18% claim: {metrics['claim_outcome']} (cheapest alternative: "
                     f"{metrics.get('best_strategy')})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- figures
def _colour(name: str) -> str:
    return STRATEGY_COLOURS.get(name, "#7f7f7f")


def is_figure(summary: Mapping, title: str):
    """Mean IS per strategy (bps) with 95% CI error bars, and the seed's claimed levels."""
    import plotly.graph_objects as go

    t = strategy_table(summary)
    fig = go.Figure(go.Bar(
        x=t["strategy"], y=t["is_bps"], marker_color=[_colour(s) for s in t["strategy"]],
        error_y=dict(type="data", symmetric=False, array=t["is_ci_hi"] - t["is_bps"],
                     arrayminus=t["is_bps"] - t["is_ci_lo"]),
        name="this study", hovertemplate="%{x}: %{y:.2f} bps<extra></extra>"))
    claimed = [CLAIM_IS_BPS.get(s) for s in t["strategy"]]
    if any(c is not None for c in claimed):
        fig.add_trace(go.Scatter(x=t["strategy"], y=claimed, mode="markers",
                                 marker=dict(symbol="diamond", size=11, color="black"),
                                 name="seed report's level"))
    fig.update_layout(title=title, yaxis_title="implementation shortfall, bps (cost > 0)",
                      height=420, legend=dict(orientation="h", y=-0.15))
    return fig


def reduction_figure(summary: Mapping, title: str):
    """Paired % reduction versus market per strategy with 95% CIs, the claimed 15-18% band
    shaded and zero marked."""
    import plotly.graph_objects as go

    t = strategy_table(summary)
    t = t[t["strategy"] != "market"]
    if not t["reduction_defined"].all():
        return _difference_figure(t, title)
    fig = go.Figure(go.Scatter(
        x=t["reduction_pct"], y=t["strategy"], mode="markers",
        marker=dict(size=12, color=[_colour(s) for s in t["strategy"]]),
        error_x=dict(type="data", symmetric=False, array=t["reduction_ci_hi"] - t["reduction_pct"],
                     arrayminus=t["reduction_pct"] - t["reduction_ci_lo"]),
        name="reduction [95% CI]", hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.add_vrect(x0=CLAIM_REDUCTION_PCT[0], x1=CLAIM_REDUCTION_PCT[1], fillcolor="green",
                  opacity=0.15, line_width=0, annotation_text="claim 15-18%",
                  annotation_position="top left")
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(title=title, xaxis_title="cost reduction vs market orders, % "
                      "(positive = cheaper)", height=360, showlegend=False)
    return fig


def _difference_figure(t: pd.DataFrame, title: str):
    """The paired difference versus market (bps) with 95% CIs: what :func:`reduction_figure`
    shows when the market's own cost is not resolved above zero (a % of it is unbounded)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(
        x=t["diff_bps"], y=t["strategy"], mode="markers",
        marker=dict(size=12, color=[_colour(s) for s in t["strategy"]]),
        error_x=dict(type="data", symmetric=False, array=t["diff_ci_hi"] - t["diff_bps"],
                     arrayminus=t["diff_bps"] - t["diff_ci_lo"]),
        name="difference [95% CI]", hovertemplate="%{y}: %{x:+.2f} bps<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(title=f"{title}<br><sup>shown in bps: market orders' own cost is not "
                      "resolved above zero, so no % of it is meaningful</sup>",
                      xaxis_title="cost difference vs market orders, bps (negative = cheaper)",
                      height=380, showlegend=False)
    return fig


def decomposition_figure(summary: Mapping, title: str):
    """Stacked bars of the mean cost components per strategy (bps), total marked."""
    import plotly.graph_objects as go

    table = decomposition_table(summary)
    fig = go.Figure()
    for c in COMPONENTS:
        fig.add_trace(go.Bar(x=table.index, y=table[c], name=c,
                             hovertemplate=f"{c}: %{{y:.2f}} bps<extra></extra>"))
    fig.add_trace(go.Scatter(x=table.index, y=table["total"], mode="markers",
                             marker=dict(symbol="line-ew-open", size=28, color="black",
                                         line_width=3), name="total (mean IS)"))
    fig.update_layout(title=title, barmode="relative", yaxis_title="bps (cost > 0)",
                      height=440, legend=dict(orientation="h", y=-0.15))
    return fig


def breakdown_figure(summary: Mapping, kind: str, title: str, xaxis_title: str):
    """Grouped bars: mean IS per strategy in each bucket, bucket labels carry the order count."""
    import plotly.graph_objects as go

    long = breakdown_table(summary, kind)
    long = long.assign(label=[f"{b} (n={n})" for b, n in zip(long["bucket"], long["n_orders"],
                                                            strict=True)])
    fig = go.Figure()
    for name, g in long.groupby("strategy", sort=False):
        fig.add_trace(go.Bar(x=g["label"], y=g["is_bps"], name=name, marker_color=_colour(name),
                             hovertemplate=f"{name}: %{{y:.2f}} bps<extra></extra>"))
    fig.update_layout(title=title, barmode="group", xaxis_title=xaxis_title,
                      yaxis_title="mean IS, bps", height=420,
                      legend=dict(orientation="h", y=-0.25))
    return fig


def calibration_figures(per_order: pd.DataFrame, title: str, z_clip: float = 10.0):
    """(scatter of predicted vs realised IS per order with the 45-degree line, histogram of
    z-scores clipped to ±``z_clip`` with the count clipped stated in the title)."""
    import plotly.graph_objects as go

    ok = per_order[np.isfinite(per_order["predicted_bps"]) & np.isfinite(per_order["z"])]
    scatter = go.Figure()
    for name, g in ok.groupby("strategy", sort=False):
        scatter.add_trace(go.Scattergl(
            x=g["predicted_bps"], y=g["is_bps"], mode="markers", name=name,
            marker=dict(size=5, opacity=0.5, color=_colour(name)),
            hovertemplate=f"{name}: predicted %{{x:.1f}}, realised %{{y:.1f}} bps<extra></extra>"))
    if len(ok):
        lo = float(min(ok["predicted_bps"].min(), np.percentile(ok["is_bps"], 1)))
        hi = float(max(ok["predicted_bps"].max(), np.percentile(ok["is_bps"], 99)))
        scatter.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="realised = "
                                     "predicted", line=dict(color="black", dash="dash")))
    scatter.update_layout(title=f"{title}: predicted vs realised cost per order",
                          xaxis_title="predicted IS, bps", yaxis_title="realised IS, bps",
                          height=460, legend=dict(orientation="h", y=-0.2))
    clipped = int((ok["z"].abs() > z_clip).sum())
    hist = go.Figure()
    for name, g in ok.groupby("strategy", sort=False):
        hist.add_trace(go.Histogram(x=g["z"].clip(-z_clip, z_clip), name=name, opacity=0.55,
                                    marker_color=_colour(name), nbinsx=60))
    hist.update_layout(title=f"{title}: z-scores, (realised - predicted) / predicted std "
                       f"({clipped} beyond ±{z_clip:g} shown at the edge)", barmode="overlay",
                       xaxis_title="z", yaxis_title="orders", height=400,
                       legend=dict(orientation="h", y=-0.2))
    return scatter, hist


__all__ = [
    "CLAIM_IS_BPS", "CLAIM_REDUCTION_PCT", "COMPONENTS", "ClaimVerdict", "StrategyFinding",
    "StudyData", "breakdown_figure", "breakdown_table", "calibration_figures",
    "calibration_table", "claim_verdict", "classify_reduction", "decomposition_figure",
    "decomposition_table", "display_table", "format_headline", "headline_metrics",
    "is_figure", "load_study", "order_subset", "orders_to_detect", "orders_to_narrow",
    "reduction_figure", "sensitivity_summary", "strategy_table", "unchanged_cells",
]
