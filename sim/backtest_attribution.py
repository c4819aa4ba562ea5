"""Performance attribution of a backtest (the ``attribution`` block of its JSON and the report's
section): the pure decompositions of :mod:`research.analytics.attribution` applied to what a
replay booked.

* **by position** (dollars over the run): each symbol's P&L split into holding (shares held
  into each close x the close's change), trading (each fill against its session's close) and
  fees; the symbols add up to the equity's change exactly (to float rounding).
* **by sector**: Brinson-Fachler per rebalance window (:func:`sim.backtest_report.algorithms.
  rebalance_windows`: from the close before a rebalance's session to the close before the
  next one's) against the **equal-weighted universe** — the S&P 500's sector weights are not
  in the data, so the benchmark is every universe name with a close at the window's start, 1/N
  each, held over the window. The portfolio's weights are the book at the window's start
  (cash a sector of its own, earning 0: the run's risk-free rate) held over the window;
  ``trading`` is what the window's trades, fills and costs did beyond that held book (the
  equity's return minus the held book's). So each window's allocation + selection +
  interaction + trading is exactly the equity's return minus the benchmark's; windows are
  summed **arithmetically** (no linking), in fractions of each window's starting equity.
* **by factor**: OLS of the equity's daily returns on the daily returns of the factor ETFs
  (:func:`research.data.load_factor_prices`: MTUM, QUAL, SIZE, USMV, VLUE, 2014 on) over the
  sessions both have: alpha (per session and x252), betas, R², and the sums over those
  sessions of alpha, each factor's beta x its return and the residual, which add up to the
  sum of the returns. A run wholly before 2014 has no factor attribution (said, not faked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.analytics.attribution import (
    CASH,
    brinson_fachler,
    factor_return_attribution,
    pnl_by_symbol,
    sector_weights_and_returns,
)
from research.analytics.metrics import SESSIONS_PER_YEAR
from research.data.sectors import sector_map

BENCHMARK = ("equal-weighted universe: every universe name with a close at a window's start, "
             "1/N each, held over the window (the S&P 500's sector weights are not in the data)")
#: Fewest common sessions for a factor regression (5 factors and an intercept need 7; a
#: month of sessions keeps the betas from being noise alone).
MIN_FACTOR_SESSIONS = 21


@dataclass(frozen=True)
class BacktestAttribution:
    """``positions`` (symbol -> pnl, holding, trading, fees, traded, fills, share),
    ``sector_windows`` (one row per rebalance window: start, end, portfolio_return,
    held_return, benchmark_return, allocation, selection, interaction, trading, active),
    ``sectors`` (per sector, summed over the windows: allocation, selection, interaction),
    ``factors`` (the regression's numbers, or a reason it could not run) and
    ``equity_change`` ($, what ``positions`` adds up to)."""

    positions: pd.DataFrame
    sector_windows: pd.DataFrame
    sectors: pd.DataFrame
    factors: dict[str, Any]
    equity_change: float

    def to_json(self) -> dict[str, Any]:
        def num(x: Any) -> float | None:
            return float(x) if x is not None and np.isfinite(x) else None

        windows = self.sector_windows.reset_index()
        for c in ("session", "start", "end"):
            windows[c] = windows[c].dt.strftime("%Y-%m-%d")
        totals = self.sector_windows[["allocation", "selection", "interaction", "trading",
                                      "active"]].sum()
        return {
            "by_position": {
                "equity_change": num(self.equity_change),
                "symbols": {s: {k: (int(v) if k == "fills" else num(v)) for k, v in row.items()}
                            for s, row in self.positions.iterrows()}},
            "by_sector": {
                "benchmark": BENCHMARK,
                "periods": "rebalance windows, summed arithmetically (no linking)",
                "totals": {k: num(v) for k, v in totals.items()},
                "sectors": {s: {k: num(v) for k, v in row.items()}
                            for s, row in self.sectors.iterrows()},
                "windows": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                            for r in windows.to_dict(orient="records")]},
            "by_factor": _finite_or_null(self.factors),
        }


def _finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float (an undefined R² of a flat curve) as None: the
    JSON is written with ``allow_nan=False``."""
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def backtest_attribution(result: Any, factor_prices: pd.DataFrame | None = None,
                         sectors: dict[str, str] | None = None) -> BacktestAttribution:
    """Attribution of ``result`` (:class:`sim.backtest.BacktestResult`, with the closes its
    equity was marked at). ``factor_prices``: daily factor prices (default
    :func:`research.data.load_factor_prices`); ``sectors``: symbol -> sector (default: the GICS
    map with the run config's ``universe.sectors``)."""
    if result.closes is None:
        raise ValueError("attribution needs the closes the equity was marked at (a replay's "
                         "result; the vectorbt engine keeps none)")
    account, closes = result.account, result.closes
    equity = account.equity
    positions = pnl_by_symbol(result.trades, account.positions, closes)
    windows, by_sector = sector_attribution(equity, account.positions, closes,
                                            result.decisions,
                                            sectors or sector_map(result.config.universe.sectors))
    if factor_prices is None:
        from research.data import load_factor_prices

        factor_prices = load_factor_prices()
    return BacktestAttribution(positions, windows, by_sector,
                               factor_attribution(equity, factor_prices),
                               float(equity.iloc[-1] - equity.iloc[0]))


def sector_attribution(equity: pd.Series, positions: pd.DataFrame, closes: pd.DataFrame,
                       decisions: list[dict], sectors: dict[str, str]
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(windows, sectors) of the module's Brinson-Fachler by rebalance window."""
    from sim.backtest_report.algorithms import rebalance_windows

    unknown = sorted(set(closes.columns) - set(sectors))
    if unknown:
        raise ValueError(f"attribution: no sector known for {unknown}")
    marks = closes.ffill()
    rows, effects = [], []
    for session, w in rebalance_windows(equity, decisions).iterrows():
        c0, c1 = marks.loc[w["start"]], marks.loc[w["end"]]
        priced = c0.notna() & c1.notna() & (c0 > 0)
        ret = (c1 / c0 - 1.0).where(priced, 0.0)
        value = positions.loc[w["start"]] * c0.where(priced, 0.0)
        held = (value / float(equity.loc[w["start"]])).where(positions.loc[w["start"]] != 0, 0.0)
        wp, rp = sector_weights_and_returns(held[held != 0].to_dict(), ret.to_dict(), sectors)
        if not wp:  # all cash: the cash "sector" holds it all
            wp, rp = {CASH: 1.0}, {CASH: 0.0}
        names = list(ret.index[priced])
        wb, rb = sector_weights_and_returns({s: 1.0 / len(names) for s in names},
                                            ret.to_dict(), sectors)
        rb = {**rb, CASH: 0.0}  # the benchmark holds no cash; cash earns the risk-free 0
        bf = brinson_fachler(wp, rp, wb, rb)
        actual = float(equity.loc[w["end"]] / equity.loc[w["start"]] - 1.0)
        totals = bf.totals()
        rows.append({"session": session, "start": w["start"], "end": w["end"],
                     "portfolio_return": actual, "held_return": bf.portfolio_return,
                     "benchmark_return": bf.benchmark_return, **totals,
                     "trading": actual - bf.portfolio_return,
                     "active": actual - bf.benchmark_return})
        effects.append(bf.table[["allocation", "selection", "interaction"]])
    columns = ["session", "start", "end", "portfolio_return", "held_return",
               "benchmark_return", "allocation", "selection", "interaction", "trading",
               "active"]
    windows = pd.DataFrame(rows, columns=columns).set_index("session")
    by_sector = (pd.concat(effects).groupby(level=0).sum() if effects else
                 pd.DataFrame(columns=["allocation", "selection", "interaction"]))
    by_sector.index.name = "sector"
    return windows, by_sector


def factor_attribution(equity: pd.Series, factor_prices: pd.DataFrame) -> dict[str, Any]:
    """The module's factor regression as a JSON-ready dict (``available`` false with the
    ``reason`` when the run and the factor data share too few sessions)."""
    returns = equity.pct_change().iloc[1:]
    factors = factor_prices.pct_change().iloc[1:].dropna()
    common = returns.index.intersection(factors.index)
    if len(common) < MIN_FACTOR_SESSIONS:
        span = (f"{factor_prices.index[0]:%Y-%m-%d}..{factor_prices.index[-1]:%Y-%m-%d}"
                if len(factor_prices) else "none")
        return {"available": False,
                "reason": f"{len(common)} session(s) in common with the factor ETF returns "
                          f"({span}); at least {MIN_FACTOR_SESSIONS} are needed"}
    fit = factor_return_attribution(returns.loc[common], factors.loc[common])
    return {"available": True, "factors": list(factors.columns),
            "start": f"{common[0]:%Y-%m-%d}", "end": f"{common[-1]:%Y-%m-%d}",
            "sessions": fit.periods,
            "model": "OLS of the equity's daily simple returns on the factor ETFs' daily simple "
                     "returns, with an intercept",
            "alpha_per_session": fit.alpha, "alpha_annual": fit.alpha * SESSIONS_PER_YEAR,
            "betas": {k: float(v) for k, v in fit.betas.items()},
            "r_squared": fit.r_squared,
            "residual_volatility_annual": float(fit.residuals.std(ddof=1)
                                                * np.sqrt(SESSIONS_PER_YEAR)),
            "contributions": {k: float(v) for k, v in fit.contributions.items()},
            "sum_of_returns": float(returns.loc[common].sum())}
