"""`qlab data ...` and `qlab config validate` from the user's side."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from qlab.cli import app

runner = CliRunner()


def test_help_lists_areas():
    result = subprocess.run([sys.executable, "-m", "qlab", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "data" in result.stdout and "config" in result.stdout


def test_validate_names_every_offending_row_and_exits_nonzero(isolated_env, small_minute_bars):
    bad = small_minute_bars.head(50).copy()
    bad.loc[3, "close"] = np.nan
    bad.loc[7, "volume"] = -10
    bad.loc[11, "high"] = bad.loc[11, "low"] * 0.5
    bad.loc[20, "bid"] = bad.loc[20, "ask"] + 1
    path = isolated_env / "bad.csv"
    bad.to_csv(path, index=False)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    for row, rule in [(3, "nan"), (7, "negative_volume"), (11, "high_below_open_close"),
                      (20, "bid_above_ask")]:
        assert f"[{rule}] row {row}, symbol AAPL" in result.output


def test_failed_import_changes_nothing_and_good_import_lists(isolated_env, small_minute_bars):
    good = isolated_env / "good.parquet"
    small_minute_bars.to_parquet(good)
    assert runner.invoke(app, ["data", "import", str(good), "--name", "mine"]).exit_code == 0
    store = isolated_env / "store"
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    bad = small_minute_bars.copy()
    bad.loc[5, "open"] = -1.0
    bad_path = isolated_env / "bad.parquet"
    bad.to_parquet(bad_path)
    result = runner.invoke(app, ["data", "import", str(bad_path), "--name", "mine", "--replace"])
    assert result.exit_code == 1 and "nothing imported" in result.output
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    listing = runner.invoke(app, ["data", "list"])
    assert "mine" in listing.output and "real" in listing.output
    shown = runner.invoke(app, ["data", "show", "mine", "--rows", "2"])
    assert shown.exit_code == 0 and "JPM" in shown.output


def test_import_with_repair_drops_and_lists(isolated_env, small_minute_bars):
    bad = small_minute_bars.copy()
    bad.loc[5, "open"] = -1.0
    path = isolated_env / "bad.parquet"
    bad.to_parquet(path)
    result = runner.invoke(app, ["data", "import", str(path), "--name", "fixed", "--repair"])
    assert result.exit_code == 0, result.output
    assert "dropped: [non_positive_price] row 5" in result.output
    assert f"imported {len(bad) - 1} rows" in result.output


def test_config_validate_reports_paths(isolated_env):
    path = isolated_env / "run.yaml"
    path.write_text("name: x\nexecution: {algorithm: nope}\nbogus: 1\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 1
    assert "execution.algorithm" in result.output and "bogus" in result.output
    path.write_text("name: x\n")
    assert runner.invoke(app, ["config", "validate", str(path)]).exit_code == 0


def test_cli_import_loads_no_heavy_library():
    # `qlab --help` must answer at once: the heavy libraries load inside the commands only.
    heavy = ("pandas", "scipy", "mlflow", "cvxpy", "vectorbt", "tigeropen", "dask", "numba",
             "papermill", "sklearn")
    code = ("import sys, qlab.cli; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_list_on_a_fresh_clone_shows_the_embedded_data(isolated_env):
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    assert "store: empty" in result.output
    for name in ("sp500_closes", "sp500_synthetic_minute", "sp500_synthetic_daily"):
        assert name in result.output
    listing = json.loads(runner.invoke(app, ["data", "list", "--json"]).output)
    embedded = {d["name"]: d for d in listing["embedded"]}
    assert listing["store"] == []
    assert embedded["sp500_closes"]["synthetic"] is False
    assert len(embedded["sp500_closes"]["symbols"]) == 20
    assert embedded["sp500_synthetic_minute"] == {**embedded["sp500_synthetic_minute"],
                                                  "synthetic": True, "in_store": False}


def test_list_ignores_and_removes_a_leftover_holding_a_manifest(isolated_env, small_minute_bars):
    good = isolated_env / "good.parquet"
    small_minute_bars.to_parquet(good)
    assert runner.invoke(app, ["data", "import", str(good), "--name", "mine"]).exit_code == 0
    store = isolated_env / "store"
    leftover = store / ".staging-mine-1234abcd"
    leftover.mkdir()
    (leftover / "manifest.json").write_text((store / "mine" / "manifest.json").read_text())
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    assert ".staging" not in result.output and "mine" in result.output
    assert not leftover.exists()


def test_config_validate_accepts_names_that_exist(isolated_env, small_minute_bars):
    """The reference checks refuse only what is missing: an embedded dataset (not yet built),
    a dataset of the store, its symbols, real dates and a calibration file that exists pass."""
    (isolated_env / "calibration.json").write_text("{}")
    path = isolated_env / "run.yaml"
    path.write_text("name: x\nuniverse: {dataset: sp500_synthetic_minute, symbols: [aapl, MSFT],"
                    " start: 2022-03-01, end: '2022-03-31'}\n"
                    "cost_model: {fee_schedule: zero, calibration_file: calibration.json}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
    good = isolated_env / "good.parquet"
    small_minute_bars.to_parquet(good)
    assert runner.invoke(app, ["data", "import", str(good), "--name", "mine"]).exit_code == 0
    path.write_text("name: x\nuniverse: {dataset: mine, symbols: [JPM]}\n")
    assert runner.invoke(app, ["config", "validate", str(path)]).exit_code == 0
    path.write_text("name: x\nuniverse: {dataset: mine, symbols: [MSFT]}\n")
    refused = runner.invoke(app, ["config", "validate", str(path)])
    assert refused.exit_code == 1 and "universe.symbols: ['MSFT'] not in dataset 'mine'" in \
        refused.output


def test_import_repair_drops_copies_appended_at_the_end_and_imports(isolated_env,
                                                                   small_minute_bars):
    import pandas as pd

    bars = small_minute_bars.head(40)
    path = isolated_env / "dups.csv"
    pd.concat([bars, bars.iloc[[5, 6]]], ignore_index=True).to_csv(path, index=False)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    assert "[duplicate_timestamp] row 40" in result.output and "as row 5" in result.output
    assert "[duplicate_timestamp] row 41" in result.output and "as row 6" in result.output
    result = runner.invoke(app, ["data", "import", str(path), "--name", "dups", "--repair"])
    assert result.exit_code == 0, result.output
    assert "imported 40 rows" in result.output
