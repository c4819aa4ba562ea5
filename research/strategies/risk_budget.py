"""Risk parity and risk budgets: the cvxpy risk-budget solver of :mod:`research.risk.budgets`
(Spinu 2013) on the Ledoit-Wolf covariance of the past window, as a portfolio strategy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from research.estimator import ParamsMixin
from research.risk import risk_budget_weights
from research.risk.covariance import ledoit_wolf_shrunk
from research.strategies._history import closes_before, complete_returns


class RiskBudget(ParamsMixin):
    """Long-only weights whose shares of portfolio volatility are the ``budgets``.

    ``budgets`` (symbol -> positive budget; None = equal, i.e. risk parity) are renormalised
    over the names with a full ``lookback_days`` window before the decision; a name without
    one, or without a budget when budgets are given, gets weight 0. The covariance is the
    Ledoit-Wolf shrinkage estimate of the window's daily simple returns.

    Attributes after :meth:`fit`: ``weights_``, ``contributions_`` (volatility shares).
    """

    def __init__(self, budgets: Mapping[str, float] | None = None, lookback_days: int = 63):
        self.budgets = budgets
        self.lookback_days = lookback_days

    @property
    def history_sessions(self) -> int:
        """Closes a decision reads (the trading loop hands it no more)."""
        return self.lookback_days + 1

    def fit(self, closes: pd.DataFrame) -> RiskBudget:
        """Learn from ``closes`` as given (the caller passes only past data)."""
        self.weights_, self.contributions_ = self._compute(closes)
        return self

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        """Weights for a decision on ``asof``'s date, from closes strictly before it (pure)."""
        return self._compute(closes_before(closes, asof))[0]

    def _compute(self, closes: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        if not isinstance(self.lookback_days, int | np.integer) or self.lookback_days < 2:
            raise ValueError(f"risk_budget: lookback_days must be an integer >= 2, got "
                             f"{self.lookback_days!r}")
        if self.budgets is not None:
            bad = {s: b for s, b in self.budgets.items() if not b > 0}
            if bad:
                raise ValueError(f"risk_budget: budgets must be > 0, got {bad}")
            unknown = sorted(set(self.budgets) - set(closes.columns))
            if unknown:
                raise ValueError(f"risk_budget: budgets for {unknown}, not in the universe")
        budgeted = np.array([self.budgets is None or s in self.budgets for s in closes.columns])
        returns, complete = complete_returns(closes.loc[:, budgeted], self.lookback_days,
                                             "risk_budget")
        names = closes.columns[budgeted][complete]
        shrunk, _ = ledoit_wolf_shrunk(returns - returns.mean(axis=0))
        b = (None if self.budgets is None else
             np.array([self.budgets[s] for s in names], dtype=float))
        result = risk_budget_weights(shrunk, None if b is None else b / b.sum(),
                                     names=list(names))
        weights = pd.Series(0.0, index=closes.columns, name="weight")
        weights[names] = result.weights
        shares = pd.Series(0.0, index=closes.columns, name="volatility_share")
        shares[names] = result.relative_contributions
        return weights, shares
