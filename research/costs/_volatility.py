"""Daily volatility of one symbol: from daily closes when there are enough of them, else from
its intraday bars (realised volatility).

A user who fetches a few sessions of minute bars has one or two daily closes: no standard
deviation of daily returns exists, but a session of minute bars holds dozens of intraday
returns. The realised-volatility estimator (Andersen, Bollerslev, Diebold & Labys 2003) sums a
session's squared intraday log returns; sampling every five minutes rather than every minute
keeps bid-ask bounce in trade prices from inflating it (the usual choice in that literature).

It measures **open-to-close** variance only: the overnight gap is not in it, so on most stocks
it is lower than a close-to-close estimate. The caller records which estimator it used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Estimator names recorded in ``CostModel.daily_vol_method_`` (and the study's JSON).
CLOSE_TO_CLOSE = "daily_close_to_close"
INTRADAY_REALISED = "intraday_realised_5min"
NO_ESTIMATE = "none"
REALISED_SAMPLE_MINUTES = 5
SESSION_MINUTES = 390.0
#: Fewer 5-minute returns than this in all sessions together give no estimate (one hour).
MIN_REALISED_RETURNS = 12


def close_to_close_vol(daily_closes: np.ndarray, lookback: int) -> float:
    """Sample std of the last ``lookback`` daily log returns (NaN with fewer than two)."""
    returns = np.diff(np.log(np.asarray(daily_closes, float)))[-lookback:]
    return float(np.std(returns, ddof=1)) if returns.size >= 2 else np.nan


def intraday_realised_vol(bars: pd.DataFrame, bar_minutes: float = 1.0) -> tuple[float, int]:
    """(daily volatility, number of intraday returns used) from one symbol's intraday bars.

    ``bars``: columns ``_ts`` (tz-aware, New York, the bar's close), ``_day`` (its session),
    ``open`` and ``close``. Per session the price path starts at the first bar's open and is
    sampled every five minutes (the last close at or before each mark, so minutes without a
    bar do not matter); the session's realised variance (sum of squared log returns) is scaled
    to a full 390-minute session by the minutes it covers (early closes, a symbol whose data
    starts mid-session), and the daily volatility is the square root of the mean over sessions.
    Returns (NaN, n) when fewer than :data:`MIN_REALISED_RETURNS` returns exist.
    """
    variances, n_returns = [], 0
    for _, s in bars.groupby("_day", sort=True):
        ts = pd.DatetimeIndex(s["_ts"])
        start = ts[0] - pd.Timedelta(minutes=bar_minutes)
        elapsed = (ts - start).total_seconds().to_numpy() / 60.0
        marks = np.arange(REALISED_SAMPLE_MINUTES, elapsed[-1] + 1e-9, REALISED_SAMPLE_MINUTES)
        if elapsed[-1] - (marks[-1] if marks.size else 0.0) > 1e-9:
            marks = np.append(marks, elapsed[-1])  # the session's last, partial interval
        last = np.searchsorted(elapsed, marks + 1e-9, side="right") - 1
        path = np.log(np.r_[float(s["open"].iloc[0]), s["close"].to_numpy(float)[last]])
        returns = np.diff(path)
        if returns.size == 0:
            continue
        variances.append(float(np.sum(returns ** 2)) * SESSION_MINUTES / float(elapsed[-1]))
        n_returns += returns.size
    if n_returns < MIN_REALISED_RETURNS:
        return np.nan, n_returns
    return float(np.sqrt(np.mean(variances))), n_returns
