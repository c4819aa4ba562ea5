"""Plotly figures of the backtest report: drawings of the tables of :mod:`.tables` and
:mod:`.algorithms`, nothing computed or judged here. plotly is imported inside each function.
"""

from __future__ import annotations

import pandas as pd

from sim.tca.figures import STRATEGY_COLOURS

_HEIGHT = 420


def _layout(fig, title: str, **kwargs):
    fig.update_layout(title=title, height=kwargs.pop("height", _HEIGHT),
                      legend=dict(orientation="h", y=-0.15), **kwargs)
    return fig


def equity_figure(equity: pd.Series, benchmark: pd.Series | None, title: str):
    """The equity curve and the benchmark rebased to it, on a log scale."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=equity.index, y=equity, name="portfolio",
                               hovertemplate="%{x|%Y-%m-%d}: $%{y:,.0f}<extra></extra>"))
    if benchmark is not None:
        fig.add_trace(go.Scatter(x=benchmark.index, y=benchmark, name=benchmark.name
                                 or "benchmark", line=dict(color="#7f7f7f"),
                                 hovertemplate="%{x|%Y-%m-%d}: $%{y:,.0f}<extra></extra>"))
    return _layout(fig, title, yaxis=dict(type="log", title="equity, $ (log scale)"))


def drawdown_figure(drawdowns: dict[str, pd.Series], title: str):
    """Underwater curves (fractions below the running peak), one per series given."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, dd in drawdowns.items():
        fig.add_trace(go.Scatter(x=dd.index, y=dd, name=name, fill="tozeroy",
                                 hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>"))
    return _layout(fig, title, yaxis=dict(title="below the running peak", tickformat=".0%"))


def rolling_figure(rolling: pd.DataFrame, title: str):
    """Rolling Sharpe (top) and volatility (bottom) from
    :func:`~sim.backtest_report.tables.rolling_sharpe_volatility`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Sharpe (annualised, risk-free 0)",
                                        "volatility (annualised)"))
    fig.add_trace(go.Scatter(x=rolling.index, y=rolling["sharpe"], name="Sharpe",
                             hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=rolling.index, y=rolling["volatility"], name="volatility",
                             hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>"), 2, 1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return _layout(fig, title, height=560, showlegend=False)


def monthly_heatmap(monthly: pd.DataFrame, title: str):
    """Monthly returns (rows: years) as a diverging heatmap centred on 0, the year in the last
    column."""
    import plotly.graph_objects as go

    values = monthly.to_numpy(dtype=float)
    text = [[("" if pd.isna(v) else f"{v:.1%}") for v in row] for row in values]
    bound = float(pd.Series(values.ravel()).abs().max(skipna=True) or 0.01)
    fig = go.Figure(go.Heatmap(
        z=values, x=list(monthly.columns), y=[str(y) for y in monthly.index], text=text,
        texttemplate="%{text}", colorscale="RdBu", zmid=0.0, zmin=-bound, zmax=bound,
        hovertemplate="%{y} %{x}: %{text}<extra></extra>", colorbar=dict(tickformat=".0%")))
    return _layout(fig, title, height=max(300, 22 * len(monthly) + 140),
                   yaxis=dict(autorange="reversed", type="category"))


def turnover_cost_figure(per_period: pd.DataFrame, title: str):
    """Turnover (bars, left axis) and cost drag (line, bps, right axis) per period, from
    :func:`~sim.backtest_report.tables.turnover_and_cost_drag`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=per_period.index, y=per_period["turnover"], name="turnover",
                         hovertemplate="%{x|%Y-%m}: %{y:.2f}x<extra></extra>"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=per_period.index, y=per_period["cost_drag_bps"],
                             name="cost drag, bps of mean equity", mode="lines+markers",
                             hovertemplate="%{x|%Y-%m}: %{y:.2f} bps<extra></extra>"),
                  secondary_y=True)
    fig.update_yaxes(title_text="traded / mean equity", secondary_y=False)
    fig.update_yaxes(title_text="cost drag, bps", secondary_y=True)
    return _layout(fig, title)


