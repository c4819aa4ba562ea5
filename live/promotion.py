"""Promotion to live through the MLflow Model Registry — the only code that moves ``@live``.

``promote(run_id)`` re-evaluates the validation gates on what the run recorded
(:mod:`research.promotion`), and only if every gate passes registers the run's config artifact
directory (``runs:/<run>/config``) as a new version of ``settings.tracking.registered_model``,
tags it with the config hash, and moves the alias ``settings.tracking.live_alias`` to it.
``load_live_config`` is what the live entry point trusts: the version behind the alias, its
config re-hashed against the registry tag, its run's gates re-checked.

MLflow is imported inside the functions (start-up cost, and never on the trading hot path).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from research.config import RunConfig
from research.promotion import (
    CONFIG_ARTIFACT,
    GateResult,
    GateThresholds,
    config_hash,
    evaluate_gates,
    failed,
    missing_evidence,
)
from research.tracking import mlflow_client

HASH_TAG = "qlab.config_hash"
THRESHOLDS_TAG = "qlab.gate_thresholds"  # JSON of the GateThresholds a version passed


class PromotionError(RuntimeError):
    """Promotion or loading of the live config refused; the message says why."""


class GateFailure(PromotionError):
    def __init__(self, run_id: str, results: list[GateResult]):
        self.run_id = run_id
        self.results = results
        lines = "\n".join("  " + r.line() for r in failed(results))
        missing = missing_evidence(results)
        lacking = (f"run {run_id} lacks evidence: {' and '.join(missing)} (record it with "
                   "`qlab validate-run CONFIG`, which replays the config itself)\n"
                   if missing else "")
        super().__init__(f"{lacking}run {run_id}: {len(failed(results))} validation gate(s) "
                         f"failed:\n{lines}")


@dataclass(frozen=True)
class LiveConfig:
    """The promoted config and where it came from."""

    config: RunConfig
    version: str
    run_id: str
    config_hash: str


def _read_config(client: Any, run_id: str) -> RunConfig:
    from research.config import ConfigFileError, load_run_config

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, CONFIG_ARTIFACT, tmp)
        except Exception as exc:  # noqa: BLE001 - MLflow raises several types for "absent"
            raise PromotionError(f"run {run_id} has no {CONFIG_ARTIFACT} artifact "
                                 f"({type(exc).__name__}); record it with "
                                 "`qlab validate-run --config run.yaml`") from None
        try:
            return load_run_config(Path(local))
        except ConfigFileError as exc:
            raise PromotionError(f"run {run_id}: recorded config is invalid: {exc}") from None


def _get_run(client: Any, run_id: str) -> Any:
    try:
        return client.get_run(run_id)
    except Exception:  # noqa: BLE001
        raise PromotionError(f"no MLflow run {run_id!r} at the tracking URI") from None


def check_run(run_id: str, settings: Any,
              thresholds: GateThresholds | None = None) -> list[GateResult]:
    """The gate results of a run (raises :class:`PromotionError` if the run is unknown)."""
    client = mlflow_client(settings)
    return evaluate_gates(_get_run(client, run_id).data.metrics, thresholds)


def evidence_artifacts(run_id: str, settings: Any) -> list[str]:
    """Where the evidence of a validation run is kept (its artifacts: the backtest, the VaR
    backtest, the TCA study, the config), as the tracking store shows them."""
    client = mlflow_client(settings)
    run = _get_run(client, run_id)
    root = run.info.artifact_uri.rstrip("/")
    out = []
    for folder in ("evidence", "config"):
        try:
            out += [f"{root}/{f.path}" for f in client.list_artifacts(run_id, folder)]
        except Exception:  # noqa: BLE001 - an artifact store that cannot list: nothing shown
            continue
    return out


def promote(run_id: str, settings: Any, thresholds: GateThresholds | None = None) -> LiveConfig:
    """Register ``run_id``'s config and move the live alias to it, if every gate passes."""
    client = mlflow_client(settings)
    run = _get_run(client, run_id)
    results = evaluate_gates(run.data.metrics, thresholds)
    if failed(results):
        raise GateFailure(run_id, results)
    config = _read_config(client, run_id)
    h = config_hash(config)
    recorded = run.data.tags.get(HASH_TAG)
    if recorded is not None and recorded != h:
        raise PromotionError(f"run {run_id}: config artifact hash {h[:12]} differs from the "
                             f"recorded tag {recorded[:12]}")
    name, alias = settings.tracking.registered_model, settings.tracking.live_alias
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="qlab run configs promoted to live")
    previous = _alias_version(client, name, alias)
    mv = client.create_model_version(
        name, source=f"runs:/{run_id}/{Path(CONFIG_ARTIFACT).parent}", run_id=run_id,
        tags={HASH_TAG: h, "qlab.config_name": config.name, "qlab.gates": "passed",
              THRESHOLDS_TAG: (thresholds or GateThresholds()).model_dump_json(),
              "qlab.previous_live_version": previous or "",
              "qlab.promoted_at": datetime.now(UTC).isoformat(timespec="seconds")},
    )
    client.set_registered_model_alias(name, alias, mv.version)
    return LiveConfig(config, str(mv.version), run_id, h)


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def promotion_history(settings: Any) -> list[dict[str, Any]]:
    """Every registered version, newest first: version, run id, hash, when, aliases."""
    client = mlflow_client(settings)
    name = settings.tracking.registered_model
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return []
    # search results do not carry aliases (MLflow 3.x): ask for the live alias directly
    live_version = _alias_version(client, name, settings.tracking.live_alias)
    rows = [{
        "version": str(v.version), "run_id": v.run_id, "config_hash": v.tags.get(HASH_TAG, ""),
        "config_name": v.tags.get("qlab.config_name", ""),
        "promoted_at": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(
            timespec="seconds"),
        "aliases": sorted(set(v.aliases) | ({settings.tracking.live_alias}
                                             if str(v.version) == live_version else set())),
    } for v in versions]
    rows.sort(key=lambda r: int(r["version"]), reverse=True)
    return rows


def load_live_config(settings: Any, thresholds: GateThresholds | None = None) -> LiveConfig:
    """The config behind ``@live``, hash-checked against its registry tag, gates re-checked
    (with ``thresholds``, else those the version was promoted with, else the defaults)."""
    client = mlflow_client(settings)
    name, alias = settings.tracking.registered_model, settings.tracking.live_alias
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        raise PromotionError(f"no config is promoted: {name}@{alias} does not exist; run "
                             "`qlab promote RUN_ID` first") from None
    config = _read_config(client, mv.run_id)
    h = config_hash(config)
    tagged = mv.tags.get(HASH_TAG)
    if tagged != h:
        raise PromotionError(f"{name}@{alias} (version {mv.version}): config hash {h[:12]} does "
                             f"not match the registry tag {str(tagged)[:12]}; refusing to trade")
    if thresholds is None and mv.tags.get(THRESHOLDS_TAG):
        thresholds = GateThresholds.model_validate_json(mv.tags[THRESHOLDS_TAG])
    results = evaluate_gates(_get_run(client, mv.run_id).data.metrics, thresholds)
    if failed(results):
        raise GateFailure(mv.run_id, results)
    return LiveConfig(config, str(mv.version), mv.run_id, h)
