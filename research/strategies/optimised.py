"""Optimised portfolios: minimum variance, mean-variance and maximum Sharpe on the Ledoit-Wolf
covariance, long only and fully invested, with the run config's position and sector limits as
constraints and a turnover penalty — one convex programme per universe, solved with cvxpy.

Per decision (closes strictly before it; h = ``horizon_days``, the holding period):

* Sigma: Ledoit-Wolf shrinkage covariance of the last ``lookback_days`` daily simple returns
  (:func:`research.risk.covariance.ledoit_wolf_shrunk`), times h; mu (mean_variance and
  max_sharpe): the mean daily return over ``return_lookback_days``, times h — a naive
  estimate, noisy enough that results with it must say so. A name without a full window gets
  an upper bound of 0 (not held).
* Turnover penalty: sum_i c_i |w_i - w0_i| with w0 the current weights (zero when not given:
  from cash the penalty is the constant c'w and changes nothing) and c_i the cost of trading
  one unit of weight, as a fraction: the caller's per-name estimate (``trade_cost_bps``, from
  the pre-trade cost model) or the flat ``turnover_cost_bps``.
* min_variance:  minimise w'Sigma w + c'|w - w0|
* mean_variance: maximise mu'w - gamma/2 w'Sigma w - c'|w - w0|
* max_sharpe:    maximise (mu'w - c'|w - w0|) / sqrt(w'Sigma w), the Sharpe ratio net of the
  rebalance's cost, by the Cornuejols-Tutuncu homogenisation (Optimization Methods in
  Finance, 2007, s. 8.2): with y = kappa w, kappa > 0, minimise y'Sigma y subject to
  mu'y - c'|y - kappa w0| >= 1, sum y = kappa, 0 <= y <= cap kappa, sector sums <= cap
  kappa; then w = y / kappa. A convex QP, exact for the ratio. When no portfolio has a
  positive net expected return the ratio has no positive maximum and the programme is
  infeasible: the target is then the minimum-variance portfolio (recorded in the returned
  weights' ``attrs["fallback"]``).

Constraints (every objective): w >= 0, sum w = 1, w_i <= max_position_weight, each sector's
sum <= max_sector_weight (sectors from ``sectors``; a symbol without one is its own sector).
A universe that cannot satisfy them (too few names with data for the caps) is an error naming
the caps, never a silently levered or cash-holding target.

Speed: the problem is built once per universe with cvxpy Parameters (DPP: the covariance
enters as its Cholesky factor F, ||F w||^2, so each parameter multiplies a parameter-free
expression) and re-solved with new values, skipping cvxpy's canonicalisation; the absolute
value is an auxiliary t >= +-(w - w0) so the per-name cost c stays a parameter. Sigma, mu and
c are all multiplied by 1 / mean(diag Sigma) before the solve (the same optimum, O(1) numbers
for the solver).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from research.estimator import ParamsMixin
from research.risk.covariance import ledoit_wolf_shrunk
from research.strategies._history import closes_before, complete_returns

OBJECTIVES = ("min_variance", "mean_variance", "max_sharpe")
#: Sessions in a holding period of each rebalance frequency (the covariance and mean are
#: scaled to it, so the turnover cost, paid once per rebalance, is weighed against the risk
#: and return of the period it buys).
HORIZON_DAYS = {"daily": 1, "weekly": 5, "monthly": 21}


class _Programme:
    """The cvxpy problem of one universe and objective, its Parameters set per decision."""

    def __init__(self, n: int, objective: str, sector_matrix: np.ndarray,
                 position_cap: float, sector_cap: float, risk_aversion: float):
        import cvxpy as cp

        self.factor = cp.Parameter((n, n))          # F with F'F = Sigma
        self.upper = cp.Parameter(n, nonneg=True)   # cap, 0 for a name without data
        self.current = cp.Parameter(n, nonneg=True)  # w0
        self.cost = cp.Parameter(n, nonneg=True)    # c, fraction per unit of weight
        self.mu = cp.Parameter(n)
        t = cp.Variable(n, nonneg=True)
        self.objective = objective
        if objective == "max_sharpe":
            y = cp.Variable(n, nonneg=True)
            kappa = cp.Variable(nonneg=True)
            constraints = [t >= y - kappa * self.current, t >= kappa * self.current - y,
                           self.mu @ y - self.cost @ t >= 1, cp.sum(y) == kappa,
                           y <= kappa * self.upper, sector_matrix @ y <= sector_cap * kappa]
            self.problem = cp.Problem(cp.Minimize(cp.sum_squares(self.factor @ y)), constraints)
            self.weights, self.scale = y, kappa
            return
        w = cp.Variable(n, nonneg=True)
        penalty = self.cost @ t
        risk = cp.sum_squares(self.factor @ w)
        goal = (risk + penalty if objective == "min_variance"
                else -(self.mu @ w) + 0.5 * risk_aversion * risk + penalty)
        constraints = [t >= w - self.current, t >= self.current - w, cp.sum(w) == 1,
                       w <= self.upper, sector_matrix @ w <= sector_cap]
        self.problem = cp.Problem(cp.Minimize(goal), constraints)
        self.weights, self.scale = w, None
        del position_cap  # the cap enters through ``upper`` (0 where a name has no data)

    def solve(self) -> np.ndarray | None:
        """Weights, or None when the programme is infeasible (max_sharpe: no positive net
        expected return)."""
        self.problem.solve(solver="CLARABEL", warm_start=True)
        if self.problem.status in ("infeasible", "infeasible_inaccurate"):
            return None
        if self.problem.status not in ("optimal", "optimal_inaccurate"):
            raise ValueError(f"optimised: the solver ended with status {self.problem.status}")
        w = np.asarray(self.weights.value, dtype=float)
        if self.scale is not None:
            w = w / float(self.scale.value)
        return w


class OptimisedPortfolio(ParamsMixin):
    """Long-only, fully invested weights from a convex programme (see the module docstring).

    Parameters: ``objective`` (min_variance, mean_variance, max_sharpe), ``lookback_days``
    (covariance window), ``return_lookback_days`` (mean window), ``risk_aversion`` (gamma of
    mean_variance), ``turnover_cost_bps`` (flat cost per unit of weight traded),
    ``max_position_weight``, ``max_sector_weight``, ``sectors`` (symbol -> sector),
    ``horizon_days`` (holding period, sessions).

    Attributes after :meth:`fit`: ``weights_``, ``covariance_`` (daily, the names with data).
    """

    takes_current_weights = True  # the trading loop passes the book for the turnover penalty

    def __init__(self, objective: str = "min_variance", lookback_days: int = 252,
                 return_lookback_days: int = 252, risk_aversion: float = 5.0,
                 turnover_cost_bps: float = 10.0, max_position_weight: float = 0.10,
                 max_sector_weight: float = 0.30, sectors: Mapping[str, str] | None = None,
                 horizon_days: int = 21):
        self.objective = objective
        self.lookback_days = lookback_days
        self.return_lookback_days = return_lookback_days
        self.risk_aversion = risk_aversion
        self.turnover_cost_bps = turnover_cost_bps
        self.max_position_weight = max_position_weight
        self.max_sector_weight = max_sector_weight
        self.sectors = sectors
        self.horizon_days = horizon_days

    @property
    def history_sessions(self) -> int:
        """Closes a decision reads (the trading loop hands it no more)."""
        return max(self.lookback_days, self._mean_days()) + 1

    def _mean_days(self) -> int:
        return self.return_lookback_days if self.objective != "min_variance" else 0

    def fit(self, closes: pd.DataFrame, current_weights: pd.Series | None = None,
            trade_cost_bps: pd.Series | None = None) -> OptimisedPortfolio:
        """Learn from ``closes`` as given (the caller passes only past data)."""
        self.weights_ = self._compute(closes, current_weights, trade_cost_bps)
        return self

    def target_weights(self, closes: pd.DataFrame, asof, current_weights: pd.Series | None = None,
                       trade_cost_bps: pd.Series | None = None) -> pd.Series:
        """Weights for a decision on ``asof``'s date from closes strictly before it, given the
        book's ``current_weights`` and each name's ``trade_cost_bps`` (optional, by symbol)."""
        return self._compute(closes_before(closes, asof), current_weights, trade_cost_bps)

    # ------------------------------------------------------------------ internals
    def _check(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"optimised: objective must be one of {OBJECTIVES}, got "
                             f"{self.objective!r}")
        for name in ("lookback_days", "return_lookback_days", "horizon_days"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 2 - (name == "horizon_days"):
                raise ValueError(f"optimised: {name} must be an integer >= "
                                 f"{2 - (name == 'horizon_days')}, got {value!r}")
        for name in ("max_position_weight", "max_sector_weight"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"optimised: {name} must be in (0, 1], got "
                                 f"{getattr(self, name)}")
        if not self.turnover_cost_bps >= 0 or not self.risk_aversion > 0:
            raise ValueError("optimised: turnover_cost_bps must be >= 0 and risk_aversion > 0")

    def _programme(self, symbols: tuple[str, ...]) -> tuple[_Programme, np.ndarray]:
        key = (symbols, self.objective, self.max_position_weight, self.max_sector_weight,
               self.risk_aversion, id(self.sectors))
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        table = self.sectors or {}
        labels = [table.get(s, s) for s in symbols]
        names = sorted(set(labels))
        matrix = np.array([[lab == sec for lab in labels] for sec in names], dtype=float)
        programme = _Programme(len(symbols), self.objective, matrix, self.max_position_weight,
                               self.max_sector_weight, self.risk_aversion)
        self._cache = (key, programme, matrix)  # a compiled problem, not learned state
        return programme, matrix

    def _feasible_or_raise(self, available: np.ndarray, matrix: np.ndarray,
                           symbols: tuple[str, ...]) -> None:
        room = float(np.minimum(self.max_sector_weight,
                                self.max_position_weight * (matrix @ available)).sum())
        if room < 1.0 - 1e-9:
            without = [s for s, a in zip(symbols, available, strict=True) if not a]
            why = (f"; without a full lookback of closes: {', '.join(without[:5])}"
                   f"{f' and {len(without) - 5} more' if len(without) > 5 else ''} (not "
                   "listed yet, a gap, or not yet covered by the trading loop's risk model)"
                   if without else "")
            raise ValueError(
                f"optimised: {int(available.sum())} name(s) with data can hold at most "
                f"{room:.0%} of NAV under max_position_weight {self.max_position_weight} and "
                f"max_sector_weight {self.max_sector_weight}: a fully invested target is "
                f"impossible (add names, raise the limits or start later){why}")

    def _compute(self, closes: pd.DataFrame, current: pd.Series | None,
                 trade_cost_bps: pd.Series | None) -> pd.Series:
        self._check()
        symbols = tuple(closes.columns)
        window = max(self.lookback_days, self._mean_days())
        _, available = complete_returns(closes, window, "optimised")
        cov_returns, _ = complete_returns(closes.loc[:, available], self.lookback_days,
                                          "optimised")
        programme, matrix = self._programme(symbols)
        self._feasible_or_raise(available.astype(float), matrix, symbols)
        n = len(symbols)
        shrunk, _ = ledoit_wolf_shrunk(cov_returns - cov_returns.mean(axis=0))
        self.covariance_ = shrunk
        sigma = np.diag(np.full(n, float(np.mean(np.diag(shrunk)))))  # names without data
        sigma[np.ix_(available, available)] = shrunk
        sigma *= self.horizon_days
        # every term of the objective is multiplied by one positive number, so the optimum
        # does not move, but the interior-point solver works on O(1) values instead of daily
        # variances of ~1e-4, whose tiny optimal objective it would stop short of
        scale = 1.0 / float(np.mean(np.diag(sigma)))
        programme.factor.value = np.linalg.cholesky(sigma * scale).T
        programme.upper.value = np.where(available, self.max_position_weight, 0.0)
        w0 = np.zeros(n) if current is None else (
            current.reindex(list(symbols)).fillna(0.0).clip(lower=0.0).to_numpy(float))
        programme.current.value = w0
        cost = (np.full(n, float(self.turnover_cost_bps)) if trade_cost_bps is None else
                trade_cost_bps.reindex(list(symbols)).fillna(self.turnover_cost_bps)
                .clip(lower=0.0).to_numpy(float))
        programme.cost.value = cost / 1e4 * scale
        mu = np.zeros(n)
        if self.objective != "min_variance":
            mean_returns, _ = complete_returns(closes.loc[:, available],
                                               self.return_lookback_days, "optimised")
            mu[available] = mean_returns.mean(axis=0) * self.horizon_days
        programme.mu.value = mu * scale
        weights = programme.solve()
        fallback = weights is None
        if fallback:  # max_sharpe with no positive net expected return: least risk instead
            weights = self._min_variance_fallback(symbols, programme)
        weights = np.clip(weights, 0.0, None)
        weights[~available] = 0.0
        out = pd.Series(weights / weights.sum(), index=closes.columns, name="weight")
        out.attrs["fallback"] = "min_variance" if fallback else None
        return out

    def _min_variance_fallback(self, symbols: tuple[str, ...], source: _Programme) -> np.ndarray:
        helper = getattr(self, "_fallback", None)
        if helper is None or helper.get_params() != {**self.get_params(),
                                                     "objective": "min_variance"}:
            helper = OptimisedPortfolio(**{**self.get_params(), "objective": "min_variance"})
            self._fallback = helper  # built once, like the main programme
        programme, _ = helper._programme(symbols)
        for name in ("factor", "upper", "current", "cost", "mu"):
            getattr(programme, name).value = getattr(source, name).value
        weights = programme.solve()
        if weights is None:
            raise ValueError("optimised: the minimum-variance programme is infeasible")
        return weights
