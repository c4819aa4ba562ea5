"""The risk-limits study: a run config replayed twice over the same daily bars — once with its
limits, once with every threshold wide — through the loop, risk manager and simulated broker
``qlab backtest`` uses (:func:`sim.backtest_data.run_config_backtest`). The report
(:mod:`sim.risk_limits_report`) reads the pair.

"Limits off" is the same config with each threshold set where it cannot bind (position,
sector and VaR at 100% of NAV, correlation at 1, daily loss at 100%, gross and net exposure
at 10x NAV): the replays differ only by what the limits did.

With ``risk_parity`` a third replay runs the config with ``strategy.kind: risk_parity`` (equal
volatility contributions, the cvxpy solver of research/risk/budgets.py) under the same limits:
risk budgeting next to the hard caps, on the same sessions.

The alert cool-down is a process setting (``RiskSettings.alert_cooldown_seconds``, 900 s
live). The risk manager refits once a session, so in a daily replay 900 s never holds an
alert back; the study sets it in sessions (``alert_cooldown_days`` calendar days), so storm
suppression acts — and shows — on the replay's own clock.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from research.config import LIMITS_OFF

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class RiskLimitsStudy:
    """The replays (``limited``: the config's limits; ``unlimited``: limits off;
    ``budgeted``: the risk-parity strategy under the same limits, or None), the config and the
    settings they ran with."""

    config: Any
    settings: Any
    limited: Any  # sim.backtest.BacktestResult
    unlimited: Any
    budgeted: Any = None


def without_limits(config: Any) -> Any:
    """``config`` with every limit threshold wide (its policies unchanged)."""
    return config.model_copy(update={
        "name": f"{config.name}-nolimits",
        "risk": config.risk.model_copy(update=LIMITS_OFF)})


def with_risk_parity(config: Any) -> Any:
    """``config`` with the risk-parity strategy in place of its own (limits unchanged)."""
    strategy = config.strategy.model_copy(update={
        "kind": "risk_parity", "multi_factor": None, "optimised": None, "risk_budget": None})
    return config.model_copy(update={"name": f"{config.name}-riskparity",
                                     "strategy": strategy})


def study_settings(settings: Any, alert_cooldown_days: float) -> Any:
    """``settings`` with the alert cool-down in days (see the module docstring)."""
    risk = settings.risk.model_copy(
        update={"alert_cooldown_seconds": float(alert_cooldown_days) * SECONDS_PER_DAY})
    return settings.model_copy(update={"risk": risk})


def _replay(config: Any, settings: Any, bars: str | None, start: Any, end: Any) -> Any:
    from sim.backtest_data import run_config_backtest

    return run_config_backtest(config, settings, bars=bars, frequency="daily", start=start,
                               end=end)


def run_risk_limits_study(config: Any, settings: Any, *, bars: str | None = None,
                          start: Any = None, end: Any = None, alert_cooldown_days: float = 5.0,
                          risk_parity: bool = True, n_jobs: int = 2) -> RiskLimitsStudy:
    """Replay ``config`` with and without its limits, and (``risk_parity``) its risk-parity
    variant under them; ``n_jobs`` 2: two at a time in two processes (they share nothing)."""
    settings = study_settings(settings, alert_cooldown_days)
    configs = [config, without_limits(config)] + ([with_risk_parity(config)] if risk_parity
                                                  else [])
    arms = [(c, settings, bars, start, end) for c in configs]
    if n_jobs > 1:
        with ProcessPoolExecutor(max_workers=min(n_jobs, 2)) as pool:
            results = list(pool.map(_replay, *zip(*arms, strict=True)))
    else:
        results = [_replay(*arm) for arm in arms]
    return RiskLimitsStudy(config, settings, *results)
