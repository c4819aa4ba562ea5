"""Cross-sectional factor scores from a wide frame of daily closes (rows: sessions before the
decision, oldest first; columns: symbols). Each score is "higher = more attractive", so the
multi-factor strategy can add z-scores without flipping signs:

* ``momentum`` (12-1): P[t-skip] / P[t-lookback] - 1, with t the last row — the past year's
  return without its last month (Jegadeesh & Titman 1993; the month is skipped because of
  the short-term reversal below).
* ``low_volatility``: minus the sample standard deviation (ddof=1) of the last ``window``
  daily log returns (the low-volatility anomaly: Ang, Hodrick, Xing & Zhang 2006).
* ``reversal``: minus the return over the last ``skip`` sessions, P[t] / P[t-skip] - 1
  (Jegadeesh 1990: last month's losers outperform next month).

A symbol without the full window (not yet listed, a missing close) scores NaN and is not
ranked. :func:`zscores` standardises a score across the universe or within sectors.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

FACTORS = ("momentum", "low_volatility", "reversal")


def _window(closes: pd.DataFrame, rows: int, factor: str) -> np.ndarray:
    if len(closes) < rows:
        raise ValueError(f"{factor} needs {rows} closes before the decision date, got "
                         f"{len(closes)}")
    values = closes.iloc[-rows:].to_numpy(dtype=float)
    if (values <= 0).any():
        bad = closes.columns[(values <= 0).any(axis=0)].tolist()
        raise ValueError(f"{factor}: non-positive close in the window for {bad}")
    return values


def momentum(closes: pd.DataFrame, lookback: int = 252, skip: int = 21) -> pd.Series:
    """12-1 momentum: the return from ``lookback`` to ``skip`` sessions before the last close."""
    values = _window(closes, lookback + 1, "momentum")
    score = values[-1 - skip] / values[0] - 1.0
    return pd.Series(score, index=closes.columns, name="momentum")


def low_volatility(closes: pd.DataFrame, window: int = 63) -> pd.Series:
    """Minus the daily log-return volatility over the last ``window`` returns."""
    values = _window(closes, window + 1, "low_volatility")
    returns = np.diff(np.log(values), axis=0)
    vol = returns.std(axis=0, ddof=1)  # NaN where a close is missing
    return pd.Series(-vol, index=closes.columns, name="low_volatility")


def reversal(closes: pd.DataFrame, skip: int = 21) -> pd.Series:
    """Minus the return over the last ``skip`` sessions (short-term reversal)."""
    values = _window(closes, skip + 1, "reversal")
    return pd.Series(-(values[-1] / values[0] - 1.0), index=closes.columns, name="reversal")


def zscores(score: pd.Series, sectors: Mapping[str, str] | None = None) -> pd.Series:
    """(x - mean) / std (ddof=0) over the scored names, or within each sector when ``sectors``
    (symbol -> sector) is given. A group whose scores are all equal (one member, or a tie) has
    no spread to rank on: its names get z = 0. NaN scores stay NaN."""
    out = pd.Series(np.nan, index=score.index, name=score.name)
    groups = (pd.Series("all", index=score.index) if sectors is None
              else pd.Series([sectors[s] for s in score.index], index=score.index))
    for _, members in score.groupby(groups, sort=False):
        x = members.dropna()
        if x.empty:
            continue
        spread = float(x.std(ddof=0))
        out[x.index] = 0.0 if spread == 0 else (x - x.mean()) / spread
    return out


def factor_scores(closes: pd.DataFrame, factors, *, momentum_days: int = 252,
                  skip_days: int = 21, volatility_days: int = 63) -> pd.DataFrame:
    """Raw scores of each factor in ``factors`` (columns), one row per symbol."""
    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown}; known: {list(FACTORS)}")
    compute = {"momentum": lambda: momentum(closes, momentum_days, skip_days),
               "low_volatility": lambda: low_volatility(closes, volatility_days),
               "reversal": lambda: reversal(closes, skip_days)}
    return pd.DataFrame({f: compute[f]() for f in factors})


__all__ = ["FACTORS", "factor_scores", "low_volatility", "momentum", "reversal", "zscores"]
