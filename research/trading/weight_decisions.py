"""A run config's rebalance decisions as one frame of target weights, for the fast research
path (:func:`research.analytics.backtest_target_weights`), which trades whole frames at once.

The same decisions the trading loop takes, minus what only the loop does: on each of the
config's rebalance sessions D (:func:`research.trading.rebalance.config_rebalance_dates`, the
schedule counted on the closes' whole index, as the loop streams it), the portfolio strategy's
target weights from the closes strictly before D. No risk limits, no whole shares, no NAV at
the previous close: the frame holds weights, and the fast path sizes them itself (at the
close it trades at).

Layout: the weights of D sit on the row of the session *before* D (the fast path's "decided
at close t, traded at close t+1"), every other row is NaN; so a decision is traded at D's
close, where the daily replay fills it too (:mod:`sim.daily_market`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from research.trading.rebalance import config_rebalance_dates


def target_weight_decisions(config: Any, strategy: Any, closes: pd.DataFrame, start: Any,
                            end: Any = None) -> pd.DataFrame:
    """The decisions of ``config`` whose rebalance session falls in [``start``, ``end``] as a
    frame like ``closes`` (see the module). ``strategy``: the config's portfolio strategy
    (:func:`research.strategies.portfolio_strategy`). A missing weight is 0 (not held)."""
    index = pd.DatetimeIndex(closes.index)
    days = config_rebalance_dates(config, index)
    days = days[days >= pd.Timestamp(start).normalize()]
    if end is not None:
        days = days[days <= pd.Timestamp(end).normalize()]
    rows = index.get_indexer(days) - 1
    if (rows < 0).any():
        raise ValueError(f"rebalance session {days[int(np.argmax(rows < 0))]:%Y-%m-%d} has no "
                         "close before it to decide on")
    decided = np.full(closes.shape, np.nan)
    for row, day in zip(rows.tolist(), days, strict=True):
        decided[row] = strategy.target_weights(closes, day).reindex(
            closes.columns).fillna(0.0).to_numpy(float)
    return pd.DataFrame(decided, index=closes.index, columns=closes.columns)


__all__ = ["target_weight_decisions"]
