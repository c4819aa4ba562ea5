"""Transaction-cost analysis study: execution strategies compared on the same simulated
market path (paired), with clustered intervals, cost-model calibration and sensitivity.

Lives in ``sim`` because it drives the simulated broker (``research`` never imports ``sim``).
JSON layout: ``sim/tca/SCHEMA.md``.
"""

from __future__ import annotations

from research.execution.risk_check import RiskManagerCheck
from sim.fees import DatedFeeFn
from sim.tca._run import StrategyParams
from sim.tca.study import STRATEGY_NAMES, ComparisonResult, compare_strategies, summarise

__all__ = [
    "STRATEGY_NAMES",
    "ComparisonResult",
    "DatedFeeFn",
    "RiskManagerCheck",
    "StrategyParams",
    "compare_strategies",
    "summarise",
]
