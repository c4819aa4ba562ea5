"""Validation gates: what a tracked run must show before its config may trade live.

Gate inputs are metrics recorded with the run under ``validation.*`` (see
:data:`GATE_METRICS`). A gate whose metric was not recorded FAILS with "not recorded": a
missing number never passes. The drawdown gate applies where a backtest exists: the run records
``validation.backtest`` (1 or 0) and, if 1, ``validation.max_drawdown``; a run that records
neither fails.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Metric names the gates read (all recorded as MLflow metrics of the validation run).
GATE_METRICS = {
    "parent_orders": "validation.parent_orders",
    "cost_z_mean": "validation.cost_z_mean",
    "cost_z_std": "validation.cost_z_std",
    "risk_limit_breaches": "validation.risk_limit_breaches",
    "var_backtest_zone": "validation.var_backtest_zone",  # 0 green, 1 yellow, 2 red
    "unresolved_alerts": "validation.unresolved_alerts",
    "backtest": "validation.backtest",  # 1: a backtest ran, so max_drawdown is required
    "max_drawdown": "validation.max_drawdown",  # positive fraction of peak NAV
}
ZONE_CODES = {"green": 0, "yellow": 1, "red": 2}


class GateThresholds(BaseModel):
    """Thresholds of the promotion gates (units in each description)."""

    model_config = ConfigDict(extra="forbid")

    min_parent_orders: int = Field(100, ge=1, description="Fewest parent orders validated.")
    max_abs_z_mean: float = Field(
        0.5, gt=0, description="Largest |mean z| of cost-model z-scores (bias, in std units)."
    )
    min_z_std: float = Field(0.5, gt=0, description="Smallest std of z (model too cautious).")
    max_z_std: float = Field(2.0, gt=0, description="Largest std of z (model overconfident).")
    max_risk_limit_breaches: int = Field(0, ge=0, description="Limit breaches allowed.")
    max_var_zone: int = Field(1, ge=0, le=2, description="Worst VaR backtest zone (1: yellow).")
    max_unresolved_alerts: int = Field(0, ge=0, description="Alerts still open at the end.")
    max_drawdown: float = Field(
        0.35, gt=0, le=1, description="Largest peak-to-trough loss of the backtest, fraction."
    )


class GateThresholdsError(ValueError):
    """A gate-thresholds file that cannot be read or does not validate; the message says which
    file and why."""


def load_thresholds(path: str | Path | None) -> GateThresholds | None:
    """Gate thresholds from a YAML file (keys of :class:`GateThresholds`; unknown keys are an
    error naming them), or None for the defaults."""
    if path is None:
        return None
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return GateThresholds.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise GateThresholdsError(f"gate thresholds {path}: {exc}") from None


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict. ``measured`` is None when the metric was not recorded."""

    gate: str
    passed: bool
    measured: float | None
    threshold: str
    detail: str = ""

    def line(self) -> str:
        shown = "not recorded" if self.measured is None else f"{self.measured:.6g}"
        verdict = "PASS" if self.passed else "FAIL"
        extra = f" ({self.detail})" if self.detail else ""
        return f"{verdict}  {self.gate}: measured {shown}, threshold {self.threshold}{extra}"


def _get(metrics: Mapping[str, Any], key: str) -> float | None:
    v = metrics.get(GATE_METRICS[key])
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def evaluate_gates(metrics: Mapping[str, Any],
                   thresholds: GateThresholds | None = None) -> list[GateResult]:
    """Every gate's result for a run's recorded ``metrics`` (name -> value)."""
    t = thresholds or GateThresholds()
    out: list[GateResult] = []

    def gate(name: str, key: str, ok, threshold: str, detail: str = "") -> None:
        v = _get(metrics, key)
        if v is None:
            out.append(GateResult(name, False, None, threshold, f"{GATE_METRICS[key]} not recorded"))
        else:
            out.append(GateResult(name, bool(ok(v)), v, threshold, detail))

    gate("min_parent_orders", "parent_orders", lambda v: v >= t.min_parent_orders,
         f">= {t.min_parent_orders}")
    gate("cost_z_mean", "cost_z_mean", lambda v: abs(v) <= t.max_abs_z_mean,
         f"|mean z| <= {t.max_abs_z_mean}")
    gate("cost_z_std", "cost_z_std", lambda v: t.min_z_std <= v <= t.max_z_std,
         f"{t.min_z_std} <= std z <= {t.max_z_std}")
    gate("risk_limit_breaches", "risk_limit_breaches", lambda v: v <= t.max_risk_limit_breaches,
         f"<= {t.max_risk_limit_breaches}")
    gate("var_backtest_zone", "var_backtest_zone", lambda v: v <= t.max_var_zone,
         f"<= {t.max_var_zone} (0 green, 1 yellow, 2 red)")
    gate("unresolved_alerts", "unresolved_alerts", lambda v: v <= t.max_unresolved_alerts,
         f"<= {t.max_unresolved_alerts}")
    has_backtest = _get(metrics, "backtest")
    if has_backtest is None:
        out.append(GateResult("max_drawdown", False, None, f"<= {t.max_drawdown}",
                              f"{GATE_METRICS['backtest']} not recorded"))
    elif has_backtest >= 1:
        gate("max_drawdown", "max_drawdown", lambda v: v <= t.max_drawdown, f"<= {t.max_drawdown}")
    else:
        out.append(GateResult("max_drawdown", True, None, f"<= {t.max_drawdown}",
                              "not applicable: the run records no backtest"))
    return out


def failed(results: list[GateResult]) -> list[GateResult]:
    return [r for r in results if not r.passed]


def config_hash(config: Any) -> str:
    """SHA-256 of a run config's canonical JSON (sorted keys): the identity of what trades."""
    data = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
