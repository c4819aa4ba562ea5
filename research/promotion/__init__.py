"""Promotion to live: validation gates over a tracked run's metrics, and recording them.

MLflow is imported lazily (inside the recording function); the registry itself is handled by
``live.promotion``, the only code that moves the ``live`` alias.
"""

from research.promotion.gates import (
    GATE_METRICS,
    GateResult,
    GateThresholds,
    config_hash,
    evaluate_gates,
    failed,
)
from research.promotion.validation import (
    CONFIG_ARTIFACT,
    backtest_gate_metrics,
    record_validation_run,
    tca_gate_metrics,
)

__all__ = [
    "CONFIG_ARTIFACT", "GATE_METRICS", "GateResult", "GateThresholds", "backtest_gate_metrics",
    "config_hash", "evaluate_gates", "failed", "record_validation_run", "tca_gate_metrics",
]
