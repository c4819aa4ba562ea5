"""Market-impact laws. Every function returns a cost in **bps of the order's notional**
(positive = cost to the trader, whatever the side) and is vectorised over orders.

Inputs: ``quantity`` Q and ``adv`` V in shares (V = average daily volume), ``daily_vol`` sigma
as a fraction (0.02 = 2% daily standard deviation of returns), durations in **trading days**
(390 minutes of the regular session = 1 day).

* Square-root law: ``Y * sigma * sqrt(Q/V)`` — the expected impact cost of a metaorder,
  independent of how fast it is worked (Toth et al. 2011; Y of order 0.5-1). It is a total-cost
  law, so it carries no separate permanent term.
* Almgren, Thum, Hauptmann & Li (2005), "Direct estimation of equity market impact":
  temporary ``eta * sigma * |Q / (V*T)|^beta`` (eta = 0.142, beta = 0.6, T = execution time in
  days) and permanent price shift ``gamma * sigma * (Q/V) * (Theta/V)^(1/4)`` (gamma = 0.314,
  Theta = shares outstanding). The trader bears **half** of the permanent shift on average
  (it builds up linearly while the order trades), so the realised cost is
  ``I/2 + temporary``. When Theta is unknown the turnover ratio Theta/V falls back to
  ``DEFAULT_TURNOVER_RATIO`` = 200 (a large cap turning over 0.5% of its shares a day, the
  ratio used in the paper's worked examples); ``(Theta/V)^(1/4)`` is then 3.76 and a factor-2
  error in the ratio moves the permanent term by only 19%.
"""

from __future__ import annotations

from typing import get_args

import numpy as np

from research.config import ImpactLaw

SQRT_IMPACT_Y = 0.7
ALMGREN_ETA = 0.142
ALMGREN_BETA = 0.6
ALMGREN_GAMMA = 0.314
DEFAULT_TURNOVER_RATIO = 200.0
IMPACT_LAWS = get_args(ImpactLaw)


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def square_root_impact(quantity, adv, daily_vol, y: float = SQRT_IMPACT_Y) -> np.ndarray:
    """Square-root law ``Y * sigma * sqrt(Q/V)`` in bps."""
    return 1e4 * y * _f(daily_vol) * np.sqrt(np.abs(_f(quantity)) / _f(adv))


def almgren_temporary_impact(
    quantity, adv, daily_vol, duration_days, eta: float = ALMGREN_ETA, beta: float = ALMGREN_BETA
) -> np.ndarray:
    """Almgren et al. (2005) temporary impact ``eta * sigma * |Q/(V*T)|^beta`` in bps.

    ``duration_days``: execution time in trading days (volume time: a day of average volume).
    """
    rate = np.abs(_f(quantity)) / (_f(adv) * _f(duration_days))
    return 1e4 * eta * _f(daily_vol) * rate**beta


def almgren_permanent_impact(
    quantity, adv, daily_vol, gamma: float = ALMGREN_GAMMA, shares_outstanding=None,
    turnover_ratio: float = DEFAULT_TURNOVER_RATIO,
) -> np.ndarray:
    """Almgren et al. (2005) permanent price shift ``gamma * sigma * (Q/V) * (Theta/V)^(1/4)``
    in bps. The cost the order itself bears from it is half of this value.

    ``shares_outstanding``: Theta per order; NaN or None uses ``turnover_ratio`` for Theta/V.
    """
    adv = _f(adv)
    ratio = np.full(np.broadcast(adv).shape, float(turnover_ratio))
    if shares_outstanding is not None:
        theta = _f(shares_outstanding) / adv
        ratio = np.where(np.isfinite(theta) & (theta > 0), theta, ratio)
    return 1e4 * gamma * _f(daily_vol) * (np.abs(_f(quantity)) / adv) * ratio**0.25
