"""Validation gates: what a tracked run must show before its config may trade live.

Gate inputs are metrics recorded with the run under ``validation.*`` (see
:data:`GATE_METRICS`) by ``qlab validate-run``, which replays the config itself (the backtest
through the trading loop, the risk-limit analysis of that replay, the TCA study of the config's
algorithm on its own rebalance orders). A gate whose metric was not recorded FAILS with "not
recorded": a missing number never passes, and promotion names the missing evidence.
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
    # the TCA study of the config's algorithm on its own rebalance orders
    "parent_orders": "validation.parent_orders",
    "cost_z_mean": "validation.cost_z_mean",
    "cost_z_std": "validation.cost_z_std",
    "tca_dearer_than_market": "validation.tca_dearer_than_market",  # 1: dearer, CI excl. 0
    # the backtest replay and its risk-limit analysis
    "backtest": "validation.backtest",  # 1: the config's own replay ran
    "sessions": "validation.sessions",
    "sharpe": "validation.sharpe",
    "max_drawdown": "validation.max_drawdown",  # positive fraction of peak NAV
    "limit_binds_per_year": "validation.limit_binds_per_year",
    "acceptable_binds_per_year": "validation.acceptable_binds_per_year",  # the config's own
    "var_backtest_zone": "validation.var_backtest_zone",  # 0 green, 1 yellow, 2 red
    "unresolved_alerts": "validation.unresolved_alerts",
}
#: Which part of ``validate-run`` records each gate's metric: named when it is missing.
EVIDENCE_OF = {**dict.fromkeys(("parent_orders", "cost_z_mean", "cost_z_std",
                                "tca_dearer_than_market"), "the TCA study"),
               **dict.fromkeys(("backtest", "sessions", "sharpe", "max_drawdown",
                                "limit_binds_per_year", "acceptable_binds_per_year",
                                "var_backtest_zone", "unresolved_alerts"), "the backtest")}
ZONE_CODES = {"green": 0, "yellow": 1, "red": 2}


class GateThresholds(BaseModel):
    """Thresholds of the promotion gates (units in each description). The defaults are what
    configs/inverse_volatility_daily.yaml passes and configs/bad/ fail (tests show both)."""

    model_config = ConfigDict(extra="forbid")

    min_parent_orders: int = Field(100, ge=1, description="Fewest parent orders in the TCA "
                                   "study of the config's own rebalances.")
    max_abs_z_mean: float = Field(
        0.5, gt=0, description="Largest |mean z| of cost-model z-scores (bias, in std units)."
    )
    min_z_std: float = Field(0.5, gt=0, description="Smallest std of z (model too cautious).")
    max_z_std: float = Field(2.0, gt=0, description="Largest std of z (model overconfident).")
    min_sessions: int = Field(252, ge=1, description="Fewest sessions in the backtest replay.")
    min_sharpe: float = Field(0.3, description="Smallest annualised Sharpe ratio of the replay "
                              "(after costs, risk-free rate 0).")
    max_drawdown: float = Field(
        0.6, gt=0, le=1, description="Largest peak-to-trough loss of the replay, fraction. A "
        "long-only US equity book that lived through 2008 lost about half (the S&P 500: 57%).")
    max_var_zone: int = Field(1, ge=0, le=2, description="Worst VaR backtest zone (1: yellow).")
    max_unresolved_alerts: int = Field(0, ge=0, description="Limits the book still breaches at "
                                       "the replay's last close.")


class GateThresholdsError(ValueError):
    """A gate-thresholds file that cannot be read or does not validate; the message says which
    file and why."""


def load_thresholds(path: str | Path | None) -> GateThresholds | None:
    """Gate thresholds from a YAML file (keys of :class:`GateThresholds`; unknown keys are an
    error naming them), or None for the defaults."""
    if path is None:
        return None
    from pydantic import ValidationError

    from research.config import ConfigFileError, read_yaml_file

    # the run configs' reader: a key given twice is refused with its line, where a plain
    # safe_load would keep the last value and a loosened gate would pass unnoticed
    try:
        data = read_yaml_file(path) or {}
    except ConfigFileError as exc:
        raise GateThresholdsError(f"gate thresholds {exc}") from None
    try:
        return GateThresholds.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                 for e in exc.errors(include_input=False, include_url=False)]
        raise GateThresholdsError(f"gate thresholds {path}: {len(lines)} error(s)\n"
                                  + "\n".join(lines)) from None


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict. ``measured`` is None when the metric was not recorded."""

    gate: str
    passed: bool
    measured: float | None
    threshold: str
    detail: str = ""
    missing: str = ""  # the part of validate-run whose evidence was not recorded

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
            out.append(GateResult(name, False, None, threshold,
                                  f"{GATE_METRICS[key]} not recorded: {EVIDENCE_OF[key]} is "
                                  "missing from the run", missing=EVIDENCE_OF[key]))
        else:
            out.append(GateResult(name, bool(ok(v)), v, threshold, detail))

    gate("min_parent_orders", "parent_orders", lambda v: v >= t.min_parent_orders,
         f">= {t.min_parent_orders}")
    gate("cost_z_mean", "cost_z_mean", lambda v: abs(v) <= t.max_abs_z_mean,
         f"|mean z| <= {t.max_abs_z_mean}")
    gate("cost_z_std", "cost_z_std", lambda v: t.min_z_std <= v <= t.max_z_std,
         f"{t.min_z_std} <= std z <= {t.max_z_std}")
    gate("tca_verdict", "tca_dearer_than_market", lambda v: v < 1,
         "not dearer than market orders with the 95% interval excluding zero")
    gate("backtest", "backtest", lambda v: v >= 1, "the config's own replay ran")
    gate("min_sessions", "sessions", lambda v: v >= t.min_sessions, f">= {t.min_sessions}")
    gate("min_sharpe", "sharpe", lambda v: v >= t.min_sharpe, f">= {t.min_sharpe}")
    gate("max_drawdown", "max_drawdown", lambda v: v <= t.max_drawdown, f"<= {t.max_drawdown}")
    acceptable = _get(metrics, "acceptable_binds_per_year")
    gate("limit_binds", "limit_binds_per_year",
         lambda v: acceptable is not None and v <= acceptable,
         f"<= {acceptable if acceptable is not None else '?'} a year (the config's "
         "validation.max_limit_binds_per_year)")
    gate("var_backtest_zone", "var_backtest_zone", lambda v: v <= t.max_var_zone,
         f"<= {t.max_var_zone} (0 green, 1 yellow, 2 red)")
    gate("unresolved_alerts", "unresolved_alerts", lambda v: v <= t.max_unresolved_alerts,
         f"<= {t.max_unresolved_alerts}")
    return out


def missing_evidence(results: list[GateResult]) -> list[str]:
    """The parts of ``validate-run`` a run lacks (each named once), from its gate results."""
    return list(dict.fromkeys(r.missing for r in results if r.missing))


def failed(results: list[GateResult]) -> list[GateResult]:
    return [r for r in results if not r.passed]


def config_hash(config: Any) -> str:
    """SHA-256 of a run config's canonical JSON (sorted keys): the identity of what trades."""
    data = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
