"""Sensitivity of the comparison to what the data cannot tell us: the simulated market's
impact coefficient Y, the limit-fill rule, the participation cap and the spread source.

One-at-a-time sweep around the base settings (each cell changes one assumption), which keeps
the grid at ``1 + sum(len(axis) - 1)`` runs instead of the full product. Spread source:
``quotes`` uses the bars' bid/ask; a bar estimator (``corwin_schultz``, ``abdi_ranaldo``,
``roll``: sim/response.py's own, over a trailing session of bars) drops the quote columns so that
the simulated broker prices the spread from the bars (the arrival mid becomes the close).
Sources the simulated broker does not implement are refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from research.config import Settings, load_settings
from research.data.schema import QUOTE_COLUMNS
from sim.response import SPREAD_SOURCES
from sim.tca.study import STRATEGY_NAMES, compare_strategies


def sensitivity(
    bars: pd.DataFrame,
    parents: pd.DataFrame,
    strategies: Sequence[str] = STRATEGY_NAMES,
    settings: Settings | None = None,
    seed: int = 0,
    *,
    impact_y: Sequence[float] = (0.5, 0.75, 1.0),
    limit_fill_rules: Sequence[str] = ("touch", "through"),
    participation_caps: Sequence[float] = (0.05, 0.10, 0.20),
    spread_sources: Sequence[str] = SPREAD_SOURCES,
    progress=None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Tidy table, one row per (cell, strategy): ``axis`` (what changed), ``value``,
    ``impact_y``, ``limit_fill_rule``, ``participation_cap``, ``spread_source``, ``strategy``,
    ``is_bps``, ``is_ci_lo``, ``is_ci_hi``, ``fill_rate``, ``reduction_pct`` (vs market),
    ``reduction_ci_lo``, ``reduction_ci_hi``, ``reduction_defined``, ``diff_bps``,
    ``diff_ci_lo``, ``diff_ci_hi`` (95% intervals as in the study: t(G-1) on day
    totals), ``clusters`` (trading days), ``rank`` (1 = cheapest mean IS in the cell, a point
    estimate) and ``same_ranking_as_base`` (the cell's point-estimate ranking matches the base
    cell's). The cells rerun the same orders on one market path: compare their intervals, not
    counts of point estimates. ``n_jobs``: strategies of each cell run in parallel processes
    (as in :func:`compare_strategies`)."""
    bad = [s for s in spread_sources if s not in SPREAD_SOURCES]
    if bad:
        raise ValueError(f"sensitivity: spread source(s) {bad} are not implemented by the "
                         f"simulated broker; use {list(SPREAD_SOURCES)}")
    settings = settings or load_settings(None)
    base = settings.simulation
    cells: list[tuple[str, object, dict, bool]] = [("base", "", {}, False)]
    cells += [("impact_y", y, {"impact_y": float(y)}, False) for y in impact_y
              if float(y) != base.impact_y]
    cells += [("limit_fill_rule", r, {"limit_fill_rule": r}, False) for r in limit_fill_rules
              if r != base.limit_fill_rule]
    cells += [("participation_cap", c, {"max_participation": float(c)}, False)
              for c in participation_caps if float(c) != base.max_participation]
    cells += [("spread_source", s, {"spread_source": s}, True) for s in spread_sources
              if s != "quotes"]
    no_quotes = bars.drop(columns=[c for c in QUOTE_COLUMNS if c in bars.columns])
    rows = []
    base_order: list[str] | None = None
    for axis, value, update, drop_quotes in cells:
        s = settings.model_copy(update={"simulation": base.model_copy(update=update)})
        if progress:
            progress(f"sensitivity: {axis}={value}")
        res = compare_strategies(no_quotes if drop_quotes else bars, parents, strategies, s,
                                 seed, code_version="n/a", data_hash="n/a",
                                 n_jobs=n_jobs)
        sim = res.summary["meta"]["assumptions"]
        table = res.table()
        table["rank"] = table["is_bps"].rank(method="min").astype(int)
        order = list(table.sort_values(["is_bps", "strategy"])["strategy"])
        if base_order is None:
            base_order = order
        for r in table.to_dict("records"):
            rows.append({
                "axis": axis, "value": value, "impact_y": sim["impact_y"],
                "limit_fill_rule": sim["limit_fill_rule"],
                "participation_cap": sim["participation_cap"],
                "spread_source": "quotes" if not drop_quotes else update["spread_source"],
                "strategy": r["strategy"], "is_bps": r["is_bps"], "is_ci_lo": r["is_ci_lo"],
                "is_ci_hi": r["is_ci_hi"], "fill_rate": r["fill_rate"],
                "reduction_pct": r["reduction_pct"], "reduction_ci_lo": r["red_ci_lo"],
                "reduction_ci_hi": r["red_ci_hi"], "rank": r["rank"],
                "reduction_defined": r["reduction_defined"], "diff_bps": r["diff_bps"],
                "diff_ci_lo": r["diff_ci_lo"], "diff_ci_hi": r["diff_ci_hi"],
                "clusters": res.summary["meta"]["clusters"],
                "same_ranking_as_base": order == base_order,
            })
    return pd.DataFrame(rows)
