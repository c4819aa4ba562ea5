"""Recording a validation run: the config (artifact ``config/run.yaml``, params, hash tag), the
gate metrics ``validation.*`` (:data:`research.promotion.gates.GATE_METRICS`) and the evidence
behind them as artifacts, in one MLflow run — what ``qlab promote`` evaluates and registers.

The evidence itself is gathered by replaying the config (``qlab validate-run``,
:mod:`sim.validation`): research records and judges it, it does not produce it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from research.promotion.gates import config_hash

CONFIG_ARTIFACT = "config/run.yaml"


def record_validation_run(config: Any, metrics: Mapping[str, float], settings: Any, *,
                          tags: Mapping[str, Any] | None = None,
                          documents: Mapping[str, Mapping[str, Any]] | None = None,
                          data_hash: str | None = None) -> str:
    """A tracked run holding ``config`` (artifact ``config/run.yaml``, params, hash tag), its
    gate ``metrics`` and the evidence ``documents`` (artifact path -> JSON-ready dict).
    Returns the MLflow run id."""
    import yaml

    from research.tracking import tracked_run

    h = config_hash(config)
    with tracked_run("validation", {"config": config.model_dump(mode="json")}, settings=settings,
                     tags={"qlab.config_hash": h, "qlab.config_name": config.name,
                           **(tags or {})}, seed=config.seed, data_hash=data_hash) as run:
        run.log_metrics(dict(metrics))
        for artifact_file, document in (documents or {}).items():
            run.log_dict(document, artifact_file)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(CONFIG_ARTIFACT).name
            path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=True),
                            encoding="utf-8")
            run.log_artifact(path, str(Path(CONFIG_ARTIFACT).parent))
        return str(run.run_id)
