"""Parent-order sets for the study: a file, the synthetic generator, or a monthly rebalance.

* ``synthetic``: :func:`sim.orders.synthetic_parent_orders` on the study window (sizes as a
  log-normal fraction of past ADV, median 0.5%, truncated at 10%; times uniform over the
  session; both sides); ADV from all the bars given (history included).
* ``rebalance``: the orders of a monthly inverse-volatility (63-day) rebalance of the embedded
  20-stock portfolio (real daily closes from skfolio's S&P 500 data set), decided at 10:00
  with a 60-minute horizon, starting from the target book (``initial="target"``: the orders
  are the month's drift and re-weighting, not the initial build). Capital defaults to
  :data:`DEFAULT_REBALANCE_CAPITAL` ($2bn), chosen so that orders span roughly 0.01-3% of ADV
  on the embedded names (AAPL ~$13bn/day to RRC ~$0.2bn/day) — an institutional book.
  Only symbols present in the bars are kept (and reported).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from research.data.schema import EXCHANGE_TZ

DEFAULT_REBALANCE_CAPITAL = 2e9
GENERATORS = ("synthetic", "rebalance")


def study_window(bars: pd.DataFrame, start=None, end=None, history_sessions: int = 21
                 ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last session date (tz-naive) of the study: ``start``/``end`` when given, else
    everything after the first ``history_sessions`` sessions of the bars (kept as history)."""
    days = pd.DatetimeIndex(bars["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.normalize()
                            .dt.tz_localize(None).unique()).sort_values()
    if start is None:
        if len(days) <= history_sessions:
            raise ValueError(f"tca: bars cover {len(days)} session(s); need more than "
                             f"{history_sessions} (history) or an explicit start")
        first = days[history_sessions]
    else:
        first = pd.Timestamp(start)
    last = days[-1] if end is None else pd.Timestamp(end)
    if first > last:
        raise ValueError(f"tca: study start {first:%Y-%m-%d} is after its end {last:%Y-%m-%d}")
    return first, last


def _in_window(bars: pd.DataFrame, first, last) -> pd.DataFrame:
    day = bars["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.normalize().dt.tz_localize(None)
    return bars[(day >= first) & (day <= last)]


def parent_order_set(spec: str, bars: pd.DataFrame, *, n_orders: int = 500, seed: int = 0,
                     start=None, end=None, capital: float | None = None,
                     history_sessions: int = 21) -> tuple[pd.DataFrame, str]:
    """(orders, description) for ``spec`` = ``synthetic``, ``rebalance`` or an orders file."""
    if spec not in GENERATORS:
        from research.strategies import load_parent_orders

        path = Path(spec)
        if not path.is_file():
            raise ValueError(f"tca: --orders {spec!r} is neither a generator {list(GENERATORS)} "
                             "nor an existing CSV/Parquet file")
        orders = load_parent_orders(path)
        return orders, f"file {path} ({len(orders)} orders)"
    first, last = study_window(bars, start, end, history_sessions)
    if spec == "synthetic":
        from sim.orders import synthetic_parent_orders

        window = _in_window(bars, first, last)
        orders = synthetic_parent_orders(window, n_orders, seed, daily_bars=bars)
        return orders, (f"synthetic: {n_orders} orders, seed {seed}, log-normal size (median "
                        f"0.5% ADV, cap 10%), sessions {first:%Y-%m-%d}..{last:%Y-%m-%d}")
    from research.data import load_sp500_closes
    from research.strategies import InverseVolatility
    from research.trading import rebalance_orders

    capital = DEFAULT_REBALANCE_CAPITAL if capital is None else capital
    closes = load_sp500_closes()
    symbols = sorted(set(closes.columns) & set(bars["symbol"].unique()))
    if not symbols:
        raise ValueError("tca: rebalance orders need bars of the embedded S&P 500 names")
    closes = closes[symbols]
    # the book starts at its target one rebalance before the window, so that the first
    # rebalance inside the window trades the month's drift (not zero, not the initial build)
    orders = rebalance_orders(closes, InverseVolatility(63), capital, "monthly",
                              start=first - pd.Timedelta(days=35), end=last, horizon_minutes=60,
                              decision_time="10:00", initial="target")
    day = orders["decision_time"].dt.tz_convert(EXCHANGE_TZ).dt.normalize().dt.tz_localize(None)
    orders = orders[(day >= first) & (day <= last) & (orders["quantity"] > 0)]
    orders = orders.reset_index(drop=True)
    if orders.empty:
        raise ValueError(f"tca: no rebalance trade between {first:%Y-%m-%d} and {last:%Y-%m-%d}"
                         " (monthly rebalance: the window must contain a month's first session)")
    return orders, (f"monthly inverse-volatility rebalance of {len(symbols)} names, capital "
                    f"${capital:,.0f}, {first:%Y-%m-%d}..{last:%Y-%m-%d} ({len(orders)} orders)")
