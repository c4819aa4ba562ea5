"""The Parquet store: round trip, filters, atomic failed imports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.data import BarStore, BarValidationError, DatasetNotFound, FileSource


def test_round_trip_preserves_bars(tmp_path, small_minute_bars):
    store = BarStore(tmp_path)
    info = store.write("mini", small_minute_bars, source="test", synthetic=True)
    assert info.frequency == "minute" and info.has_quotes and info.synthetic
    back = store.read("mini")
    expected = small_minute_bars.sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.assign(symbol=back.symbol.astype(str)),
                                  expected, check_dtype=False)
    assert str(back["timestamp"].dt.tz) == "America/New_York"


def test_read_filters_symbols_and_dates(tmp_path, small_minute_bars):
    store = BarStore(tmp_path)
    store.write("mini", small_minute_bars, source="test", synthetic=True)
    one = store.read("mini", ["jpm"], "2022-11-22", "2022-11-22")
    assert set(one["symbol"]) == {"JPM"} and len(one) == 390
    with pytest.raises(KeyError, match="no symbol"):
        store.read("mini", ["NOPE"])
    with pytest.raises(DatasetNotFound, match="known: mini"):
        store.read("other")


def test_failed_write_leaves_store_untouched(tmp_path, small_minute_bars):
    store = BarStore(tmp_path)
    store.write("mini", small_minute_bars, source="v1", synthetic=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    bad = small_minute_bars.copy()
    bad.loc[10, "close"] = np.nan
    with pytest.raises(BarValidationError, match="row 10"):
        store.write("mini", bad, source="v2", synthetic=True, replace=True)
    with pytest.raises(FileExistsError):
        store.write("mini", small_minute_bars, source="v3", synthetic=True)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert store.info("mini").source == "v1"


def test_file_source_csv_with_and_without_quotes(tmp_path, small_minute_bars):
    path = tmp_path / "bars.csv"
    small_minute_bars.drop(columns=["bid", "ask", "bid_size", "ask_size"]).to_csv(path, index=False)
    loaded = FileSource(path).load(["AAPL"])
    assert list(loaded.columns)[:7] == ["timestamp", "symbol", "open", "high", "low", "close",
                                        "volume"]
    assert "bid" not in loaded.columns and len(loaded) > 0
    path2 = tmp_path / "quotes.parquet"
    small_minute_bars.to_parquet(path2)
    assert "bid" in FileSource(path2).load().columns


# ------------------------------------------------------------------------------ store hygiene
_KILLED_WRITER = """
import os, signal, sys
import pandas as pd
from research.data import BarStore

bars = pd.read_parquet(sys.argv[2])
real_to_parquet = pd.DataFrame.to_parquet

def die_after_first_file(self, *args, **kwargs):
    real_to_parquet(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # as an interrupted import dies: no cleanup runs

pd.DataFrame.to_parquet = die_after_first_file
BarStore(sys.argv[1]).write("mini", bars, source="killed", synthetic=True, replace=True)
"""


def test_a_killed_import_leaves_nothing_after_the_next_store_operation(tmp_path,
                                                                       small_minute_bars):
    import signal
    import subprocess
    import sys

    root = tmp_path / "store"
    store = BarStore(root)
    store.write("mini", small_minute_bars, source="v1", synthetic=True)
    source = tmp_path / "bars.parquet"
    small_minute_bars.to_parquet(source)
    # a killed import that already wrote a manifest into its staging folder
    (root / ".staging-mini-0badc0de" / "minute").mkdir(parents=True)
    (root / ".staging-mini-0badc0de" / "manifest.json").write_text("{}")
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(root), str(source)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    leftovers = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    assert any(name.startswith(".staging-mini-") for name in leftovers) and len(leftovers) >= 2

    assert [d.name for d in store.list()] == ["mini"]  # listed cleanly, leftovers never shown
    assert sorted(p.name for p in root.iterdir()) == ["mini"]  # and removed, locks included
    assert store.info("mini").source == "v1"  # the killed import changed nothing


def test_the_folder_of_a_write_still_running_is_left_alone(tmp_path, small_minute_bars):
    import fcntl
    import os

    store = BarStore(tmp_path)
    running = tmp_path / ".staging-other-feedface1234"
    running.mkdir()
    # another writer holds its lock (flock conflicts between open files, even in one process)
    fd = os.open(tmp_path / ".lock-feedface1234", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        store.write("mini", small_minute_bars, source="test", synthetic=True)
        assert [d.name for d in store.list()] == ["mini"]
        assert running.is_dir()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    store.list()
    assert not running.exists()


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "..", "x\\y"])
def test_dataset_names_cannot_leave_the_store(tmp_path, small_minute_bars, name):
    with pytest.raises(ValueError, match="invalid dataset name"):
        BarStore(tmp_path).write(name, small_minute_bars, source="test", synthetic=True)


def test_symbols_that_would_name_a_path_are_never_written(tmp_path, small_minute_bars):
    bad = small_minute_bars.assign(symbol=small_minute_bars["symbol"].astype(str)
                                   .replace("JPM", "../JPM"))
    with pytest.raises(ValueError, match="invalid symbol"):
        BarStore(tmp_path).write("mini", bad, source="test", synthetic=True, validate=False)
    assert not any(tmp_path.rglob("*.parquet"))
