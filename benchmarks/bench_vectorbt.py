"""The fast research path (vectorbt) on workload W1, one run and a 1,000-set grid.

W1: the 20 embedded S&P 500 stocks x all 8,313 sessions (1990-2022), inverse-volatility targets
(63-session std of daily log returns), rebalanced every 21 sessions, decided at close t and
traded at close t+1, 5 bps slippage + 5 bps fees, $1M. RRC's close does not move for the first
63 sessions of 1990 (a stale price: zero volatility), so the runs use ``zero_volatility=
"exclude"`` (RRC at weight 0 in the decisions whose window is flat; the run lists them).

Targets: the 1,000-set grid under 30 s on 2 cores (it runs in one process here). Also timed:
the replay's accounting (``account_fills``) turning W1's fills into equity. Figures are
printed, never asserted; the machine is shared with other engineers' jobs, so they are from a
loaded machine. Run: ``python benchmarks/bench_vectorbt.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine  # noqa: E402

from research.analytics import (  # noqa: E402
    FlatCosts,
    InverseVolatilityParams,
    account_fills,
    decision_rows,
    inverse_volatility_grid,
    inverse_volatility_targets,
)
from research.data import load_sp500_closes, load_sp500_index  # noqa: E402

W1 = InverseVolatilityParams(lookback=63, rebalance_every=21)
COSTS = FlatCosts(slippage_bps=5.0, fee_bps=5.0)
CAPITAL = 1_000_000.0
# 100 lookbacks x 10 rebalance periods
GRID = [InverseVolatilityParams(lookback, every) for lookback in range(20, 120)
        for every in (5, 10, 15, 21, 30, 42, 63, 84, 126, 252)]


def timed(fn, runs: int = 1):
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def w1_fills(closes: pd.DataFrame) -> pd.DataFrame:
    """W1's trades as fills (whole shares, at close t+1 with 5 bps slippage and 5 bps fees),
    sized here at the previous close: only a realistic fill list for timing the accounting."""
    weights = inverse_volatility_targets(closes, 63, zero_volatility="exclude").to_numpy()
    values = closes.to_numpy()
    held = np.zeros(closes.shape[1])
    cash, rows = CAPITAL, []
    for t in decision_rows(len(closes), W1):
        nav = cash + held @ values[t]
        trade = np.rint(weights[t] * nav * 0.99 / values[t]) - held
        price = values[t + 1] * (1 + np.sign(trade) * 5e-4)
        fees = np.abs(trade) * price * 5e-4
        cash -= float(trade @ price + fees.sum())
        held += trade
        for j in np.flatnonzero(trade):
            rows.append((closes.index[t + 1], closes.columns[j], trade[j], price[j], fees[j]))
    return pd.DataFrame(rows, columns=["timestamp", "symbol", "quantity", "price", "fees"])


def every_session(closes: pd.DataFrame) -> float:
    """W1 as one vectorbt call over all 8,313 sessions (what the fast path shortcuts)."""
    import vectorbt as vbt

    decided = np.full(closes.shape, np.nan)
    rows = decision_rows(len(closes), W1)
    weights = inverse_volatility_targets(closes, 63, zero_volatility="exclude").to_numpy()
    decided[rows] = weights[rows]
    executed = np.full(closes.shape, np.nan)
    executed[1:] = decided[:-1]
    portfolio = vbt.Portfolio.from_orders(
        closes, executed, size_type="targetpercent", direction="longonly", fees=5e-4,
        slippage=5e-4, init_cash=CAPITAL, cash_sharing=True, group_by=True, call_seq="auto",
        freq="1D")
    return float(portfolio.value().iloc[-1])


def main() -> None:
    print(f"machine: {machine()}")
    print("(figures depend on what else the machine runs: benchmark on a quiet one)")
    closes = load_sp500_closes()
    print(f"W1 data: {closes.shape[1]} stocks x {len(closes):,d} sessions")

    first, _ = timed(lambda: inverse_volatility_grid(closes.iloc[:300], [W1], COSTS, CAPITAL,
                                                     zero_volatility="exclude"))
    print(f"first call in this process (vectorbt import, numba load or compile): {first:.2f} s")

    index = load_sp500_index()
    seconds, w1 = timed(lambda: inverse_volatility_grid(closes, [W1], COSTS, CAPITAL, index,
                                                        zero_volatility="exclude"), runs=5)
    row = w1.metrics.iloc[0]
    print(f"W1 with the index metrics, one run warm (best of 5): {seconds * 1e3:8.1f} ms")
    print(f"   final equity ${row['final_equity']:,.0f}, CAGR {row['cagr']:.2%}, Sharpe "
          f"{row['sharpe']:.3f}, max drawdown {row['max_drawdown']:.1%}, turnover "
          f"{row['turnover_annual']:.2f}/yr, cost drag {row['cost_drag_bps_annual']:.1f} bps/yr; "
          f"{len(w1.excluded)} decision(s) left RRC out for zero volatility")
    print(f"   against the S&P 500 index: beta {row['beta']:.2f}, alpha {row['alpha']:.2%}/yr, "
          f"tracking error {row['tracking_error']:.2%}, information ratio "
          f"{row['information_ratio']:.2f}")

    seconds, grid = timed(lambda: inverse_volatility_grid(closes, GRID, COSTS, CAPITAL,
                                                          zero_volatility="exclude"))
    best = grid.metrics["sharpe"].idxmax()
    print(f"{len(GRID):,d} parameter sets of W1 (100 lookbacks x 10 periods), one process: "
          f"{seconds:6.1f} s   target < 30 s on 2 cores")
    print(f"   best Sharpe {grid.metrics['sharpe'].max():.3f} at lookback {best[0]}, period "
          f"{best[1]} "
          "(the best of 1,000 tries: not a corrected Sharpe)")

    seconds, value = timed(lambda: every_session(closes), runs=3)
    print(f"W1 in vectorbt over every session (no shortcut), best of 3: {seconds * 1e3:8.1f} ms"
          f"   final equity ${value:,.0f}")
    print("   (notes/anchors_backtest.md: a peer script ran W1 in vectorbt 1.2.0 in ~2.2 s and in "
          "backtrader in ~11 s, their whole scripts timed: not comparable line for line)")

    fills = w1_fills(closes)
    seconds, account = timed(lambda: account_fills(closes, fills, CAPITAL), runs=3)
    print(f"account_fills, W1's {len(fills):,d} fills x {len(closes):,d} sessions: "
          f"{seconds * 1e3:8.1f} ms   final equity ${account.equity.iloc[-1]:,.0f} (whole "
          "shares sized at the decision close: not W1's vectorbt sizing)")


if __name__ == "__main__":
    main()
