"""Promotion to live: validation gates over a tracked run's metrics, and recording them.

MLflow is imported lazily (inside the recording function); the registry itself is handled by
``live.promotion``, the only code that moves the ``live`` alias.

The public names below are resolved on first use (PEP 562): ``qlab --help`` imports
``research.promotion.cli`` (``qlab validate-run``), and with it this package, and must not
pay for pydantic and pandas.
"""

from importlib import import_module

#: Public name -> the submodule of this package that defines it.
_SUBMODULE_OF = {
    **dict.fromkeys(("GATE_METRICS", "GateResult", "GateThresholds", "GateThresholdsError",
                     "config_hash", "evaluate_gates", "failed", "load_thresholds"), "gates"),
    **dict.fromkeys(("CONFIG_ARTIFACT", "backtest_gate_metrics", "record_validation_run",
                     "tca_gate_metrics"), "validation"),
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name: str):
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{submodule}"), name)
