"""Promotion to live: validation gates over a tracked run's metrics, and recording them.

MLflow is imported lazily (inside the recording function); the registry itself is handled by
``live.promotion``, the only code that moves the ``live`` alias.

The evidence is gathered by replaying the config (``qlab validate-run``, :mod:`sim.validation`).
The public names below are resolved on first use (PEP 562): a command that imports this
package must not pay for pydantic until it uses a name.
"""

from research.lazy import lazy_names

#: Public name -> the submodule of this package that defines it.
_SUBMODULE_OF = {
    **dict.fromkeys(("EVIDENCE_OF", "GATE_METRICS", "GateResult", "GateThresholds",
                     "GateThresholdsError", "ZONE_CODES", "config_hash", "evaluate_gates",
                     "failed", "load_thresholds", "missing_evidence"), "gates"),
    **dict.fromkeys(("CONFIG_ARTIFACT", "record_validation_run"), "validation"),
}

__all__ = sorted(_SUBMODULE_OF)
__getattr__ = lazy_names(__name__, _SUBMODULE_OF)
