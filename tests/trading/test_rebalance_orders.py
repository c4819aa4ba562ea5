"""Rebalance orders: hand-computed trades from price drift, schema, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.strategies import PARENT_ORDER_COLUMNS, EqualWeight, InverseVolatility
from research.trading import rebalance_dates, rebalance_orders


@pytest.fixture
def two_stock_closes() -> pd.DataFrame:
    from research.data.calendar import sessions

    days = sessions("2021-12-01", "2022-03-31").index
    closes = pd.DataFrame({"A": 10.0, "B": 20.0}, index=days)
    closes.loc[pd.Timestamp("2022-01-31"):, "A"] = 15.0  # A rallies into the February rebalance
    return closes


def test_orders_are_the_hand_computed_trades(two_stock_closes):
    orders = rebalance_orders(two_stock_closes, EqualWeight(), capital=1000.0,
                              start="2022-01-01", initial="cash")
    assert list(orders.columns) == list(PARENT_ORDER_COLUMNS)
    # Jan 3: NAV 1000 at (10, 20): buy 50 A, 25 B. Feb 1: NAV 50*15 + 25*20 = 1250;
    # targets round(625/15) = 42 A, round(625/20) = 31 B: sell 8 A, buy 6 B. Mar 1: no drift.
    got = orders[["order_id", "symbol", "side", "quantity"]].to_dict("records")
    assert got == [
        {"order_id": "RB-20220103-A", "symbol": "A", "side": "buy", "quantity": 50},
        {"order_id": "RB-20220103-B", "symbol": "B", "side": "buy", "quantity": 25},
        {"order_id": "RB-20220201-A", "symbol": "A", "side": "sell", "quantity": 8},
        {"order_id": "RB-20220201-B", "symbol": "B", "side": "buy", "quantity": 6},
    ]
    assert (orders["decision_time"].dt.strftime("%H:%M") == "10:00").all()
    assert str(orders["decision_time"].dt.tz) == "America/New_York"
    assert (orders["horizon_minutes"] == 60).all()


def test_initial_target_emits_only_drift_orders(two_stock_closes):
    orders = rebalance_orders(two_stock_closes, EqualWeight(), capital=1000.0,
                              start="2022-01-01", initial="target")
    assert orders["order_id"].tolist() == ["RB-20220201-A", "RB-20220201-B"]
    assert orders["quantity"].tolist() == [8, 6]


def test_orders_do_not_look_at_the_rebalance_day_or_later(two_stock_closes):
    base = rebalance_orders(two_stock_closes, EqualWeight(), 1000.0, start="2022-01-01",
                            end="2022-02-28")
    shocked = two_stock_closes.copy()
    shocked.loc[pd.Timestamp("2022-02-01"):] *= 3.0
    pd.testing.assert_frame_equal(
        rebalance_orders(shocked, EqualWeight(), 1000.0, start="2022-01-01", end="2022-02-28"),
        base)


def test_embedded_portfolio_monthly_rebalance_is_deterministic(sp500_closes):
    kwargs = dict(capital=10e6, start="2022-01-01", end="2022-06-30")
    first = rebalance_orders(sp500_closes, InverseVolatility(63), **kwargs)
    again = rebalance_orders(sp500_closes, InverseVolatility(63), **kwargs)
    pd.testing.assert_frame_equal(first, again)
    assert first["order_id"].is_unique and (first["quantity"] > 0).all()
    assert set(first["side"]) == {"buy", "sell"}
    assert first["decision_time"].dt.month.unique().tolist() == [2, 3, 4, 5, 6]


def test_horizon_past_the_close_is_refused(two_stock_closes):
    with pytest.raises(ValueError, match="ends after the close"):
        rebalance_orders(two_stock_closes, EqualWeight(), 1000.0, start="2022-01-01",
                         decision_time="15:30", horizon_minutes=60, initial="cash")


def test_rebalance_dates_first_session_of_each_period():
    days = pd.DatetimeIndex(["2022-01-03", "2022-01-04", "2022-01-10", "2022-02-01",
                             "2022-02-02"])
    assert rebalance_dates(days, "monthly").strftime("%m-%d").tolist() == ["01-03", "02-01"]
    assert rebalance_dates(days, "weekly").strftime("%m-%d").tolist() == [
        "01-03", "01-10", "02-01"]
    with pytest.raises(ValueError, match="frequency"):
        rebalance_dates(days, "yearly")
    assert np.array_equal(rebalance_dates(days, "daily"), days)
