"""Experiment tracking: a small façade over MLflow so every study is a reproducible run.

Each run records what is needed to reproduce it: its parameters (flattened, dotted keys), the
data hash, the code version (git sha + dirty flag), the seed, its metrics and its artifacts
(HTML report, executed notebook, JSON results).

Rules this module enforces or documents:

* MLflow is imported lazily, inside functions: importing ``research`` stays cheap and the live
  process never loads it on its hot path.
* The tracking URI comes from :class:`research.config.TrackingSettings` (local SQLite by
  default; a server URL works the same). For ``sqlite:///`` URIs the folder of the database is
  created and new experiments store artifacts in ``<that folder>/artifacts``.
* **Single writer.** SQLite tolerates one writing process; sweep workers return results to the
  driver, and only the driver calls :func:`tracked_run`.
* Calls go through an explicit ``MlflowClient`` bound to the URI, never through MLflow's global
  "active run" state, so two runs in one process cannot interfere.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import subprocess
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from research.config import Settings

_REPO_ROOT = Path(__file__).resolve().parent.parent
_BATCH = 100  # MLflow accepts at most 100 params / 1000 metrics per log_batch call
_NOISY_LOGGERS = ("mlflow", "alembic", "sqlalchemy", "urllib3", "git")


@dataclass(frozen=True)
class CodeVersion:
    """The commit the code came from; ``dirty`` when the working tree had local changes."""

    sha: str
    dirty: bool | None

    def as_tags(self) -> dict[str, str]:
        return {"qlab.git_sha": self.sha,
                "qlab.git_dirty": "unknown" if self.dirty is None else str(self.dirty).lower()}


def code_version(repo: str | Path = _REPO_ROOT) -> CodeVersion:
    """Git sha and dirty flag of ``repo``; ``("unknown", None)`` outside git or without git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        sha = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return CodeVersion("unknown", None)
    try:
        dirty: bool | None = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        dirty = None
    return CodeVersion(sha, dirty)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [2, 3]}`` -> ``{"a.b": 1, "c.0": 2, "c.1": 3}``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out.update(flatten({str(i): v for i, v in enumerate(value)}, f"{name}."))
        else:
            out[name] = value
    return out


def _quiet_mlflow_env() -> None:
    # Before the import: MLflow configures its loggers from this variable when it is imported.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # offline machines; no phoning home
    # a progress bar per artifact download (one small YAML) is noise in a command's output
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow's SQL store triggers a SQLAlchemy deprecation warning that is not ours to fix.
    warnings.filterwarnings("ignore", message=".*noload.* loader strategy is deprecated")