def cost_decomposition_figure(table: pd.DataFrame, title: str):
    """The cost components in bps of traded notional (bars; the total as a line label)."""
    import plotly.graph_objects as go

    parts = table.drop(index="total", errors="ignore")
    fig = go.Figure(go.Bar(
        x=list(parts.index), y=parts["bps_of_traded"],
        customdata=parts["dollars"],
        hovertemplate="%{x}: %{y:.2f} bps ($%{customdata:,.0f})<extra></extra>"))
    if "total" in table.index:
        fig.add_hline(y=float(table.loc["total", "bps_of_traded"]), line_dash="dot",
                      annotation_text=f"total {table.loc['total', 'bps_of_traded']:.2f} bps")
    return _layout(fig, title, yaxis=dict(title="bps of traded notional (cost > 0)"))


def stacked_area_figure(frame: pd.DataFrame, title: str, yaxis_title: str):
    """Columns of ``frame`` as stacked areas over its dates (weights, sector exposures)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    order = frame.mean().sort_values(ascending=False).index
    for name in order:
        fig.add_trace(go.Scatter(x=frame.index, y=frame[name], name=str(name),
                                 stackgroup="one", mode="lines", line=dict(width=0.5),
                                 hovertemplate=f"{name} %{{x|%Y-%m-%d}}: %{{y:.1%}}"
                                               "<extra></extra>"))
    return _layout(fig, title, height=480, yaxis=dict(title=yaxis_title, tickformat=".0%"))


def contributors_figure(pnl: pd.DataFrame, title: str):
    """P&L by symbol ($), horizontal bars, largest at the top."""
    import plotly.graph_objects as go

    ordered = pnl.sort_values("pnl")
    fig = go.Figure(go.Bar(
        x=ordered["pnl"], y=list(ordered.index), orientation="h",
        marker_color=["#00cc96" if v >= 0 else "#ef553b" for v in ordered["pnl"]],
        hovertemplate="%{y}: $%{x:,.0f}<extra></extra>"))
    return _layout(fig, title, height=max(300, 22 * len(ordered) + 120),
                   xaxis=dict(title="P&L over the run, $"), showlegend=False)


def algorithm_equity_figure(curves: dict[str, pd.Series], title: str):
    """Equity curves of the same config under each execution algorithm (log scale)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, curve in curves.items():
        fig.add_trace(go.Scatter(x=curve.index, y=curve, name=name,
                                 line=dict(color=STRATEGY_COLOURS.get(name)),
                                 hovertemplate=f"{name} %{{x|%Y-%m-%d}}: $%{{y:,.0f}}"
                                               "<extra></extra>"))
    return _layout(fig, title, yaxis=dict(type="log", title="equity, $ (log scale)"))


def paired_difference_figure(table: pd.DataFrame, baseline: str, title: str):
    """Mean paired window difference vs ``baseline`` per algorithm (bps of the window's
    starting equity) with its t interval (error bars) and bootstrap interval (open marks)."""
    import plotly.graph_objects as go

    t = table.drop(index=baseline, errors="ignore")
    names = list(t.index)
    fig = go.Figure(go.Scatter(
        x=t["diff_bps"], y=names, mode="markers", name="mean [95% t interval]",
        marker=dict(size=12, color=[STRATEGY_COLOURS.get(n, "#7f7f7f") for n in names]),
        error_x=dict(type="data", symmetric=False, array=t["ci_hi"] - t["diff_bps"],
                     arrayminus=t["diff_bps"] - t["ci_lo"]),
        hovertemplate="%{y}: %{x:.2f} bps per window<extra></extra>"))
    fig.add_trace(go.Scatter(x=list(t["boot_lo"]) + list(t["boot_hi"]), y=names + names,
                             mode="markers", name="95% bootstrap bounds",
                             marker=dict(symbol="line-ns-open", size=14, color="black")))
    fig.add_vline(x=0.0, line_dash="dot")
    return _layout(fig, title, height=max(300, 60 * len(names) + 160),
                   xaxis=dict(title=f"window return minus {baseline}'s, bps "
                                    "(> 0: the algorithm earned more)"))
