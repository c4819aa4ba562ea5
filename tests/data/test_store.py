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
