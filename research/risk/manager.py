"""The risk manager the execution engine calls, in simulation and live alike.

    manager = RiskManager(load_settings().risk)   # the process's settings + GICS sector map
    manager.update(returns_window, weights, nav=1e7, as_of=timestamp)
    decision = manager.check_order("AAPL", "buy", 1_000, 185.0)
    snap = manager.snapshot()

``update`` does the heavy work once per bar — covariance (Ledoit–Wolf by default), mean,
correlation, VaR/CVaR at the configured confidence and horizon (and the Gaussian pair),
Euler contributions, every limit — and caches what a pre-trade check needs, so that
``check_order`` is a few scalar operations (no pandas, no matrix products).

Conventions: weights are signed fractions of NAV (cash is the remainder); returns are daily
simple returns, the last ``var_lookback_days`` rows are used; VaR and CVaR are positive
loss fractions of NAV at ``var_horizon_days`` (see :mod:`research.risk.tail_risk` for the
quantile and horizon conventions); volatility is the daily standard deviation (and ×√252
annualised).

Book VaR by method: ``historical``, ``cornish_fisher``, ``monte_carlo`` and ``fhs`` work on
the book's daily return series ``returns @ w`` (constant weights); ``gaussian`` uses the
covariance model (μ·h, σ_p = √(wᵀΣw)·√h), as does the ``var_gaussian`` field for every method.

Euler contributions follow the configured method: scenario Euler for ``historical``,
analytic for ``gaussian``; for ``cornish_fisher``, ``monte_carlo`` and ``fhs`` they are the
Gaussian shares applied to the method's total (an approximation, flagged in the snapshot).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from research.config import RiskLimits, RiskSettings
from research.domain import Side
from research.risk._validation import as_returns_matrix, as_weight_vector
from research.risk.alerts import AlertEvent, AlertManager
from research.risk.attribution import gaussian_components, volatility_components
from research.risk.budgets import DailyBudgetTracker
from research.risk.covariance import EWMACovariance, LedoitWolf, SampleCovariance
from research.risk.covariance._base import covariance_to_correlation
from research.risk.errors import InsufficientDataError, RiskInputError
from research.risk.limits import (
    LimitChecker,
    LimitStatus,
    PreTradeDecision,
    TargetDecision,
)
from research.risk.tail_risk import (
    TailRisk,
    horizon_returns,
    tail_scenarios,
    var_cvar,
)

TRADING_DAYS_PER_YEAR = 252


def _read_only(values: np.ndarray) -> np.ndarray:
    values = np.array(values, dtype=float)
    values.flags.writeable = False
    return values


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """The book's risk at one time. Arrays are read-only and aligned to ``symbols``."""

    as_of: datetime | date | None
    nav: float
    symbols: tuple[str, ...]
    weights: np.ndarray
    n_observations: int
    confidence: float
    horizon: int
    method: str
    scaling: str
    volatility: float  # daily sd, fraction of NAV
    volatility_annual: float  # volatility × √252
    var: float  # configured method, at the horizon
    cvar: float
    var_gaussian: float  # Gaussian from the covariance, at the horizon
    cvar_gaussian: float
    contributions_volatility: np.ndarray  # Euler, sums to volatility
    contributions_var: np.ndarray  # sums to var
    contributions_cvar: np.ndarray  # sums to cvar
    contributions_exact: bool  # False when method's contributions are Gaussian shares
    top_contributors: tuple[tuple[str, float], ...]  # by CVaR contribution, largest first
    limits: tuple[LimitStatus, ...]
    tail_factor: float  # var / var_gaussian, used by the pre-trade VaR check
    shrinkage: float | None  # Ledoit–Wolf intensity when that estimator is used
    daily_loss: float  # today's loss, fraction of the day's opening NAV
    daily_budget_usage: float  # daily risk budget used (incremental 1-day VaR of fills)

    @property
    def breaches(self) -> tuple[LimitStatus, ...]:
        return tuple(s for s in self.limits if s.breached)

    @property
    def limit_usage(self) -> dict[str, float]:
        return {str(s.kind): s.usage for s in self.limits}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (the CLI's ``--json`` output)."""
        return {
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "nav": self.nav,
            "n_observations": self.n_observations,
            "confidence": self.confidence,
            "horizon_days": self.horizon,
            "method": self.method,
            "scaling": self.scaling,
            "volatility_daily": self.volatility,
            "volatility_annual": self.volatility_annual,
            "var": self.var,
            "cvar": self.cvar,
            "var_gaussian": self.var_gaussian,
            "cvar_gaussian": self.cvar_gaussian,
            "tail_factor": self.tail_factor,
            "shrinkage": self.shrinkage,
            "daily_loss": self.daily_loss,
            "daily_budget_usage": self.daily_budget_usage,
            "weights": dict(zip(self.symbols, self.weights.tolist(), strict=True)),
            "contributions": {
                s: {"volatility": v, "var": a, "cvar": c}
                for s, v, a, c in zip(
                    self.symbols,
                    self.contributions_volatility.tolist(),
                    self.contributions_var.tolist(),
                    self.contributions_cvar.tolist(),
                    strict=True,
                )
            },
            "contributions_exact": self.contributions_exact,
            "top_contributors": [{"symbol": s, "cvar": v} for s, v in self.top_contributors],
            "limits": [
                {
                    "limit": str(s.kind),
                    "measured": s.measured,
                    "threshold": s.threshold,
                    "usage": s.usage,
                    "breached": s.breached,
                    "subject": s.subject,
                }
                for s in self.limits
            ],
        }


class RiskManager:
    """Risk model, limits, alerts and daily budget of one book.

    Parameters
    ----------
    settings : ``RiskSettings`` (default: its model defaults, the seed report's): limits,
        confidence, horizon, lookback, VaR method and scaling, covariance estimator, budgets,
        seed. The caller loads them (``load_settings().risk``); nothing is read here.
    sectors : symbol → sector (default ``research.data.sectors.GICS_SECTOR``). A symbol in
        the returns without a sector is an error at ``update``.
    limits : explicit :class:`~research.config.RiskLimits` (default: those of ``settings``).
    alerts : an :class:`AlertManager` fed with the limit statuses on every update.
    n_top : how many top contributors the snapshot lists.
    """

    def __init__(
        self,
        settings: Any = None,
        sectors: Mapping[str, str] | None = None,
        *,
        limits: RiskLimits | None = None,
        alerts: AlertManager | None = None,
        n_top: int = 5,
    ):
        if settings is None:
            settings = RiskSettings()
        if sectors is None:
            from research.data.sectors import GICS_SECTOR

            sectors = GICS_SECTOR
        self.settings = settings
        self.sectors = dict(sectors)
        self.limits = limits if limits is not None else settings
        self.alerts = alerts
        self.n_top = n_top
        self.confidence = float(settings.var_confidence)
        self.horizon = int(settings.var_horizon_days)
        self.lookback = int(settings.var_lookback_days)
        self.method = str(settings.var_method)
        self.scaling = str(settings.var_horizon_scaling)
        self.estimator = {
            "ledoit_wolf": LedoitWolf(),
            "sample": SampleCovariance(),
            "ewma": EWMACovariance(halflife=float(settings.ewma_halflife_days)),
        }[settings.covariance]
        self.daily_budget = DailyBudgetTracker(float(settings.daily_risk_budget))
        self._checker: LimitChecker | None = None
        self._snapshot: RiskSnapshot | None = None
        self._stale = True
        self.nav = 0.0
        self.as_of: datetime | date | None = None
        self._day: date | None = None
        self._day_start_nav: float | None = None
        self.last_alerts: list[AlertEvent] = []

    # ------------------------------------------------------------------ inputs
    @property
    def symbols(self) -> tuple[str, ...]:
        return () if self._checker is None else self._checker.symbols

    def _require_update(self) -> LimitChecker:
        if self._checker is None:
            raise RiskInputError("the risk manager has no risk model yet; call update() first")
        return self._checker

    def update(
        self,
        returns: Any,
        weights: Any = None,
        *,
        nav: float,
        symbols: Sequence[str] | None = None,
        as_of: datetime | date | None = None,
        day_start_nav: float | None = None,
        weights_sum: float | None = None,
    ) -> RiskSnapshot:
        """Refit the risk model on a returns window and re-measure the book.

        Parameters
        ----------
        returns : (n_days, n_assets) daily returns, a DataFrame (columns = symbols) or an
            array with ``symbols``. NaN is an error (fill or drop upstream, explicitly).
        weights : signed fractions of NAV, a mapping symbol → weight or an array aligned to
            the columns. ``None`` keeps the current book.
        nav : net asset value in dollars (> 0).
        as_of : time of the bar (default: last index label of a DataFrame).
        day_start_nav : the day's opening NAV for the daily-loss limit; default: the last
            NAV seen on an earlier date (or this one on the first update of the day).
        weights_sum : if given, the weights must add up to it (1e-6): e.g. 1.0 for a fully
            invested long-only book.
        """
        values, names = as_returns_matrix(returns)
        if names is None:
            if symbols is None:
                raise RiskInputError("returns given as an array need symbols=[...]")
            names = tuple(str(s) for s in symbols)
            if len(names) != values.shape[1]:
                raise RiskInputError(f"{len(names)} symbols for {values.shape[1]} return columns")
        if values.shape[0] > self.lookback:
            values = values[-self.lookback :]
        n_obs, n_assets = values.shape
        if n_obs <= n_assets:
            raise InsufficientDataError(
                f"{n_obs} observations for {n_assets} assets: the risk manager needs more "
                "observations than assets (historical VaR and correlations would rest on a "
                "rank-deficient sample)"
            )
        if not (math.isfinite(nav) and nav > 0):
            raise RiskInputError(f"nav must be a positive number of dollars, got {nav!r}")
        if as_of is None and hasattr(returns, "index") and len(returns.index):
            last = returns.index[-1]
            as_of = last if isinstance(last, date) else None

        checker = self._checker
        if checker is None or checker.symbols != names:
            previous = (
                None
                if checker is None
                else dict(zip(checker.symbols, checker.weights, strict=True))
            )
            checker = LimitChecker(
                names, self.sectors, self.limits, confidence=self.confidence, horizon=self.horizon
            )
            if weights is None and previous:
                weights = {s: w for s, w in previous.items() if s in names and w != 0.0}
                dropped = sorted(s for s, w in previous.items() if s not in names and w != 0.0)
                if dropped:
                    raise RiskInputError(
                        f"held symbol(s) {dropped} missing from the returns window"
                    )
        vector = (
            checker.weights
            if weights is None
            else as_weight_vector(weights, names, n_assets, declared_sum=weights_sum)
        )

        self._track_day(as_of, nav, day_start_nav)
        self.nav, self.as_of = float(nav), as_of
        self._values = values
        self._checker = checker
        fitted = self.estimator.fit(values)
        self._covariance = fitted.covariance_
        self._mean = values.mean(axis=0)
        self._correlation = covariance_to_correlation(self._covariance, names)
        checker.set_risk_model(self._covariance, self._mean, self._correlation, weights=vector)
        self._stale = True
        return self.snapshot()

    def _track_day(
        self, as_of: datetime | date | None, nav: float, day_start_nav: float | None
    ) -> None:
        if as_of is not None:
            today = as_of.date() if isinstance(as_of, datetime) else as_of
            if self._day is None or today != self._day:
                self._day_start_nav = self.nav if self._day is not None and self.nav > 0 else nav
                self._day = today
            self.daily_budget.observe(today)
        elif self._day_start_nav is None:
            self._day_start_nav = nav
        if day_start_nav is not None:
            self.set_day_start_nav(day_start_nav)

    def set_day_start_nav(self, nav: float) -> None:
        """Measure the day's loss against ``nav`` from now on: for a caller that knows the
        day's opening NAV better than the day's first refit did (a process started after the
        open reconstructs it; the broker's NAV at that refit holds the day's move already)."""
        if not (math.isfinite(nav) and nav > 0):
            raise RiskInputError(f"day_start_nav must be positive, got {nav!r}")
        self._day_start_nav = float(nav)

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> RiskSnapshot:
        """The current :class:`RiskSnapshot` (recomputed only after update or a fill)."""
        checker = self._require_update()
        if not self._stale and self._snapshot is not None:
            return self._snapshot
        w = checker.weights
        values, covariance, mean = self._values, self._covariance, self._mean
        horizon, confidence = self.horizon, self.confidence
        sqrt_h = math.sqrt(horizon)

        volatility, vol_parts = volatility_components(w, covariance)
        var_g, var_g_parts = gaussian_components(w, covariance, mean, confidence, horizon, "var")
        cvar_g, cvar_g_parts = gaussian_components(w, covariance, mean, confidence, horizon, "cvar")
        exact = True
        if self.method == "historical":
            scenarios = values if self.scaling == "sqrt" else horizon_returns(values, horizon)
            scale = sqrt_h if self.scaling == "sqrt" else 1.0
            var_index, tail, tail_weights = tail_scenarios(scenarios @ w, confidence)
            var_parts = -w * scenarios[var_index] * scale
            cvar_parts = -w * (tail_weights @ scenarios[tail]) * scale
        elif self.method == "gaussian":
            var_parts, cvar_parts = var_g_parts, cvar_g_parts
        else:
            exact = False
            risk = var_cvar(
                values @ w,
                confidence,
                self.method,  # type: ignore[arg-type]
                horizon,
                scaling=self.scaling,  # type: ignore[arg-type]
                n_paths=int(self.settings.mc_paths),
                seed=int(self.settings.seed),
            )
            var_parts = var_g_parts * (risk.var / var_g) if var_g else np.zeros_like(w)
            cvar_parts = cvar_g_parts * (risk.cvar / cvar_g) if cvar_g else np.zeros_like(w)
        var_total, cvar_total = float(var_parts.sum()), float(cvar_parts.sum())

        tail_factor = var_total / var_g if var_total > 0.0 and var_g > 0.0 else 1.0
        checker.set_tail_factor(tail_factor)
        checker.set_daily_loss(self._daily_loss())
        statuses = checker.evaluate(var_total)

        order = np.argsort(-cvar_parts, kind="stable")[: self.n_top]
        symbols = checker.symbols
        snap = RiskSnapshot(
            as_of=self.as_of,
            nav=self.nav,
            symbols=symbols,
            weights=_read_only(w),
            n_observations=values.shape[0],
            confidence=confidence,
            horizon=horizon,
            method=self.method,
            scaling=self.scaling,
            volatility=volatility,
            volatility_annual=volatility * math.sqrt(TRADING_DAYS_PER_YEAR),
            var=var_total,
            cvar=cvar_total,
            var_gaussian=var_g,
            cvar_gaussian=cvar_g,
            contributions_volatility=_read_only(vol_parts),
            contributions_var=_read_only(var_parts),
            contributions_cvar=_read_only(cvar_parts),
            contributions_exact=exact,
            top_contributors=tuple(
                (symbols[i], float(cvar_parts[i])) for i in order if w[i] != 0.0
            ),
            limits=statuses,
            tail_factor=tail_factor,
            shrinkage=getattr(self.estimator, "shrinkage_", None),
            daily_loss=checker.daily_loss,
            daily_budget_usage=self.daily_budget.usage,
        )
        self._snapshot, self._stale = snap, False
        if self.alerts is not None:
            now = self.as_of if isinstance(self.as_of, datetime) else None
            self.last_alerts = self.alerts.process(statuses, now=now)
        return snap

    def one_day_risk(self) -> TailRisk:
        """VaR and CVaR of the current book at a 1-day horizon, from the same fitted window and
        the configured method — what a daily VaR backtest compares with a session's P&L.

        Exact for every method, not the horizon figure divided by √h: ``historical`` is the
        order statistic of the book's daily returns (at h = 1 both scalings coincide),
        ``gaussian`` the covariance model at h = 1 (μ, √(wᵀΣw)), ``cornish_fisher``,
        ``monte_carlo`` and ``fhs`` the method itself on the book's daily return series at
        h = 1 (simulations with the settings' paths and seed). An empty book risks nothing."""
        checker = self._require_update()
        w = checker.weights
        method, confidence = self.method, self.confidence
        if not w.any():
            return TailRisk(0.0, 0.0, confidence, 1, method, self.scaling, self._values.shape[0])
        if method == "gaussian":
            var_1d, _ = gaussian_components(w, self._covariance, self._mean, confidence, 1, "var")
            cvar_1d, _ = gaussian_components(
                w, self._covariance, self._mean, confidence, 1, "cvar"
            )
            return TailRisk(
                var_1d, cvar_1d, confidence, 1, method, self.scaling, self._values.shape[0]
            )
        return var_cvar(
            self._values @ w,
            confidence,
            method,  # type: ignore[arg-type]
            1,
            scaling=self.scaling,  # type: ignore[arg-type]
            n_paths=int(self.settings.mc_paths),
            seed=int(self.settings.seed),
        )

    def _daily_loss(self) -> float:
        start = self._day_start_nav
        return 0.0 if not start else 1.0 - self.nav / start

    @property
    def correlation(self) -> np.ndarray:
        """The refit's correlation matrix, in :attr:`symbols` order."""
        self._require_update()
        return self._correlation

    @property
    def day_start_nav(self) -> float | None:
        """The NAV the day's loss is measured against (the day's first refit, unless
        :meth:`set_day_start_nav` restated it)."""
        return self._day_start_nav

    def mark(self, weights: Any, nav: float) -> None:
        """The book marked to market between refits: its current weights and NAV. The daily
        loss (against the day's opening NAV) follows, so the daily-loss limit acts intraday;
        the risk model (covariance, mean) stays the refit's."""
        checker = self._require_update()
        if not (math.isfinite(nav) and nav > 0):
            raise RiskInputError(f"mark: nav must be positive dollars, got {nav!r}")
        self.nav = float(nav)
        checker.set_weights(weights)
        checker.set_daily_loss(self._daily_loss())
        self._stale = True

    # ------------------------------------------------------------------ pre-trade
    def check_order(
        self, symbol: str, side: Side | str, quantity: int, price: float,
        working_notional: Mapping[str, float] | None = None,
    ) -> PreTradeDecision:
        """Approve, trim (largest compliant whole-share quantity) or reject one order.

        O(1) on cached state (O(n) with ``working_notional``: other symbols' working orders in
        signed dollars, counted as filled by the sector, gross and net limits where they add
        exposure): fills since the last snapshot are in the book; the tail factor of the
        pre-trade VaR is the one of the last snapshot.
        """
        return self._require_update().check_order(symbol, side, quantity, price, self.nav,
                                                  working_notional)

    def limit_statuses(self) -> tuple[LimitStatus, ...]:
        """Every limit measured on the current book (as marked): O(n) on cached state, for
        recording each limit's usage through time."""
        return self._require_update().evaluate()

    def check_target(self, target_weights: Any) -> TargetDecision:
        """Largest compliant fraction of the move from the current book to a target."""
        return self._require_update().check_target(target_weights)

    def on_fill(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        price: float,
        when: datetime | date | None = None,
    ) -> None:
        """Apply a fill to the book (NAV unchanged: cash for stock) and charge the daily
        risk budget with the fill's incremental 1-day Gaussian VaR when it adds risk."""
        checker = self._require_update()
        side = side if isinstance(side, Side) else Side.parse(side)
        if symbol not in checker.symbols:
            raise RiskInputError(f"fill in {symbol!r}, which the risk model does not cover")
        if not (quantity > 0 and price > 0):
            raise RiskInputError(f"fill in {symbol!r}: quantity and price must be positive")
        if when is None and self.as_of is None:
            raise RiskInputError(
                f"fill in {symbol!r} has no time and the manager no as_of: the daily risk "
                "budget cannot tell which day to charge; pass when="
            )
        before = self._one_day_var(checker.weights)
        weights = checker.weights.copy()
        weights[checker.symbols.index(symbol)] += side.sign * quantity * price / self.nav
        checker.set_weights(weights)
        added = self._one_day_var(weights) - before
        self.daily_budget.charge(
            max(added, 0.0), when if when is not None else self.as_of, key=symbol
        )
        self._stale = True

    def _one_day_var(self, weights: np.ndarray) -> float:
        value, _ = gaussian_components(
            weights, self._covariance, self._mean, self.confidence, 1, "var"
        )
        return value
