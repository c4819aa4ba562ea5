"""A sweep in MLflow: one parent run, one nested child run per point, and resume.

The parent is found by the sweep's id (tag ``qlab.sweep_id``: its name and its points'
hashes, :func:`sim.sweep.points.sweep_id`): running the same sweep file again reopens the
same parent, and the points whose config hash (tag ``qlab.config_hash``) is recorded there as
FINISHED are not run again. A child is written only when its point is done (parameters: the
point's fields; metrics: the backtest's; artifact: ``result.json.gz``, the point's result
JSON; tags: hash, point number, sweep id, ``mlflow.parentRunId``), so a crash leaves no
half-written FINISHED child.

Only the driver writes (research.tracking's single-writer rule): workers return results.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from research.tracking import TrackedRun, code_version, experiment_id, mlflow_client
from sim.sweep.points import Point
from sim.sweep.tasks import FINISHED, Outcome

ARTIFACT = "result.json.gz"
KIND_SWEEP, KIND_POINT = "sweep", "sweep_point"


def _quote(value: str) -> str:
    return value.replace("'", "")  # ids and names we wrote ourselves: hex and config names


class SweepTracker:
    """The parent run of one sweep and its children (see the module)."""

    def __init__(self, settings: Any, name: str, sweep_id: str):
        self.client = mlflow_client(settings)
        self.uri = settings.tracking.mlflow_tracking_uri
        self.experiment = experiment_id(self.client, settings)
        self.name = name
        self.sweep_id = sweep_id
        self.parent_id: str | None = None
        self.resumed = False

    def _search(self, filter_string: str) -> list[Any]:
        runs, token = [], None
        while True:
            page = self.client.search_runs([self.experiment], filter_string,
                                           max_results=1000, page_token=token)
            runs += list(page)
            token = page.token
            if not token:
                return runs

    def open(self, params: dict[str, Any]) -> str:
        """Reopen this sweep's parent run (resume) or create it; returns its run id."""
        found = self._search(f"tags.`qlab.sweep_id` = '{_quote(self.sweep_id)}' and "
                             f"tags.`qlab.kind` = '{KIND_SWEEP}'")
        if found:
            self.parent_id = found[0].info.run_id
            self.resumed = True
            self.client.update_run(self.parent_id, status="RUNNING")
            return self.parent_id
        tags = {"qlab.kind": KIND_SWEEP, "qlab.sweep_id": self.sweep_id,
                **code_version().as_tags()}
        run = self.client.create_run(self.experiment, run_name=f"sweep-{self.name}", tags=tags)
        self.parent_id = run.info.run_id
        TrackedRun(self.parent_id, self.uri, self.experiment, self.client).log_params(params)
        return self.parent_id

    def finished(self) -> dict[str, Any]:
        """{config hash: child run} of the points already recorded FINISHED in this sweep."""
        runs = self._search(f"tags.`qlab.sweep_id` = '{_quote(self.sweep_id)}' and "
                            f"tags.`qlab.kind` = '{KIND_POINT}' and "
                            f"attributes.status = '{FINISHED}'")
        return {run.data.tags["qlab.config_hash"]: run for run in runs}

    def record(self, point: Point, outcome: Outcome, task: str) -> str:
        """Write the child run of a done point; returns its run id."""
        tags = {"mlflow.parentRunId": self.parent_id, "qlab.kind": KIND_POINT,
                "qlab.sweep_id": self.sweep_id, "qlab.config_hash": point.config_hash,
                "qlab.point": str(point.index), "qlab.task": task,
                "qlab.data_hash": point.data_hash}
        if outcome.error:
            tags["qlab.error"] = outcome.error[:4000]
        run = self.client.create_run(self.experiment, run_name=f"{self.name}-{point.index:04d}",
                                     tags=tags)
        handle = TrackedRun(run.info.run_id, self.uri, self.experiment, self.client)
        try:
            handle.log_params(point.values)
            handle.log_metrics({**outcome.metrics, "seconds": outcome.seconds})
            if outcome.result is not None:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / ARTIFACT
                    with gzip.open(path, "wt", encoding="utf-8") as out:
                        json.dump(outcome.result, out, allow_nan=False)
                    handle.log_artifact(path)
        except BaseException:
            self.client.set_terminated(handle.run_id, status="FAILED")
            raise
        self.client.set_terminated(handle.run_id, status=outcome.status)
        return handle.run_id

    def returns_of(self, run_id: str) -> list[float]:
        """The daily returns in a child's result artifact (for the deflated Sharpe ratio)."""
        with tempfile.TemporaryDirectory() as folder:
            path = self.client.download_artifacts(run_id, ARTIFACT, folder)
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                returns = json.load(handle)["returns"]  # dated (backtest) or a list
        return [float(v) for v in (returns.values() if isinstance(returns, dict) else returns)]

    def close(self, status: str, metrics: dict[str, float]) -> None:
        TrackedRun(self.parent_id, self.uri, self.experiment, self.client).log_metrics(
            metrics, non_numeric="skip")
        self.client.set_terminated(self.parent_id, status=status)


def outcome_from_run(run: Any) -> Outcome:
    """A recorded point as the runner sees a fresh one (returns fetched only when needed)."""
    metrics = dict(run.data.metrics)
    seconds = metrics.pop("seconds", float("nan"))
    return Outcome(int(run.data.tags["qlab.point"]), run.data.tags["qlab.config_hash"],
                   run.info.status, metrics, seconds=seconds)


__all__ = ["ARTIFACT", "KIND_POINT", "KIND_SWEEP", "SweepTracker", "outcome_from_run"]
