"""A sweep that dies half-way resumes from MLflow without redoing finished points; MLflow
holds the parent run and one child per point (a real MLflow on a temporary SQLite file)."""

from __future__ import annotations

import shutil

import pytest

from research.config import load_settings
from research.tracking import tracked_run
from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from sim.sweep.tasks import run_unit
from tests.sweep.sweep_files import write_sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """Create (migrate) the database once; each test copies it (migrations take seconds)."""
    folder = tmp_path_factory.mktemp("mlflow-template")
    settings = load_settings(None, tracking={"mlflow_tracking_uri": f"sqlite:///{folder}/m.db"})
    with tracked_run("warm-up", settings=settings):
        pass
    return folder / "m.db"


@pytest.fixture
def settings(template_db, tmp_path):
    db = tmp_path / "tracking" / "m.db"
    db.parent.mkdir()
    shutil.copy(template_db, db)
    return load_settings(None, tracking={"mlflow_tracking_uri": f"sqlite:///{db}",
                                         "experiment": "qlab-sweep-test"})


class Crash(RuntimeError):
    pass


class CountingRun:
    """Runs units and counts them (by config hash); raises on the unit after ``crash_after``."""

    def __init__(self, crash_after: int | None = None):
        self.crash_after = crash_after
        self.hashes: list[str] = []

    def __call__(self, unit):
        if self.crash_after is not None and len(self.hashes) == self.crash_after:
            raise Crash("the machine went away")
        self.hashes += [p.config_hash for p in unit.points]
        return run_unit(unit)


def _children(client, experiment_id, parent_id):
    return client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'")


def test_a_crashed_sweep_resumes_without_redoing_finished_points(tmp_path, settings):
    from mlflow.tracking import MlflowClient

    spec, base = load_sweep(write_sweep(tmp_path))
    first = CountingRun(crash_after=2)
    with pytest.raises(Crash):
        run_sweep(spec, base, settings, jobs=1, track=True, bar=False, run=first)
    assert len(first.hashes) == 2

    client = MlflowClient(settings.tracking.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name("qlab-sweep-test").experiment_id
    parents = client.search_runs([experiment], "tags.`qlab.kind` = 'sweep'")
    assert len(parents) == 1 and parents[0].info.status == "FAILED"
    parent_id = parents[0].info.run_id
    assert {r.data.tags["qlab.config_hash"] for r in _children(client, experiment, parent_id)
            } == set(first.hashes)

    second = CountingRun()
    out = tmp_path / "out"
    resumed = run_sweep(spec, base, settings, jobs=1, track=True, bar=False, run=second,
                        out_dir=out)
    assert (resumed.executed, resumed.skipped) == (2, 2)
    assert len(second.hashes) == 2 and not set(second.hashes) & set(first.hashes)
    assert resumed.parent_run_id == parent_id
    assert (resumed.table["status"] == "FINISHED").all()

    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["points"] == "4"
    assert 0.0 <= parent.data.metrics["deflated_sharpe"] <= 1.0
    children = _children(client, experiment, parent_id)
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["qlab.config_hash"] for c in children} == set(
        resumed.table["config_hash"])
    child = next(c for c in children if c.data.tags["qlab.point"] == "3")
    assert child.data.params == {"strategy.lookback_days": "63",
                                 "settings.simulation.impact_y": "2.0"}
    row = resumed.table.set_index("point").loc[3]
    assert child.data.metrics["sharpe"] == pytest.approx(row["sharpe"], rel=1e-12)
    assert [a.path for a in client.list_artifacts(child.info.run_id)] == ["result.json.gz"]
    # the table, the caution and the view are written, the best point's returns read back
    # from its artifact when it ran before the crash
    assert {p.name for p in out.iterdir()} == {
        "small.parquet", "small.csv", "small.html", "small.summary.json"}
    assert resumed.caution["deflated_sharpe"] is not None

    third = CountingRun()
    again = run_sweep(spec, base, settings, jobs=1, track=True, bar=False, run=third)
    assert third.hashes == [] and (again.executed, again.skipped) == (0, 4)
