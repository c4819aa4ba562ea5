"""Transaction-cost analysis study: execution strategies compared on the same simulated
market path (paired), with clustered intervals, cost-model calibration and sensitivity.

Lives in ``sim`` because it drives the simulated broker (``research`` never imports ``sim``).
JSON layout: ``sim/tca/SCHEMA.md``.
"""

from __future__ import annotations

from research.execution.risk_check import RiskManagerCheck
from sim.fees import DatedFeeFn
from sim.tca._run import StrategyParams
from sim.tca._stats import (
    CI_LEVEL,
    MIN_DAYS_FOR_VERDICT,
    TARGET_POWER,
    DayClusters,
    RatioInterval,
    days_needed,
    fieller_interval,
    mean_interval,
    power_at,
    ratio_interval,
    reduction_interval,
)
from sim.tca.study import STRATEGY_NAMES, ComparisonResult, compare_strategies, summarise

__all__ = [
    "CI_LEVEL",
    "MIN_DAYS_FOR_VERDICT",
    "STRATEGY_NAMES",
    "TARGET_POWER",
    "ComparisonResult",
    "DatedFeeFn",
    "DayClusters",
    "RatioInterval",
    "RiskManagerCheck",
    "StrategyParams",
    "compare_strategies",
    "days_needed",
    "fieller_interval",
    "mean_interval",
    "power_at",
    "ratio_interval",
    "reduction_interval",
    "summarise",
]
