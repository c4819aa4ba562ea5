"""Risk budgets: risk-parity / risk-budget weights, budget allocation, daily usage tracking.

Risk-budget weights (Spinu 2013): the long-only weights whose volatility contributions
w_i (Σw)_i / σ_p are the fractions b_i of σ_p solve the strictly convex problem

    y* = argmin_{y > 0}  ½ yᵀΣy − Σ_i b_i log y_i,      w = y* / Σ_i y*_i

(first-order condition (Σy)_i = b_i / y_i, i.e. y_i (Σy)_i = b_i). It is solved with cvxpy
(CLARABEL by default) on Σ rescaled to unit mean variance — the scale does not change the
normalised weights but keeps the solver well conditioned for daily-return covariances of
order 1e-4. Interior-point accuracy alone leaves contributions off their budgets by up to
~1e-6, so the solver's point is polished with a few Newton steps on the first-order
condition (quadratic convergence from a point that close); the result is refused if the
contributions still miss their budgets by more than 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from research.risk._validation import as_weight_vector
from research.risk.covariance import cholesky_or_raise
from research.risk.errors import RiskInputError

#: Tight but attainable CLARABEL tolerances (1e-12 sometimes ends "optimal_inaccurate").
_CLARABEL_TOLERANCES = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
_MAX_BUDGET_ERROR = 1e-9


@dataclass(frozen=True, slots=True)
class RiskBudgetResult:
    """Weights (sum to 1, long only) and their volatility contributions."""

    weights: np.ndarray
    budgets: np.ndarray
    relative_contributions: np.ndarray  # w_i (Σw)_i / σ_p², sums to 1, ≈ budgets
    volatility: float  # σ_p of the weights, daily if Σ is daily
    solver_status: str
    names: tuple[str, ...] | None = None
    newton_steps: int = 0

    @property
    def max_budget_error(self) -> float:
        return float(np.max(np.abs(self.relative_contributions - self.budgets)))

    def as_dict(self) -> dict[str, float]:
        labels = self.names or tuple(str(i) for i in range(self.weights.shape[0]))
        return dict(zip(labels, self.weights.tolist(), strict=True))


def _budget_vector(
    budgets: Any, names: Sequence[str] | None, n_assets: int, *, what: str = "budgets"
) -> np.ndarray:
    vector = as_weight_vector(budgets, names, n_assets, name=what, declared_sum=1.0)
    if np.any(vector <= 0.0):
        bad = int(np.flatnonzero(vector <= 0.0)[0])
        label = names[bad] if names is not None else bad
        raise RiskInputError(
            f"{what} must be positive for every asset; {label!r} has {vector[bad]}"
        )
    return vector


def risk_budget_weights(
    covariance: Any,
    budgets: Any = None,
    *,
    names: Sequence[str] | None = None,
    solver: str = "CLARABEL",
) -> RiskBudgetResult:
    """Long-only weights whose volatility contributions are ``budgets`` (fractions, sum 1).

    ``budgets`` defaults to equal budgets (risk parity). The covariance must be positive
    definite (a singular one is an error naming the culprit asset).
    """
    import cvxpy as cp

    matrix = np.asarray(covariance, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise RiskInputError(f"covariance must be square, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise RiskInputError("covariance contains NaN/inf")
    n_assets = matrix.shape[0]
    if names is not None and len(names) != n_assets:
        raise RiskInputError(f"{len(names)} names for {n_assets} assets")
    b = (
        np.full(n_assets, 1.0 / n_assets)
        if budgets is None
        else _budget_vector(budgets, names, n_assets)
    )
    scaled = matrix / float(np.mean(np.diag(matrix)))
    factor = cholesky_or_raise(scaled, names, purpose="risk budgeting")

    y = cp.Variable(n_assets)
    objective = cp.Minimize(0.5 * cp.sum_squares(factor.T @ y) - b @ cp.log(y))
    problem = cp.Problem(objective)
    options = _CLARABEL_TOLERANCES if solver == "CLARABEL" else {}
    problem.solve(solver=solver, **options)
    if problem.status not in ("optimal", "optimal_inaccurate") or y.value is None:
        raise RiskInputError(f"risk-budget solver {solver} failed: status {problem.status}")
    polished, steps = _newton_polish(scaled, b, np.asarray(y.value, dtype=float))
    weights = polished / polished.sum()
    marginal = matrix @ weights
    variance = float(weights @ marginal)
    shares = weights * marginal / variance
    error = float(np.max(np.abs(shares - b)))
    if error > _MAX_BUDGET_ERROR:
        raise RiskInputError(
            f"risk-budget weights miss their budgets by {error:.2g} (solver status "
            f"{problem.status}); the covariance may be badly conditioned"
        )
    return RiskBudgetResult(
        weights=weights,
        budgets=b,
        relative_contributions=shares,
        volatility=math.sqrt(variance),
        solver_status=str(problem.status),
        names=None if names is None else tuple(names),
        newton_steps=steps,
    )


def _newton_polish(
    covariance: np.ndarray, budgets: np.ndarray, start: np.ndarray, max_steps: int = 20
) -> tuple[np.ndarray, int]:
    """Newton's method on Σy − b/y = 0 (the problem's gradient), keeping y > 0."""
    y = np.where(start > 0, start, np.sqrt(budgets / np.diag(covariance)))
    for step in range(max_steps):
        gradient = covariance @ y - budgets / y
        if np.max(np.abs(gradient * y)) < 1e-15:
            return y, step
        hessian = covariance + np.diag(budgets / (y * y))
        delta = np.linalg.solve(hessian, gradient)
        shrink = 1.0
        while np.any(y - shrink * delta <= 0):  # stay inside the log barrier's domain
            shrink *= 0.5
        y = y - shrink * delta
    return y, max_steps


def risk_parity_weights(
    covariance: Any, *, names: Sequence[str] | None = None, solver: str = "CLARABEL"
) -> RiskBudgetResult:
    """Equal-risk-contribution weights (every position carries 1/n of the volatility)."""
    return risk_budget_weights(covariance, None, names=names, solver=solver)


# --------------------------------------------------------------------------- allocation
@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """Risk used against risk allocated, per budget holder (position or strategy)."""

    names: tuple[str, ...]
    allocated: np.ndarray
    used: np.ndarray

    @property
    def usage(self) -> np.ndarray:
        """used / allocated (1.0 = budget exactly consumed)."""
        return self.used / self.allocated

    @property
    def breached(self) -> tuple[str, ...]:
        return tuple(n for n, u in zip(self.names, self.usage, strict=True) if u > 1.0)

    @property
    def total_used(self) -> float:
        return float(self.used.sum())


def allocate_risk_budget(total_budget: float, shares: Mapping[str, float]) -> dict[str, float]:
    """Split a total VaR or volatility budget (fraction of NAV) by ``shares`` summing to 1."""
    if not (math.isfinite(total_budget) and total_budget > 0):
        raise RiskInputError(f"total budget must be positive, got {total_budget!r}")
    names = tuple(shares)
    vector = _budget_vector(shares, names, len(names), what="budget shares")
    return dict(zip(names, (total_budget * vector).tolist(), strict=True))


def budget_usage(
    contributions: Mapping[str, float],
    allocation: Mapping[str, float],
    groups: Mapping[str, str] | None = None,
) -> BudgetUsage:
    """Compare Euler risk contributions (by position) with an allocation.

    With ``groups`` (position → strategy) contributions are summed per strategy first; a
    position without a group, or a holder without an allocation, is an error rather than
    risk that silently escapes its budget.
    """
    used: dict[str, float] = {name: 0.0 for name in allocation}
    for position, value in contributions.items():
        holder = position
        if groups is not None:
            if position not in groups:
                raise RiskInputError(f"position {position!r} belongs to no strategy in groups")
            holder = groups[position]
        if holder not in used:
            raise RiskInputError(f"{holder!r} carries risk but has no budget allocated")
        used[holder] += float(value)
    allocated = np.array([float(allocation[n]) for n in used])
    if np.any(allocated <= 0.0):
        raise RiskInputError("every allocated budget must be positive")
    return BudgetUsage(tuple(used), allocated, np.array(list(used.values())))


# --------------------------------------------------------------------------- daily tracking
def _day(when: date | datetime) -> date:
    return when.date() if isinstance(when, datetime) else when


@dataclass
class DailyBudgetTracker:
    """Accumulates risk charged against a daily budget; the count restarts on a new date.

    ``budget`` and the charges are fractions of NAV (e.g. incremental 1-day VaR of each
    fill, or realised losses). Charges are non-negative: usage only accumulates within a
    day. A timestamp earlier than the current day is an error (a clock going backwards
    would otherwise re-open a spent budget).
    """

    budget: float
    day: date | None = None
    used: float = 0.0
    by_key: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.budget) and self.budget > 0):
            raise RiskInputError(f"daily budget must be positive, got {self.budget!r}")

    def _roll(self, when: date | datetime) -> None:
        today = _day(when)
        if self.day is None or today > self.day:
            self.day, self.used, self.by_key = today, 0.0, {}
        elif today < self.day:
            raise RiskInputError(
                f"budget charge dated {today} after the tracker reached {self.day}"
            )

    def charge(self, amount: float, when: date | datetime, key: str = "portfolio") -> float:
        """Add ``amount`` of usage at ``when``; returns the day's usage fraction afterwards."""
        if not (math.isfinite(amount) and amount >= 0.0):
            raise RiskInputError(f"budget charge must be a non-negative number, got {amount!r}")
        self._roll(when)
        self.used += amount
        self.by_key[key] = self.by_key.get(key, 0.0) + amount
        return self.usage

    def observe(self, when: date | datetime) -> None:
        """Advance the clock without charging (resets the count on a new date)."""
        self._roll(when)

    @property
    def usage(self) -> float:
        return self.used / self.budget

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget - self.used)

    @property
    def breached(self) -> bool:
        return self.used > self.budget
