"""The tearsheet's tables, from a backtest's dated series (pure; no plotting).

Conventions are :mod:`research.analytics.metrics`' own: daily simple returns of the equity
curve, 252 sessions a year, the risk-free rate 0 (the rolling Sharpe is excess of nothing).
Equity series start at the session before the first traded one (the starting capital), so the
first return is the first session's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.analytics.metrics import SESSIONS_PER_YEAR
from research.data.sectors import GICS_SECTOR

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ReportInputError(ValueError):
    """A series or frame the report cannot be drawn from (the message names it)."""


def _curve(equity: pd.Series, name: str = "equity") -> pd.Series:
    if not isinstance(equity, pd.Series) or not isinstance(equity.index, pd.DatetimeIndex):
        raise ReportInputError(f"{name} must be a dated pandas Series")
    if len(equity) < 2:
        raise ReportInputError(f"{name} has {len(equity)} point(s); at least 2 are needed")
    values = equity.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ReportInputError(f"{name} must be finite and > 0 everywhere")
    return equity.astype(float)


def benchmark_curve(equity: pd.Series, benchmark: pd.Series) -> pd.Series:
    """The benchmark's levels on the equity's sessions, rebased to the equity's first value
    (what the same capital in the benchmark would be worth). The benchmark must have a level
    on every session of the curve (nothing is carried forward)."""
    equity = _curve(equity)
    levels = benchmark.copy()
    levels.index = pd.DatetimeIndex(levels.index).normalize()
    on = levels.reindex(equity.index)
    if on.isna().any():
        missing = on.index[on.isna()]
        raise ReportInputError(f"benchmark has no level on {len(missing)} session(s) of the "
                               f"equity curve, the first {missing[0]:%Y-%m-%d}")
    return (on / on.iloc[0] * equity.iloc[0]).rename("benchmark")


def drawdown(equity: pd.Series) -> pd.Series:
    """Underwater curve: equity over its running peak, minus 1 (0 at a new high, -0.25 when
    25% below it)."""
    equity = _curve(equity)
    return (equity / equity.cummax() - 1.0).rename("drawdown")


def rolling_sharpe_volatility(equity: pd.Series, window: int = 63) -> pd.DataFrame:
    """Annualised Sharpe (risk-free 0) and volatility of the last ``window`` daily returns, on
    each session that has ``window`` of them (NaN before); a flat window's Sharpe is NaN."""
    if window < 2:
        raise ReportInputError(f"window must be at least 2 sessions, got {window}")
    returns = _curve(equity).pct_change().iloc[1:]
    roll = returns.rolling(window)
    std = roll.std(ddof=1)
    sharpe = roll.mean() / std.where(std > 0) * np.sqrt(SESSIONS_PER_YEAR)
    return pd.DataFrame({"sharpe": sharpe, "volatility": std * np.sqrt(SESSIONS_PER_YEAR)})


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Calendar-month returns (fractions): rows are years, columns ``Jan``..``Dec`` and
    ``Year``. A month's return is its last equity over the previous month's last (the first
    month: over the curve's first point, the starting capital); ``Year`` compounds the year's months, which is the
    year-end equity over the previous year-end's. Months outside the curve are NaN."""
    equity = _curve(equity)
    # the first point is only the base (the capital before the first session): it opens no
    # month of its own
    traded = equity.iloc[1:]
    month_end = traded.groupby(traded.index.to_period("M")).last()
    previous = month_end.shift(1)
    previous.iloc[0] = equity.iloc[0]
    returns = month_end / previous - 1.0
    table = pd.DataFrame({"year": returns.index.year, "month": returns.index.month,
                          "r": returns.to_numpy()})
    wide = table.pivot(index="year", columns="month", values="r").reindex(
        columns=range(1, 13))
    wide.columns = list(MONTHS)
    wide["Year"] = (1.0 + wide[list(MONTHS)]).prod(axis=1, min_count=1) - 1.0
    wide.index.name = "year"
    return wide


def turnover_and_cost_drag(equity: pd.Series, traded_notional: pd.Series,
                           paid_costs: pd.Series, freq: str = "Y") -> pd.DataFrame:
    """Per calendar period (``freq`` ``"M"`` or ``"Y"``): ``traded`` ($, buys and sells),
    ``mean_equity`` ($), ``turnover`` = traded / mean equity (not annualised), ``costs`` ($
    that trading paid: spread, impact, fees) and ``cost_drag_bps`` = costs / mean equity x 1e4,
    and ``sessions``. The three series are dated like the equity curve."""
    if freq not in ("M", "Y"):
        raise ReportInputError(f"freq must be 'M' or 'Y', got {freq!r}")
    equity = _curve(equity)
    for name, series in (("traded_notional", traded_notional), ("paid_costs", paid_costs)):
        if not series.index.isin(equity.index).all():
            raise ReportInputError(f"{name} has dates outside the equity curve")
    frame = pd.DataFrame({"traded": traded_notional.reindex(equity.index, fill_value=0.0),
                          "costs": paid_costs.reindex(equity.index, fill_value=0.0),
                          "equity": equity})
    grouped = frame.groupby(frame.index.to_period(freq))
    out = pd.DataFrame({"traded": grouped["traded"].sum(),
                        "mean_equity": grouped["equity"].mean(),
                        "costs": grouped["costs"].sum(),
                        "sessions": grouped.size()})
    out["turnover"] = out["traded"] / out["mean_equity"]
    out["cost_drag_bps"] = out["costs"] / out["mean_equity"] * 1e4
    out.index = out.index.to_timestamp()
    out.index.name = "period"
    return out[["traded", "mean_equity", "turnover", "costs", "cost_drag_bps", "sessions"]]


def cost_decomposition(costs_dollars: dict[str, float], traded_notional: float) -> pd.DataFrame:
    """The cost components in $ and in bps of the traded notional (rows in the given order,
    ``total`` last). bps are NaN when nothing traded."""
    rows = {k: v for k, v in costs_dollars.items() if k != "total"}
    rows["total"] = costs_dollars.get("total", float(sum(rows.values())))
    dollars = pd.Series(rows, dtype=float)
    bps = dollars / traded_notional * 1e4 if traded_notional > 0 else dollars * np.nan
    return pd.DataFrame({"dollars": dollars, "bps_of_traded": bps})


def holding_weights(positions: pd.DataFrame, closes: pd.DataFrame,
                    equity: pd.Series) -> pd.DataFrame:
    """Each holding's weight at each close: shares x close / equity (the weights the book
    drifted to, not the targets). A symbol not held weighs 0 whatever its close."""
    equity = _curve(equity)
    if not positions.index.equals(equity.index) or not closes.index.equals(equity.index):
        raise ReportInputError("positions, closes and equity must share their dates")
    missing = sorted(set(positions.columns) - set(closes.columns))
    if missing:
        raise ReportInputError(f"closes lack held symbol(s) {missing}")
    prices = closes[positions.columns].to_numpy(dtype=float)
    held = positions.to_numpy(dtype=float)
    value = np.where(held != 0, held * np.nan_to_num(prices), 0.0)
    return pd.DataFrame(value / equity.to_numpy()[:, None], index=positions.index,
                        columns=positions.columns)


def sector_exposure(weights: pd.DataFrame, sectors: dict[str, str] | None = None
                    ) -> pd.DataFrame:
    """Weights summed by sector (default: the GICS sectors of :mod:`research.data.sectors`).
    A symbol without a sector is an error, never 'Other'."""
    table = GICS_SECTOR if sectors is None else sectors
    unknown = sorted(set(weights.columns) - set(table))
    if unknown:
        raise ReportInputError(f"no sector known for {unknown}; add them to the sector map")
    return weights.T.groupby(weights.columns.map(table)).sum().T


def month_ends(frame: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """The last row of each calendar month (to draw decades of daily weights light)."""
    return frame.groupby(frame.index.to_period("M")).tail(1)


def pnl_by_symbol(trades: pd.DataFrame, positions: pd.DataFrame,
                  closes: pd.DataFrame) -> pd.DataFrame:
    """Each symbol's P&L over the run, $: its final holding at the last close, minus what its
    buys cost, plus what its sells raised, minus its fees. The symbols' P&L add up to the
    equity's change (cash only moves by fills). Columns ``pnl``, ``traded``, ``fees``, ``fills``
    and ``share`` (of the total P&L; NaN when that is 0), sorted by P&L, largest first."""
    if trades.empty:
        flows = pd.DataFrame(columns=["flow", "traded", "fees", "fills"], dtype=float)
    else:
        sign = trades["side"].map({"buy": 1.0, "sell": -1.0})
        if sign.isna().any():
            raise ReportInputError(f"trades: side {trades['side'][sign.isna()].iloc[0]!r} is "
                                   "not buy or sell")
        notional = trades["quantity"].astype(float) * trades["price"].astype(float)
        frame = pd.DataFrame({"symbol": trades["symbol"], "flow": -sign * notional,
                              "traded": notional, "fees": trades["fees"].astype(float)})
        flows = frame.groupby("symbol").agg(flow=("flow", "sum"), traded=("traded", "sum"),
                                            fees=("fees", "sum"), fills=("flow", "size"))
    last_close = closes.ffill().iloc[-1]
    final = positions.iloc[-1].astype(float)
    final_value = (final * last_close.reindex(final.index)).where(final != 0, 0.0)
    symbols = sorted(set(final.index) | set(flows.index))
    out = pd.DataFrame(index=pd.Index(symbols, name="symbol"))
    out["pnl"] = (final_value.reindex(symbols, fill_value=0.0)
                  + flows["flow"].reindex(symbols, fill_value=0.0)
                  - flows["fees"].reindex(symbols, fill_value=0.0))
    out["traded"] = flows["traded"].reindex(symbols, fill_value=0.0)
    out["fees"] = flows["fees"].reindex(symbols, fill_value=0.0)
    out["fills"] = flows["fills"].reindex(symbols, fill_value=0).astype(int)
    total = out["pnl"].sum()
    out["share"] = out["pnl"] / total if total != 0 else np.nan
    return out.sort_values("pnl", ascending=False)
