"""Promotion to live: validation gates over a tracked run's metrics, and recording them.

MLflow is imported lazily (inside the recording function); the registry itself is handled by
``live.promotion``, the only code that moves the ``live`` alias.

The public names below are resolved on first use (PEP 562): ``qlab --help`` imports
``research.promotion.cli`` (``qlab validate-run``), and with it this package, and must not
pay for pydantic and pandas.
"""

from research.lazy import lazy_names

#: Public name -> the submodule of this package that defines it.
_SUBMODULE_OF = {
    **dict.fromkeys(("GATE_METRICS", "GateResult", "GateThresholds", "GateThresholdsError",
                     "config_hash", "evaluate_gates", "failed", "load_thresholds"), "gates"),
    **dict.fromkeys(("CONFIG_ARTIFACT", "backtest_gate_metrics", "record_validation_run",
                     "tca_gate_metrics"), "validation"),
}

__all__ = sorted(_SUBMODULE_OF)
__getattr__ = lazy_names(__name__, _SUBMODULE_OF)
