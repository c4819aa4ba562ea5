"""Plotly figures of the ``risk_limits`` report, each from a table of
:mod:`sim.risk_limits_report` or :mod:`sim.risk_limits_attribution` (no computation here
beyond thinning a long daily series for display, which the title then says)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.risk_limits_report import LIMITS, limit_usage, thresholds

#: Daily series longer than this are drawn as weekly maxima (33 years: 8,000 sessions).
MAX_DAILY_POINTS = 2500
_STATE_COLOURS = {"breach": "#d62728", "warning": "#ff7f0e", "ok": "#2ca02c"}


def _thinned(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if len(frame) <= MAX_DAILY_POINTS:
        return frame, "each session's close"
    return frame.resample("W").max().dropna(how="all"), "weekly maximum of the closes"


def usage_figure(result: Any) -> go.Figure:
    """Each limit's measured value at the close against its threshold (dashed)."""
    usage, how = _thinned(limit_usage(result)[list(LIMITS)])
    limits = thresholds(result)
    fig = make_subplots(rows=len(LIMITS), cols=1, shared_xaxes=True, vertical_spacing=0.02,
                        subplot_titles=list(LIMITS))
    for row, k in enumerate(LIMITS, start=1):
        fig.add_trace(go.Scatter(x=usage.index, y=usage[k], mode="lines", name=k,
                                 line={"width": 1}), row=row, col=1)
        fig.add_hline(y=limits[k], line={"dash": "dash", "color": "black", "width": 1},
                      row=row, col=1)
    fig.update_layout(height=180 * len(LIMITS), showlegend=False,
                      title=f"Limit usage ({how}) against the threshold (dashed)")
    return fig


def binds_figure(by_limit: pd.DataFrame, by_symbol: pd.DataFrame) -> go.Figure:
    """Risk events by limit (stacked by decision) and by symbol (stacked by limit)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["by limit and decision",
                                                        "by symbol and limit"])
    decisions = [c for c in by_limit.columns if c not in ("events", "sessions")]
    for d in decisions:
        fig.add_trace(go.Bar(x=by_limit.index, y=by_limit[d], name=d), row=1, col=1)
    for k in by_symbol.columns:
        fig.add_trace(go.Bar(x=by_symbol.index, y=by_symbol[k], name=k,
                             legendgroup="limit"), row=1, col=2)
    fig.update_layout(barmode="stack", height=420, title="Where the limits bound (events)")
    return fig


def cost_figure(cost: Any) -> go.Figure:
    """Limits on minus off per metric, percentage points, with the 95% interval."""
    t = cost.table * 100
    fig = go.Figure(go.Scatter(
        x=t["difference"], y=t.index, mode="markers", marker={"size": 10},
        error_x={"type": "data", "symmetric": False, "array": t["ci_high"] - t["difference"],
                 "arrayminus": t["difference"] - t["ci_low"]}))
    fig.add_vline(x=0, line={"color": "black", "width": 1})
    fig.update_layout(height=320, xaxis_title="limits on − limits off, percentage points "
                      "(turnover: % of NAV a year)",
                      title="The cost of the limits, paired by session [95% interval]")
    return fig


def var_figure(bt: Any) -> go.Figure:
    """Realised returns against −VaR and −ES; exceptions in red."""
    r = bt.realised
    hits = bt.var_test.exceptions
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=r.index, y=r * 100, mode="markers", name="return",
                             marker={"size": 3, "color": "#7f7f7f"}))
    fig.add_trace(go.Scatter(x=r.index[hits], y=r[hits] * 100, mode="markers",
                             name="exception", marker={"size": 6, "color": "#d62728"}))
    fig.add_trace(go.Scatter(x=bt.var.index, y=-bt.var * 100, mode="lines", name="−VaR",
                             line={"width": 1}))
    fig.add_trace(go.Scatter(x=bt.cvar.index, y=-bt.cvar * 100, mode="lines", name="−ES",
                             line={"width": 1, "dash": "dot"}))
    fig.update_layout(height=380, yaxis_title="% of NAV",
                      title=f"{bt.horizon}-day returns against the {bt.horizon}-day VaR "
                            f"({bt.confidence:.0%}) forecast")
    return fig


def attribution_figure(over_time: pd.DataFrame, title: str, units: str) -> go.Figure:
    """Contributions over time (stacked bars, month ends) and at the last date."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3],
                        subplot_titles=["month ends", f"{over_time.index[-1]:%Y-%m-%d}"])
    parts = [c for c in over_time.columns if c != "total"]
    last = over_time.iloc[-1]
    for c in parts:
        fig.add_trace(go.Bar(x=over_time.index, y=over_time[c] * 100, name=c,
                             legendgroup=c), row=1, col=1)
        fig.add_trace(go.Bar(x=[c], y=[last[c] * 100], name=c, legendgroup=c,
                             showlegend=False), row=1, col=2)
    fig.update_layout(barmode="relative", height=420, title=title, yaxis_title=units)
    return fig


def alert_timeline_figure(alerts: pd.DataFrame) -> go.Figure:
    """Alerts by limit over time: sent (coloured by state) and held back by the cool-down
    (grey open circles) — storm suppression made visible."""
    fig = go.Figure()
    if alerts.empty:
        fig.update_layout(title="No risk alert in the replay", height=200)
        return fig
    when = pd.to_datetime(alerts["time"].str[:10])
    for state, colour in _STATE_COLOURS.items():
        sel = (~alerts["suppressed"]) & (alerts["state"] == state)
        fig.add_trace(go.Scatter(x=when[sel], y=alerts.loc[sel, "limit"], mode="markers",
                                 name=f"sent: {state}", marker={"color": colour, "size": 7},
                                 text=alerts.loc[sel, "message"], hoverinfo="x+text"))
    held = alerts["suppressed"].astype(bool)
    fig.add_trace(go.Scatter(x=when[held], y=alerts.loc[held, "limit"], mode="markers",
                             name="held back by the cool-down",
                             marker={"color": "#bbbbbb", "size": 5, "symbol": "circle-open"}))
    fig.update_layout(height=380, title="Risk alert timeline")
    return fig


def budgets_figure(table: pd.DataFrame, position_cap: float) -> go.Figure:
    """Strategy targets, the capped book and risk-parity weights per symbol, with the cap."""
    fig = go.Figure()
    for col in ("strategy_target", "capped_book", "risk_parity"):
        fig.add_trace(go.Bar(x=table.index, y=table[col] * 100, name=col.replace("_", " ")))
    fig.add_hline(y=position_cap * 100, line={"dash": "dash", "color": "black"},
                  annotation_text="position cap")
    fig.update_layout(barmode="group", height=400, yaxis_title="% of NAV",
                      title="Risk budgeting (risk parity) next to the hard caps, last date")
    return fig


__all__ = ["alert_timeline_figure", "attribution_figure", "binds_figure", "budgets_figure",
           "cost_figure", "usage_figure", "var_figure"]
