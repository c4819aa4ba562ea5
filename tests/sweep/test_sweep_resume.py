"""A sweep that dies half-way resumes from MLflow without redoing finished points; MLflow
holds the parent run and one child per point (a real MLflow on a temporary SQLite file)."""

from __future__ import annotations

import pytest

from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from sim.sweep.tasks import run_unit
from tests.mlflow_db import settings_on_copy
from tests.sweep.sweep_files import write_sweep

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(mlflow_template_db, tmp_path):
    return settings_on_copy(mlflow_template_db, tmp_path, "qlab-sweep-test")


class Crash(RuntimeError):
    pass


class CountingRun:
    """Runs units and counts them (by config hash); raises on the unit after ``crash_after``."""

    def __init__(self, crash_after: int | None = None):
        self.crash_after = crash_after
        self.hashes: list[str] = []
        self.units = 0

    def __call__(self, unit):
        if self.crash_after is not None and len(self.hashes) == self.crash_after:
            raise Crash("the machine went away")
        self.hashes += [p.config_hash for p in unit.points]
        self.units += 1
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


def test_vectorbt_points_run_in_chunks_and_each_is_a_child_run(tmp_path, settings):
    """The vectorbt task: points batched two per vectorised call, each point still its own
    child run, with the metrics of a direct inverse_volatility_grid call on the same closes."""
    from mlflow.tracking import MlflowClient

    from research.analytics.vectorbt_path import (
        FlatCosts,
        InverseVolatilityParams,
        inverse_volatility_grid,
    )
    from research.data import load_sp500_closes, load_sp500_index

    spec, base = load_sweep(write_sweep(
        tmp_path, task="vectorbt", start="2015-01-02", end="2022-12-28",
        grid={"strategy.lookback_days": [21, 63], "strategy.rebalance_every_sessions": [10, 21]},
        vectorbt={"slippage_bps": 5, "fee_bps": 2, "chunk_size": 2}))
    counting = CountingRun()
    result = run_sweep(spec, base, settings, jobs=1, track=True, bar=False, run=counting)
    assert result.executed == 4 and len(counting.hashes) == 4 and counting.units == 2

    closes = load_sp500_closes().loc["2015-01-02":"2022-12-28", ["AAPL", "MSFT", "JPM", "XOM"]]
    sets = [InverseVolatilityParams(lb, every) for lb in (21, 63) for every in (10, 21)]
    direct = inverse_volatility_grid(closes, sets, FlatCosts(5.0, 2.0), 10_000_000.0,
                                     load_sp500_index())
    table = result.table.set_index(["strategy.lookback_days",
                                    "strategy.rebalance_every_sessions"])
    for params in sets:
        label = (params.lookback, params.rebalance_every)
        for name in ("sharpe", "cagr", "max_drawdown", "cost_drag_bps_annual"):
            assert table.loc[label, name] == pytest.approx(direct.metrics.loc[label, name],
                                                           rel=1e-12)

    client = MlflowClient(settings.tracking.mlflow_tracking_uri)
    children = _children(client, client.get_experiment_by_name(
        "qlab-sweep-test").experiment_id, result.parent_run_id)
    assert len(children) == 4 and {c.data.tags["qlab.task"] for c in children} == {"vectorbt"}


def test_a_sweep_killed_by_the_os_resumes_without_redoing_finished_points(tmp_path, settings):
    """`qlab sweep` in its own process, SIGKILLed once some points are recorded (no clean-up
    runs: the parent run is left RUNNING), then run again: only the points not recorded as
    FINISHED are executed, and the table holds every point once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from mlflow.tracking import MlflowClient

    path = write_sweep(tmp_path, grid={"strategy.lookback_days": [21, 42, 63, 84],
                                       "settings.simulation.impact_y": [0.5, 1.0, 2.0]})
    spec, base = load_sweep(path)
    env = {**os.environ, "QLAB_TRACKING__MLFLOW_TRACKING_URI":
           settings.tracking.mlflow_tracking_uri,
           "QLAB_TRACKING__EXPERIMENT": settings.tracking.experiment}
    proc = subprocess.Popen([sys.executable, "-m", "qlab", "sweep", str(path), "--jobs", "1",
                             "--out", str(tmp_path / "first")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = MlflowClient(settings.tracking.mlflow_tracking_uri)
    finished: set[str] = set()
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            experiment = client.get_experiment_by_name(settings.tracking.experiment)
            if experiment is not None:
                runs = client.search_runs([experiment.experiment_id],
                                          "attributes.status = 'FINISHED'")
                finished = {r.data.tags["qlab.config_hash"] for r in runs
                            if "qlab.config_hash" in r.data.tags}
                if len(finished) >= 2:
                    break
            time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 2 <= len(finished) < 12, "the sweep was not caught half-way"
    experiment = client.get_experiment_by_name(settings.tracking.experiment).experiment_id
    finished = {r.data.tags["qlab.config_hash"] for r in client.search_runs(
        [experiment], "attributes.status = 'FINISHED'") if "qlab.config_hash" in r.data.tags}

    second = CountingRun()
    resumed = run_sweep(spec, base, settings, jobs=1, track=True, bar=False, run=second,
                        out_dir=tmp_path / "second")
    assert resumed.skipped == len(finished) and resumed.executed == 12 - len(finished)
    assert not set(second.hashes) & finished  # nothing recorded was run again
    assert len(resumed.table) == 12 and (resumed.table["status"] == "FINISHED").all()