def _quiet_mlflow_loggers() -> None:
    # After the import: MLflow's INFO chatter (database migrations, run links) buries CLI output.
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _sqlite_folder(uri: str) -> Path | None:
    """Folder of the database file of a ``sqlite:///path`` URI (relative or absolute)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve().parent


@dataclass
class TrackedRun:
    """Handle of an open run. With tracking disabled every method is a no-op (``run_id`` None)."""

    run_id: str | None
    tracking_uri: str | None
    experiment_id: str | None
    _client: Any = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.run_id is not None

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (nested) parameters with dotted keys; values are stored as strings."""
        if not self.enabled:
            return
        from mlflow.entities import Param

        items = [Param(k, _param_text(v)) for k, v in flatten(params).items()]
        for i in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, params=items[i:i + _BATCH])

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None,
                    non_numeric: Literal["raise", "skip"] = "raise") -> list[str]:
        """Log (nested) numeric metrics with dotted keys; return the keys not logged.

        Lists become ``key.0``, ``key.1`` (a CI ``[lo, hi]`` becomes ``ci95.0``/``ci95.1``);
        booleans are 0/1; NaN is kept (MLflow stores it). A string or None raises ``TypeError``
        naming the key, unless ``non_numeric="skip"``, in which case its key is returned.
        """
        flat = flatten(metrics)
        skipped = [k for k, v in flat.items() if not _is_number(v)]
        if skipped and non_numeric == "raise":
            raise TypeError(f"non-numeric metric value(s) for {skipped}: pass "
                            "non_numeric='skip' or log them with log_dict")
        if not self.enabled:
            return skipped
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in flat.items() if k not in skipped]
        for i in range(0, len(items), 10 * _BATCH):
            self._client.log_batch(self.run_id, metrics=items[i:i + 10 * _BATCH])
        return skipped

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a local file into the run's artifacts (under ``artifact_path`` if given)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"artifact not found: {path}")
        if self.enabled:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_dict(self, values: Mapping[str, Any], artifact_file: str) -> None:
        """Store a JSON(/YAML by extension) dict as an artifact, e.g. ``results/tca.json``."""
        if self.enabled:
            self._client.log_dict(self.run_id, dict(values), artifact_file)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if self.enabled:
            for key, value in tags.items():
                self._client.set_tag(self.run_id, key, str(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real)  # includes bool and numpy scalars


def _param_text(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value)


def _experiment_id(client: Any, name: str, uri: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    folder = _sqlite_folder(uri)
    location = (folder / "artifacts").as_uri() if folder is not None else None
    return client.create_experiment(name, artifact_location=location)


def mlflow_client(settings: Settings) -> Any:
    """An explicit MLflow client (tracking and registry) on the configured URI, quietened.

    Creates the folder of a ``sqlite:///`` database. Every qlab use of MLflow goes through it,
    so there is one writer configuration and no global MLflow state.
    """
    _quiet_mlflow_env()
    from mlflow.tracking import MlflowClient

    _quiet_mlflow_loggers()
    uri = settings.tracking.mlflow_tracking_uri
    folder = _sqlite_folder(uri)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: Any, settings: Settings) -> str:
    """The id of the configured experiment (created on first use), for callers that open
    runs themselves (a sweep's parent and child runs) through :func:`mlflow_client`."""
    uri = settings.tracking.mlflow_tracking_uri
    return _experiment_id(client, settings.tracking.experiment, uri)


@contextmanager
def tracked_run(kind: str, params: Mapping[str, Any] | None = None,
                tags: Mapping[str, Any] | None = None, settings: Settings | None = None, *,
                data_hash: str | None = None, seed: int | None = None,
                run_name: str | None = None, enabled: bool = True) -> Iterator[TrackedRun]:
    """An MLflow run for one study (``kind``: "tca_compare", "report", ...).

    Logs ``params`` (flattened), ``data_hash`` and ``seed`` as parameters and the kind and code
    version as tags. The run ends FINISHED, or FAILED if the block raises (the error propagates).
    ``enabled=False`` yields a no-op handle: the caller's code path is the same either way.
    """
    if not enabled:
        yield TrackedRun(None, None, None)
        return
    if settings is None:
        from research.config import load_settings

        settings = load_settings()
    client = mlflow_client(settings)
    uri = settings.tracking.mlflow_tracking_uri
    experiment_id = _experiment_id(client, settings.tracking.experiment, uri)
    all_tags = {"qlab.kind": kind, **code_version().as_tags(), **(tags or {})}
    run = client.create_run(experiment_id, run_name=run_name or kind,
                            tags={k: str(v) for k, v in all_tags.items()})
    handle = TrackedRun(run.info.run_id, uri, experiment_id, client)
    status = "FAILED"
    try:
        extra = {k: v for k, v in (("data_hash", data_hash), ("seed", seed)) if v is not None}
        handle.log_params({**(params or {}), **extra})
        yield handle
        status = "FINISHED"
    finally:
        client.set_terminated(handle.run_id, status=status)


__all__ = [
    "CodeVersion", "TrackedRun", "code_version", "experiment_id", "flatten", "mlflow_client",
    "tracked_run"]
