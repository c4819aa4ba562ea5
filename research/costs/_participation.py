"""Optimal participation rate of a parent order under a participation cap.

An order of Q shares (u = Q/V of average daily volume V) worked at a constant participation
rate rho (share of market volume) takes T = u/rho days of volume. Its expected cost and
timing risk in dollars, for notional N = Q * price and daily volatility sigma, are

    E(rho) = N * eta * sigma * rho^beta            (Almgren et al. 2005 temporary impact)
    Var(rho) = (sigma * N)^2 * T / 3               (linear liquidation over T days)

Minimising E + lambda Var over rho gives the closed form

    rho* = (lambda * sigma * N * u / (3 * eta * beta))^(1 / (1 + beta)),

which is then clipped to [rho_min, cap]: rho_min = u / T_h finishes within the horizon
(T_h = days of volume available before the horizon ends) and ``cap`` is the largest share of
volume the order may take. When rho_min > cap no admissible rate finishes in time: the order
is **infeasible** (flagged) and trades at the cap. Under the square-root law the impact does
not depend on the rate, so any lambda > 0 says "as fast as allowed" (rho = cap) and lambda = 0
says "as slowly as the horizon allows" (rho = rho_min).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from research.costs._impact import ALMGREN_BETA, ALMGREN_ETA


@dataclass(frozen=True, eq=False)
class ParticipationPlan:
    """Per order: the participation rate to use and what it implies."""

    rate: np.ndarray
    """Participation rate (fraction of market volume) to trade at."""
    unconstrained_rate: np.ndarray
    """Risk-optimal rate before the horizon and cap constraints."""
    duration_days: np.ndarray
    """Days of (average) volume needed at ``rate``."""
    feasible: np.ndarray
    """False where even the cap cannot finish the order within the horizon."""


def optimal_participation(
    quantity, adv, daily_vol, price, horizon_days, *, risk_aversion: float,
    max_participation: float = 0.10, eta: float = ALMGREN_ETA, beta: float = ALMGREN_BETA,
    law: str = "almgren_2005",
) -> ParticipationPlan:
    """Rate minimising expected impact cost + ``risk_aversion`` x variance (both in dollars).

    ``horizon_days``: days of average volume available before the horizon (clock days times
    the average volume multiplier of the window); ``risk_aversion`` in 1/$;
    ``max_participation`` as a fraction of market volume.
    """
    u = np.abs(np.asarray(quantity, dtype=float)) / np.asarray(adv, dtype=float)
    sigma = np.asarray(daily_vol, dtype=float)
    notional = np.abs(np.asarray(quantity, dtype=float)) * np.asarray(price, dtype=float)
    if not 0 < max_participation <= 1:
        raise ValueError(f"max_participation must be in (0, 1], got {max_participation}")
    if risk_aversion < 0:
        raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion}")
    rho_min = u / np.asarray(horizon_days, dtype=float)
    if law == "almgren_2005":
        base = risk_aversion * sigma * notional * u / (3.0 * eta * beta)
        unconstrained = base ** (1.0 / (1.0 + beta))
    elif law == "square_root":
        unconstrained = np.full(u.shape, max_participation if risk_aversion > 0 else 0.0)
    else:
        raise ValueError(f"unknown impact law {law!r}")
    feasible = rho_min <= max_participation
    rate = np.minimum(np.maximum(unconstrained, rho_min), max_participation)
    return ParticipationPlan(rate=rate, unconstrained_rate=unconstrained,
                             duration_days=u / rate, feasible=feasible)
