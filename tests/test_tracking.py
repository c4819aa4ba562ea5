"""research.tracking against a real MLflow on a temporary SQLite database."""

from __future__ import annotations

import pytest

from research.config import load_settings
from research.tracking import code_version, flatten, tracked_run
from tests.mlflow_db import settings_on_copy


@pytest.fixture
def settings(mlflow_template_db, tmp_path):
    return settings_on_copy(mlflow_template_db, tmp_path, "qlab-test")


def _client(settings):
    from mlflow.tracking import MlflowClient

    return MlflowClient(settings.tracking.mlflow_tracking_uri)


def test_run_records_params_metrics_tags_and_artifacts(settings, tmp_path):
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    with tracked_run("tca_compare", {"costs": {"impact_y": 0.8}, "strategies": ["twap"]},
                     tags={"purpose": "test"}, settings=settings, data_hash="abc123",
                     seed=7) as run:
        run.log_metrics({"twap": {"is_bps": {"mean": 16.2, "ci95": [14.0, 18.5]}},
                         "fill_rate": 1})
        run.log_artifact(report, "report")
        run.log_dict({"verdict": "holds"}, "results/summary.json")
    stored = _client(settings).get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"costs.impact_y": "0.8", "strategies.0": "twap",
                                  "data_hash": "abc123", "seed": "7"}
    assert stored.data.metrics == {"twap.is_bps.mean": 16.2, "twap.is_bps.ci95.0": 14.0,
                                   "twap.is_bps.ci95.1": 18.5, "fill_rate": 1.0}
    assert stored.data.tags["qlab.kind"] == "tca_compare"
    assert stored.data.tags["purpose"] == "test"
    sha = stored.data.tags["qlab.git_sha"]
    assert sha == "unknown" or len(sha) == 40
    paths = {a.path for a in _client(settings).list_artifacts(run.run_id, "report")}
    assert paths == {"report/report.html"}
    local = _client(settings).download_artifacts(run.run_id, "results/summary.json", str(tmp_path))
    assert '"verdict": "holds"' in open(local).read()


def test_failing_block_marks_the_run_failed_and_reraises(settings):
    with pytest.raises(RuntimeError, match="boom"), tracked_run("x", settings=settings) as run:
        raise RuntimeError("boom")
    assert _client(settings).get_run(run.run_id).info.status == "FAILED"


def test_non_numeric_metrics_raise_unless_skipped(settings):
    with tracked_run("x", settings=settings) as run:
        with pytest.raises(TypeError, match=r"\['verdict'\]"):
            run.log_metrics({"verdict": "holds", "n": 3})
        assert run.log_metrics({"verdict": "holds", "n": 3}, non_numeric="skip") == ["verdict"]
    assert _client(settings).get_run(run.run_id).data.metrics == {"n": 3.0}


def test_disabled_tracking_is_a_no_op(tmp_path):
    settings = load_settings(None, tracking={"mlflow_tracking_uri":
                                             f"sqlite:///{tmp_path}/none/m.db"})
    with tracked_run("x", {"a": 1}, settings=settings, enabled=False) as run:
        run.log_metrics({"m": 1.0})
        run.log_artifact(__file__)
    assert run.run_id is None and not (tmp_path / "none").exists()


def test_code_version_outside_git_is_unknown(tmp_path):
    assert code_version(tmp_path).sha == "unknown"
    assert code_version(tmp_path).as_tags() == {"qlab.git_sha": "unknown",
                                                "qlab.git_dirty": "unknown"}


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [2, {"d": 3}]}}) == {"a.b": 1, "a.c.0": 2, "a.c.1.d": 3}
