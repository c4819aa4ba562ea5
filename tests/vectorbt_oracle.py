"""vectorbt as the oracle of the replay's accounting: the one way the tests hand it share
orders (no sizing inside vectorbt), shared by the accounting and the backtest oracles.

vectorbt is told to refuse rather than shrink an order (``allow_partial=False``,
``raise_reject=True``), so a cash check can never make it trade something else quietly;
per-order fees in dollars go in as ``fixed_fees`` (plus an optional ``fee_rate`` of the
order's value), and positions are marked at ``close``."""

from __future__ import annotations

import numpy as np
import vectorbt as vbt


def portfolio_from_share_orders(close, size: np.ndarray, price: np.ndarray,
                                fixed_fees: np.ndarray, init_cash: float,
                                fee_rate: float = 0.0):
    """One vectorbt portfolio (all columns one group with shared cash) that executes exactly
    ``size`` shares (signed, NaN: no order) at ``price`` on each row."""
    return vbt.Portfolio.from_orders(
        close, size, size_type="amount", direction="both", price=price, fees=fee_rate,
        fixed_fees=fixed_fees, slippage=0.0, init_cash=init_cash, cash_sharing=True,
        group_by=True, call_seq="auto", allow_partial=False, raise_reject=True, freq="1D")
