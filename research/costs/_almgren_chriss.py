"""Almgren & Chriss (2000), "Optimal execution of portfolio transactions", J. Risk 3(2).

Discrete-time liquidation of X shares over N periods of length tau = T/N, linear impact:

* permanent: each period's trade n_k moves the price by gamma * n_k;
* temporary: the period's execution price is worse by epsilon + (eta/tau) * n_k
  (epsilon = half spread + fees per share).

For a static schedule with holdings x_0 = X, ..., x_N = 0 the implementation shortfall has

    E = 1/2 gamma X^2 + epsilon sum|n_k| + (eta_tilde/tau) sum n_k^2,  eta_tilde = eta - gamma tau/2
    V = sigma^2 tau sum_{k=1..N} x_k^2

and minimising E + lambda V gives x_j = X sinh(kappa (T - t_j)) / sinh(kappa T) with
cosh(kappa tau) = 1 + tau^2 kappa_tilde^2 / 2, kappa_tilde^2 = lambda sigma^2 / eta_tilde.
lambda = 0 is the straight line (TWAP), which minimises E; risk aversion buys lower variance
with higher expected cost.

Units: sigma in $/share/day^(1/2), eta in $/share per (share/day), gamma and epsilon in
$/share (per share traded), lambda in 1/$, horizon in days. E in $, V in $^2. Buy programs are
symmetric (use the absolute share count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from research.estimator import ParamsMixin


@dataclass(frozen=True, eq=False)
class AlmgrenChrissSchedule:
    """An optimal liquidation schedule and its cost moments."""

    times: np.ndarray
    """t_0..t_N in days."""
    holdings: np.ndarray
    """x_0..x_N in shares (x_0 = X, x_N = 0)."""
    trades: np.ndarray
    """n_1..n_N in shares (n_k = x_{k-1} - x_k)."""
    expected_cost: float
    """E, $."""
    variance: float
    """V, $^2."""
    kappa: float
    """Urgency, 1/day; the trade's half-life is 1/kappa days (inf when kappa = 0)."""
    kappa_tilde: float
    risk_aversion: float

    @property
    def std(self) -> float:
        """Standard deviation of the shortfall, $."""
        return float(np.sqrt(self.variance))

    @property
    def utility(self) -> float:
        """E + lambda V, $."""
        return self.expected_cost + self.risk_aversion * self.variance

    @property
    def half_life(self) -> float:
        return float(np.inf) if self.kappa == 0 else 1.0 / self.kappa


@dataclass(frozen=True, eq=False)
class EfficientFrontier:
    """(E, V) of the optimal schedules for a range of risk aversions."""

    risk_aversion: np.ndarray
    expected_cost: np.ndarray
    variance: np.ndarray
    kappa: np.ndarray

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"risk_aversion": self.risk_aversion,
                             "expected_cost": self.expected_cost, "variance": self.variance,
                             "std": np.sqrt(self.variance), "kappa": self.kappa})


class AlmgrenChriss(ParamsMixin):
    """Almgren-Chriss optimal execution with linear permanent and temporary impact.

    Parameters
    ----------
    sigma : price volatility, $/share/day^(1/2).
    eta : temporary impact, $/share per (share/day).
    gamma : permanent impact, $/share per share.
    epsilon : fixed cost per share traded (half spread + fees), $/share.
    risk_aversion : lambda, 1/$.
    """

    def __init__(self, *, sigma: float, eta: float, gamma: float = 0.0, epsilon: float = 0.0,
                 risk_aversion: float = 0.0):
        self.sigma = sigma
        self.eta = eta
        self.gamma = gamma
        self.epsilon = epsilon
        self.risk_aversion = risk_aversion

    def _check(self, shares, horizon, periods, risk_aversion) -> tuple[float, float, int, np.ndarray]:
        if not (np.isfinite(shares) and shares != 0):
            raise ValueError(f"shares must be a non-zero number, got {shares}")
        if not horizon > 0:
            raise ValueError(f"horizon must be positive (days), got {horizon}")
        if int(periods) != periods or periods < 1:
            raise ValueError(f"periods must be a positive integer, got {periods}")
        lam = np.atleast_1d(np.asarray(risk_aversion, dtype=float))
        if np.any(~(lam >= 0)):
            raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion}")
        for name in ("sigma", "eta", "gamma", "epsilon"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        tau = horizon / periods
        if not self.eta - 0.5 * self.gamma * tau > 0:
            raise ValueError(
                f"eta - gamma*tau/2 must be positive (eta={self.eta}, gamma={self.gamma}, "
                f"tau={tau}); use more periods"
            )
        return abs(float(shares)), float(horizon), int(periods), lam

    def _solve(self, shares, horizon, periods, lam):
        """Holdings (m, N+1), E (m,), V (m,), kappa (m,), kappa_tilde (m,) for each lambda."""
        x0, horizon, periods, lam = self._check(shares, horizon, periods, lam)
        tau = horizon / periods
        eta_tilde = self.eta - 0.5 * self.gamma * tau
        kappa_tilde = np.sqrt(lam * self.sigma**2 / eta_tilde)
        kappa = np.arccosh(1.0 + 0.5 * (kappa_tilde * tau) ** 2) / tau
        t = np.arange(periods + 1) * tau
        linear = x0 * (1.0 - t / horizon)
        # sinh ratios lose all precision as kappa -> 0; the limit there is the straight line
        tiny = kappa * horizon < 1e-8
        k = np.where(tiny, 1.0, kappa)[:, None]
        curved = x0 * np.sinh(k * (horizon - t)) / np.sinh(k * horizon)
        holdings = np.where(tiny[:, None], linear[None, :], curved)
        holdings[:, -1] = 0.0
        trades = -np.diff(holdings, axis=1)
        expected = (0.5 * self.gamma * x0**2 + self.epsilon * np.abs(trades).sum(axis=1)
                    + eta_tilde / tau * (trades**2).sum(axis=1))
        variance = self.sigma**2 * tau * (holdings[:, 1:] ** 2).sum(axis=1)
        return t, holdings, trades, expected, variance, kappa, kappa_tilde, lam

    def kappa(self, horizon: float, periods: int) -> float:
        """Urgency kappa (1/day) of the optimal schedule at this object's risk aversion."""
        return float(self._solve(1.0, horizon, periods, self.risk_aversion)[5][0])

    def schedule(self, *, shares: float, horizon: float, periods: int) -> AlmgrenChrissSchedule:
        """Optimal schedule for liquidating ``shares`` over ``horizon`` days in ``periods`` steps."""
        t, h, n, e, v, k, kt, lam = self._solve(shares, horizon, periods, self.risk_aversion)
        return AlmgrenChrissSchedule(times=t, holdings=h[0], trades=n[0],
                                     expected_cost=float(e[0]), variance=float(v[0]),
                                     kappa=float(k[0]), kappa_tilde=float(kt[0]),
                                     risk_aversion=float(lam[0]))

    def efficient_frontier(self, *, shares: float, horizon: float, periods: int,
                           risk_aversions) -> EfficientFrontier:
        """E and V of the optimal schedule for each lambda in ``risk_aversions`` (1/$)."""
        _, _, _, e, v, k, _, lam = self._solve(shares, horizon, periods, risk_aversions)
        return EfficientFrontier(risk_aversion=lam, expected_cost=e, variance=v, kappa=k)
