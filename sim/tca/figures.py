"""Figures of the execution-comparison report (``notebooks/execution_comparison.ipynb``): plotly
drawings of the tables :mod:`sim.tca.report` computes, nothing judged here.

plotly is imported inside the figure functions (the tables and the verdict work without it).
Every interval is captioned with its method (:func:`~sim.tca.study.interval_label`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.tca.claim import CLAIM_BAND, CLAIM_IS_BPS, band_text
from sim.tca.report import COMPONENTS, breakdown_table, decomposition_table, strategy_table
from sim.tca.study import interval_label

STRATEGY_COLOURS = {"market": "#636efa", "limit": "#ef553b", "twap": "#00cc96",
                    "vwap": "#ab63fa", "pov": "#ffa15a", "is": "#19d3f3"}


def _with_method(title: str, summary: Mapping) -> str:
    return f"{title}<br><sup>95% intervals: {interval_label(summary['meta'])}</sup>"


def _colour(name: str) -> str:
    return STRATEGY_COLOURS.get(name, "#7f7f7f")


def _interval_dots(t: pd.DataFrame, column: str, name: str, hovertemplate: str):
    """One dot per strategy (rows of :func:`~sim.tca.report.strategy_table`) at ``column``
    (``"reduction_pct"`` or ``"diff_bps"``) with its 95% interval as horizontal error bars (the
    table's ``reduction_ci_lo/hi`` or ``diff_ci_lo/hi``)."""
    import plotly.graph_objects as go

    measure = column.rsplit("_", 1)[0]
    value = t[column]
    return go.Scatter(
        x=value, y=t["strategy"], mode="markers",
        marker=dict(size=12, color=[_colour(s) for s in t["strategy"]]),
        error_x=dict(type="data", symmetric=False, array=t[f"{measure}_ci_hi"] - value,
                     arrayminus=value - t[f"{measure}_ci_lo"]),
        name=name, hovertemplate=hovertemplate)


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
    fig.update_layout(title=_with_method(title, summary),
                      yaxis_title="implementation shortfall per order, bps (cost > 0)",
                      height=420, legend=dict(orientation="h", y=-0.15))
    return fig


def reduction_figure(summary: Mapping, title: str):
    """Paired % reduction versus market per strategy with 95% CIs, the claimed 15-18% band
    shaded and zero marked."""
    import plotly.graph_objects as go

    t = strategy_table(summary)
    t = t[t["strategy"] != "market"]
    if not t["reduction_defined"].all():
        return _difference_figure(t, _with_method(title, summary))
    fig = go.Figure(_interval_dots(t, "reduction_pct", "reduction [95% CI]",
                                   "%{y}: %{x:.1f}%<extra></extra>"))
    fig.add_vrect(x0=CLAIM_BAND[0], x1=CLAIM_BAND[1], fillcolor="green",
                  opacity=0.15, line_width=0, annotation_text=f"claim {band_text()}",
                  annotation_position="top left")
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(title=_with_method(title, summary),
                      xaxis_title="cost reduction vs market orders, % "
                      "(positive = cheaper)", height=360, showlegend=False)
    return fig


def _difference_figure(t: pd.DataFrame, title: str):
    """The paired difference versus market (bps) with 95% CIs: what :func:`reduction_figure`
    shows when the market's own cost is not resolved above zero (a % of it is unbounded)."""
    import plotly.graph_objects as go

    fig = go.Figure(_interval_dots(t, "diff_bps", "difference [95% CI]",
                                   "%{y}: %{x:+.2f} bps<extra></extra>"))
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
    """Grouped bars: mean IS per strategy in each bucket with its 95% interval (from the
    bucket's own days); bucket labels carry the order and day counts."""
    import plotly.graph_objects as go

    long = breakdown_table(summary, kind)
    long = long.assign(label=[f"{b} (n={n}, {d} days)" for b, n, d in
                              zip(long["bucket"], long["n_orders"], long["days"], strict=True)])
    fig = go.Figure()
    for name, g in long.groupby("strategy", sort=False):
        fig.add_trace(go.Bar(x=g["label"], y=g["is_bps"], name=name, marker_color=_colour(name),
                             error_y=dict(type="data", symmetric=False,
                                          array=g["is_ci_hi"] - g["is_bps"],
                                          arrayminus=g["is_bps"] - g["is_ci_lo"]),
                             hovertemplate=f"{name}: %{{y:.2f}} bps<extra></extra>"))
    fig.update_layout(title=_with_method(title, summary), barmode="group",
                      xaxis_title=xaxis_title, yaxis_title="mean IS per order, bps", height=440,
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
