"""One small sweep (4 points, a year of daily replay, 4 names) on joblib and on a Dask
distributed LocalCluster of 2 worker processes: the same results, point for point."""

from __future__ import annotations

import pandas as pd
import pytest

from research.config import load_settings
from sim.sweep.results import RUN_COLUMNS
from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from tests.sweep.sweep_files import write_sweep

pytestmark = pytest.mark.slow


def test_joblib_and_dask_distributed_give_identical_tables(tmp_path):
    from dask.distributed import LocalCluster

    spec, base = load_sweep(write_sweep(tmp_path))
    settings = load_settings(None)
    by_joblib = run_sweep(spec, base, settings, jobs=2, track=False, bar=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        by_dask = run_sweep(spec, base, settings, scheduler=cluster.scheduler_address,
                            track=False, bar=False)
    assert by_joblib.executed == by_dask.executed == 4
    left = by_joblib.table.drop(columns=list(RUN_COLUMNS))
    right = by_dask.table.drop(columns=list(RUN_COLUMNS))
    assert (left["status"] == "FINISHED").all(), left["error"].tolist()
    pd.testing.assert_frame_equal(left, right, check_exact=True)
    # the swept fields reach the replay: each changes the result
    sharpe = left.set_index(["strategy.lookback_days", "settings.simulation.impact_y"])["sharpe"]
    assert sharpe.nunique() == 4
    # more simulated impact costs more: the same lookback, impact_y 2.0 against 0.5
    drag = left.set_index(["strategy.lookback_days", "settings.simulation.impact_y"])[
        "cost_drag_bps_annual"]
    assert drag[(21, 2.0)] > drag[(21, 0.5)] and drag[(63, 2.0)] > drag[(63, 0.5)]
