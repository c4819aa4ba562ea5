"""``qlab backtest --engine vectorbt``: a run config's daily target-weight strategy on the fast
research path (:func:`research.analytics.backtest_target_weights`), reported in the replay's
JSON schema (``qlab.backtest/1``, ``meta.engine: "vectorbt"``) so both engines' outputs read
the same.

What this path is (and the replay is not): the config's portfolio strategy and rebalance
schedule (:func:`research.trading.target_weight_decisions`: the loop's decisions, weights from
the closes strictly before each rebalance session D), traded at D's close in one order per
symbol, sized by vectorbt at that close (fractional shares, ``targetpercent`` of the book's
value), with flat costs: every order pays ``slippage_bps`` on its price and ``fee_bps`` of its
value (:class:`research.analytics.FlatCosts`). What it leaves out: the risk limits (no trim,
no reject: ``risk_events`` is empty), the execution algorithm (no parents, no children: the
fills have no ``parent_id``), the simulated market (no spread, impact or participation cap:
cost components other than fees and slippage are null), whole shares. Sizing differs from
the replay's too: the replay sizes whole shares at the previous close (the decision) and
fills them at D's close; here the weights are sized at D's close itself.

Equity is the account of vectorbt's executed orders (:func:`research.analytics.account_fills`,
the replay's accounting, which agrees with vectorbt's own ``value()``: tested), marked at
each session's close from the session before the first traded one, at the starting capital.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from research.analytics import (
    FlatCosts,
    account_fills,
    backtest_target_weights,
    covering_benchmark,
)
from research.analytics.metrics import performance_metrics
from research.data.calendar import sessions as exchange_sessions
from research.strategies import portfolio_strategy
from research.trading import target_weight_decisions
from sim.backtest import BacktestResult

ENGINE = "vectorbt"
#: What the fast path does not model, said once in the output (``meta.not_modelled``).
NOT_MODELLED = (
    "risk limits: none applied (risk_events, limit_usage and risk_forecasts are empty by "
    "construction)",
    "execution algorithm: none; each decision is one order per symbol at the rebalance "
    "session's close (trades have no parent_id or client_order_id)",
    "market response: no spread, impact or participation cap; flat slippage and fees only "
    "(costs delay, spread, impact, timing and opportunity are null)",
    "sizing: fractional shares, target weights of the book's value at the traded close (the "
    "replay sizes whole shares at the previous close)",
)


def run_vectorbt_backtest(config: Any, settings: Any, closes: pd.DataFrame, *, start: Any,
                          end: Any = None, costs: FlatCosts = FlatCosts(),
                          benchmark: pd.Series | None = None, risk_free_rate: float = 0.0,
                          data: str = "", **_replay_only: Any) -> BacktestResult:
    """Backtest ``config`` on the daily ``closes`` (wide, session dates x symbols, with the
    history before ``start`` its lookback reads) from ``start`` to ``end`` on the fast path.
    Keywords only the replay reads (``bars``, ``run_id``) are accepted and ignored, so
    :func:`sim.backtest_data.run_config_backtest` calls either engine the same way."""
    del settings, _replay_only  # no simulated market, risk manager or engine to configure
    symbols = list(config.universe.symbols or closes.columns)
    closes = closes[symbols].sort_index().astype(float)
    first = pd.Timestamp(start).normalize()
    last = closes.index[-1] if end is None else pd.Timestamp(end).normalize()
    before = closes.index[closes.index < first]
    traded = closes.index[(closes.index >= first) & (closes.index <= last)]
    if before.empty or traded.empty:
        raise ValueError(f"vectorbt backtest: needs a close before {first:%Y-%m-%d} and a "
                         f"session from it to {last:%Y-%m-%d} in the data "
                         f"({closes.index[0]:%Y-%m-%d}..{closes.index[-1]:%Y-%m-%d})")
    decided = target_weight_decisions(config, portfolio_strategy(config), closes.loc[:last],
                                      first, last)
    window = closes.loc[before[-1]:last]  # the first point: the session before, in cash
    capital = float(config.strategy.capital)
    run = backtest_target_weights(window, {config.name: decided.loc[window.index]}, costs,
                                  capital, benchmark, keep_orders=True)
    orders = run.orders
    close_at = exchange_sessions(traded[0], traded[-1])["close"]
    fills = pd.DataFrame({
        "timestamp": close_at.reindex(pd.DatetimeIndex(orders["date"])).to_numpy(),
        "symbol": orders["symbol"].to_numpy(), "quantity": orders["quantity"].to_numpy(),
        "price": orders["price"].to_numpy(), "fees": orders["fees"].to_numpy()})
    account = account_fills(window, fills, capital)
    slippage_by_day = orders.groupby("date")["slippage"].sum()
    paid = (account.fees + slippage_by_day.reindex(window.index, fill_value=0.0))
    benchmark, benchmark_text = covering_benchmark(benchmark, account.equity.index)
    metrics = performance_metrics(account.equity, benchmark,
                                  traded_notional=account.traded_notional, costs=paid,
                                  risk_free_rate=risk_free_rate)
    nan = float("nan")
    costs_dollars = {"delay": nan, "spread": nan, "impact": nan, "timing": nan,
                     "opportunity": nan, "fees": float(orders["fees"].sum()),
                     "slippage": float(orders["slippage"].sum())}
    costs_dollars["total"] = costs_dollars["fees"] + costs_dollars["slippage"]
    trades = pd.DataFrame({
        "time": fills["timestamp"], "symbol": fills["symbol"],
        "side": np.where(fills["quantity"] > 0, "buy", "sell"),
        "quantity": fills["quantity"].abs(), "price": fills["price"], "fees": fills["fees"],
        "client_order_id": None, "parent_id": None})
    risk_events = pd.DataFrame(columns=["time", "symbol", "side", "requested", "allowed",
                                        "decision", "limits", "message"])
    rows = decided.dropna(how="all")
    decisions = [{"session": f"{traded[traded > day][0]:%Y-%m-%d}", "decided_on_close_of":
                  f"{day:%Y-%m-%d}", "weights": {s: float(w) for s, w in weights.items()}}
                 for day, weights in rows.iterrows() if (traded > day).any()]
    meta = {"engine": ENGINE,
            "bars": {"symbols": symbols, "first": f"{traded[0]:%Y-%m-%d}",
                     "last": f"{traded[-1]:%Y-%m-%d}", "sessions": len(traded)},
            "data": data, "frequency": "daily",
            "conventions": {"sessions_per_year": 252, "risk_free_rate": risk_free_rate,
                            "equity": "marked at each session's close",
                            "timing": "weights decided on closes before the rebalance "
                            "session, traded at its close",
                            "benchmark": benchmark_text},
            "costs_model": {"slippage_bps": costs.slippage_bps, "fee_bps": costs.fee_bps,
                            "note": "flat: slippage moves each order's price against it, "
                            "fees are a share of its value; the replay's components "
                            "(delay, spread, impact, timing, opportunity) do not exist here"},
            "not_modelled": list(NOT_MODELLED), "assumptions": [],
            "parents": None, "refused_parents": {}, "dropped_parents": {}}
    return BacktestResult(config, account, metrics, costs_dollars,
                          float(orders["quantity"].abs().mul(orders["price"]).sum()), trades,
                          risk_events, decisions, meta)


__all__ = ["ENGINE", "NOT_MODELLED", "run_vectorbt_backtest"]
