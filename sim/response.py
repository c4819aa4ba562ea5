"""The simulated market's response model, configured apart from the cost model (no
circularity: research.costs predicts, this produces the fills it is judged against).

* Temporary impact of market orders, square-root law on the bar:
  ``impact = Y * sigma_bar * sqrt(Q / V_bar)`` as a fraction of price, with ``Q`` the shares
  the bar's market orders on that side take and ``V_bar`` the bar's volume. ``sigma_bar`` is
  an EWMA of past bars' Parkinson variance (high-low range), so it is the volatility of one bar
  — the same horizon as ``V_bar``.
* Permanent impact: linear in the net (buy minus sell) market flow,
  ``permanent_impact * sigma_daily * net / ADV`` (Almgren et al. 2005's form), accumulated per
  symbol as a log-shift applied to every later price of the run. Linear, because a concave
  permanent law would make a sliced order move the price more than the same order at once.
* Half spread when the bar has no quotes: ``fallback_half_spread_bps``, or Corwin-Schultz
  (2012) from the two previous bars' highs and lows when that estimator is chosen.
"""

from __future__ import annotations

import numpy as np

_FOUR_LN2 = 4.0 * np.log(2.0)
_K = 3.0 - 2.0 * np.sqrt(2.0)


def parkinson_variance(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Per-bar variance of log returns from the range: ln(H/L)^2 / (4 ln 2)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(high / low) ** 2 / _FOUR_LN2


def square_root_impact(y: float, sigma: np.ndarray, quantity: np.ndarray, volume: np.ndarray):
    """Temporary impact as a fraction of price: Y * sigma * sqrt(quantity / volume)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = y * sigma * np.sqrt(quantity / volume)
    return np.where(np.isfinite(out), out, 0.0)


def corwin_schultz_half_spread(h1, l1, h2, l2) -> np.ndarray:
    """Corwin-Schultz (2012) half spread (fraction) from two consecutive bars; NaN if unknown,
    negative estimates set to 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.log(h1 / l1) ** 2 + np.log(h2 / l2) ** 2
        gamma = np.log(np.maximum(h1, h2) / np.minimum(l1, l2)) ** 2
        alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
        spread = 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha))
    return np.where(np.isfinite(spread), np.maximum(spread, 0.0) / 2, np.nan)
