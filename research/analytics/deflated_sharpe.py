"""The deflated Sharpe ratio (Bailey & Lopez de Prado 2014, "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio Mgmt 40(5)).

The best of N tried configurations has an inflated Sharpe ratio even when none has skill.
With per-period (not annualised) Sharpe ratios:

    SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))      (expected max of N)
    DSR = Z( (SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2) )

V: the variance of the N trials' Sharpe ratios, g: the Euler-Mascheroni constant, T: the
number of returns of the selected configuration, skew and kurt (not excess) their third and
fourth standardised moments, Z the standard normal CDF. DSR is the probability that the
selected Sharpe ratio is above what selection alone would produce; 0.95 is the usual bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(trial_sharpes: Sequence[float]) -> float:
    """SR0: the expected maximum of N per-period Sharpe ratios with no skill (see module)."""
    sr = np.asarray(trial_sharpes, dtype=float)
    if sr.size < 2 or not np.isfinite(sr).all():
        raise ValueError(f"the deflated Sharpe ratio needs >= 2 finite trial Sharpe ratios, "
                         f"got {sr.size}")
    n, z = sr.size, NormalDist().inv_cdf
    spread = math.sqrt(float(np.var(sr, ddof=1)))
    return spread * ((1 - EULER_GAMMA) * z(1 - 1 / n) + EULER_GAMMA * z(1 - 1 / (n * math.e)))


def deflated_sharpe_ratio(returns: Sequence[float], trial_sharpes: Sequence[float]) -> float:
    """DSR of the selected configuration's per-period ``returns`` given the per-period Sharpe
    ratios of every configuration tried (the selected one included)."""
    r = np.asarray(returns, dtype=float)
    if r.size < 3 or not np.isfinite(r).all():
        raise ValueError(f"the deflated Sharpe ratio needs >= 3 finite returns, got {r.size}")
    std = float(r.std(ddof=1))
    if std == 0:
        raise ValueError("the selected returns are constant: no Sharpe ratio")
    sr = float(r.mean()) / std
    centred = (r - r.mean()) / r.std(ddof=0)
    skew, kurt = float(np.mean(centred ** 3)), float(np.mean(centred ** 4))
    denominator = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
    if denominator <= 0:
        raise ValueError("the Sharpe ratio's variance estimate is not positive (extreme "
                         "skewness for this Sharpe ratio)")
    stat = (sr - expected_max_sharpe(trial_sharpes)) * math.sqrt(r.size - 1) / math.sqrt(
        denominator)
    return NormalDist().cdf(stat)


def per_period_sharpe(returns: Sequence[float]) -> float:
    """mean / std (ddof=1) of per-period returns, not annualised (NaN when constant)."""
    r = np.asarray(returns, dtype=float)
    std = float(r.std(ddof=1)) if r.size > 1 else 0.0
    return float(r.mean()) / std if std > 0 else math.nan


__all__ = ["EULER_GAMMA", "deflated_sharpe_ratio", "expected_max_sharpe", "per_period_sharpe"]
