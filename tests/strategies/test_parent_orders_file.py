"""The parent-order file loader: valid files load; each kind of bad row is named."""

from __future__ import annotations

import pandas as pd
import pytest

from research.strategies import PARENT_ORDER_COLUMNS, ParentOrderError, load_parent_orders

GOOD = [
    ("A-1", "aapl", "BUY", 100, "2022-03-01 10:00:00-05:00", 30),
    ("A-2", "JPM", "sell", 250, "2022-03-01T15:00:00Z", 60),
]


def _write(tmp_path, rows, columns=PARENT_ORDER_COLUMNS, name="orders.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_valid_csv_and_parquet_load_normalised(tmp_path):
    orders = load_parent_orders(_write(tmp_path, GOOD))
    assert list(orders.columns) == list(PARENT_ORDER_COLUMNS)
    assert orders["symbol"].tolist() == ["AAPL", "JPM"]
    assert orders["side"].tolist() == ["buy", "sell"]
    assert orders["decision_time"].dt.strftime("%H:%M").tolist() == ["10:00", "10:00"]
    assert orders["quantity"].dtype == "int64"
    parquet = tmp_path / "orders.parquet"
    orders.to_parquet(parquet)
    pd.testing.assert_frame_equal(load_parent_orders(parquet), orders, check_dtype=False)


@pytest.mark.parametrize(("row", "message"), [
    (("B-1", "AAPL", "short", 100, "2022-03-01 10:00:00-05:00", 30),
     "row 2 (order_id 'B-1'): side: 'short' is not 'buy' or 'sell'"),
    (("B-1", "AAPL", "buy", 0, "2022-03-01 10:00:00-05:00", 30),
     "row 2 (order_id 'B-1'): quantity: must be > 0"),
    (("B-1", "AAPL", "buy", 10.5, "2022-03-01 10:00:00-05:00", 30),
     "row 2 (order_id 'B-1'): quantity: must be a whole number"),
    (("B-1", "AAPL", "buy", 100, "2022-03-01 10:00:00", 30),
     "row 2 (order_id 'B-1'): decision_time: no time zone offset"),
    (("B-1", "AAPL", "buy", 100, "2022-03-01 10:00:00-05:00", 0),
     "row 2 (order_id 'B-1'): horizon_minutes: must be > 0"),
    (("B-1", "AAPL", "buy", 100, "2022-03-01 08:00:00-05:00", 30),
     "row 2 (order_id 'B-1'): decision_time: 2022-03-01 08:00:00-05:00 is outside regular"),
    (("B-1", "AAPL", "buy", 100, "2022-03-05 10:00:00-05:00", 30),  # a Saturday
     "row 2 (order_id 'B-1'): decision_time: 2022-03-05 10:00:00-05:00 is outside regular"),
    (("A-1", "AAPL", "buy", 100, "2022-03-01 10:00:00-05:00", 30),
     "row 2 (order_id 'A-1'): order_id: duplicate"),
])
def test_bad_row_is_named(tmp_path, row, message):
    with pytest.raises(ParentOrderError) as info:
        load_parent_orders(_write(tmp_path, [GOOD[0], row]))
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems
    assert len(info.value.problems) == 1


def test_missing_column_and_all_problems_at_once(tmp_path):
    path = _write(tmp_path, [r[:5] for r in GOOD], PARENT_ORDER_COLUMNS[:5])
    with pytest.raises(ParentOrderError, match="missing column 'horizon_minutes'"):
        load_parent_orders(path)
    rows = [("C-1", "AAPL", "hold", -5, "2022-03-01 10:00", 30)]
    with pytest.raises(ParentOrderError) as info:
        load_parent_orders(_write(tmp_path, rows))
    assert len(info.value.problems) == 3  # side, quantity, naive time, all reported together
