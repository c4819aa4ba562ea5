"""The risk-limits study: a run config replayed twice over the same daily bars — once with its
limits, once with every threshold wide — through the loop, risk manager and simulated broker
``qlab backtest`` uses (:func:`sim.backtest_data.run_config_backtest`). The report
(:mod:`sim.risk_limits_report`) reads the pair.

"Limits off" is the same config with each threshold set where it cannot bind (position,
sector and VaR at 100% of NAV, correlation at 1, daily loss at 100%, gross and net exposure
at 10x NAV): the replays differ only by what the limits did.

The alert cool-down is a process setting (``RiskSettings.alert_cooldown_seconds``, 900 s
live). The risk manager refits once a session, so in a daily replay 900 s never holds an
alert back; the study sets it in sessions (``alert_cooldown_days`` calendar days), so storm
suppression acts — and shows — on the replay's own clock.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

#: Thresholds that never bind (the RiskLimits fields of "limits off").
WIDE_LIMITS = {"max_position_weight": 1.0, "max_sector_weight": 1.0,
               "max_pairwise_correlation": 1.0, "var_budget": 1.0, "daily_loss_limit": 1.0,
               "max_gross_exposure": 10.0, "max_net_exposure": 10.0}
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class RiskLimitsStudy:
    """The two replays (``limited``: the config's limits; ``unlimited``: limits off), the
    config and the settings they ran with."""

    config: Any
    settings: Any
    limited: Any  # sim.backtest.BacktestResult
    unlimited: Any


def without_limits(config: Any) -> Any:
    """``config`` with every limit threshold wide (its policies unchanged)."""
    return config.model_copy(update={
        "name": f"{config.name}-nolimits",
        "risk": config.risk.model_copy(update=WIDE_LIMITS)})


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
                          n_jobs: int = 2) -> RiskLimitsStudy:
    """Replay ``config`` with and without its limits (``n_jobs`` 2: side by side in two
    processes; the replays share nothing)."""
    settings = study_settings(settings, alert_cooldown_days)
    arms = [(config, settings, bars, start, end),
            (without_limits(config), settings, bars, start, end)]
    if n_jobs > 1:
        with ProcessPoolExecutor(max_workers=min(n_jobs, 2)) as pool:
            limited, unlimited = pool.map(_replay, *zip(*arms, strict=True))
    else:
        limited, unlimited = (_replay(*arm) for arm in arms)
    return RiskLimitsStudy(config, settings, limited, unlimited)
