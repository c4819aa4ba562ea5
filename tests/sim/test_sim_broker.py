from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sim_helpers import NY, minute_bars

from research.config import SimulationSettings
from research.domain import Order, OrderStatus, OrderType, Side, TimeInForce
from research.execution import Rejected, ReportKind
from sim import BarReplay, SimulatedBroker


def mkt(cid, qty, side=Side.BUY, sym="AAA"):
    return Order(cid, sym, side, qty)


def lmt(cid, qty, price, side=Side.BUY, tif=TimeInForce.DAY):
    return Order(cid, "AAA", side, qty, OrderType.LIMIT, price, tif)


def fills_of(broker, cid):
    return [(f.quantity, f.price) for f in broker.fills([cid])]


@pytest.mark.parametrize("latency", [1, 2])
def test_no_fill_on_the_decision_bar_and_latency(latency):
    b = SimulatedBroker(minute_bars(spread=0.02), latency_bars=latency)
    b.process_bar(0)
    b.submit(mkt("C1", 100))  # decided on bar 0
    b.process_bar(1)
    assert fills_of(b, "C1") == ([] if latency == 2 else [(100, 100.01)])
    b.process_bar(2)
    assert fills_of(b, "C1") == [(100, 100.01)]
    assert b.fills()[0].timestamp == b.replay.timestamps[latency]


def test_quotes_vs_no_quotes_price():
    quoted = SimulatedBroker(minute_bars(spread=0.04))
    bare = SimulatedBroker(minute_bars(), fallback_half_spread_bps=2.0)
    for b in (quoted, bare):
        b.process_bar(0)
        b.submit(mkt("B", 100))
        b.submit(mkt("S", 100, Side.SELL))
        b.process_bar(1)
    assert fills_of(quoted, "B") == [(100, pytest.approx(100.02))]
    assert fills_of(quoted, "S") == [(100, pytest.approx(99.98))]
    assert fills_of(bare, "B") == [(100, pytest.approx(100.0 * (1 + 2e-4)))]
    assert fills_of(bare, "S") == [(100, pytest.approx(100.0 * (1 - 2e-4)))]


def test_square_root_temporary_and_permanent_impact():
    settings = SimulationSettings(impact_y=0.8, permanent_impact=1.2, max_participation=0.1)
    rp = minute_bars(spread=0.02, high_mult=1.001, low_mult=0.999, volume=100_000)
    b = SimulatedBroker(rp, settings)
    b.process_bar(0)
    b.submit(mkt("C1", 1_000))
    b.process_bar(1)
    sigma = math.log(1.001 / 0.999) / math.sqrt(4 * math.log(2))  # Parkinson, one bar
    impact = 0.8 * sigma * math.sqrt(1_000 / 100_000)
    ((q, p),) = fills_of(b, "C1")
    assert p == pytest.approx(100.01 * (1 + impact), rel=1e-12)
    # permanent: 1.2 x daily sigma x shares / ADV, with ADV = 390 x the past mean bar volume
    permanent = 1.2 * sigma * math.sqrt(390) * 1_000 / (390 * 100_000)
    assert b.snapshot(2).close[0] == pytest.approx(100.0 * (1 + permanent), rel=1e-12)
    assert rp.close[2, 0] == 100.0  # the data itself is untouched


def test_permanent_impact_does_not_depend_on_slicing():
    # One 2,000-share order vs two 1,000-share orders on consecutive bars: same final shift.
    rp = minute_bars(spread=0.02, high_mult=1.001, low_mult=0.999, volume=100_000)
    settings = SimulationSettings(impact_y=0.8, permanent_impact=1.0, max_participation=1.0)
    whole = SimulatedBroker(rp, settings)
    whole.process_bar(0)
    whole.submit(mkt("W", 2_000))
    for t in (1, 2):
        whole.process_bar(t)
    sliced = SimulatedBroker(rp, settings)
    sliced.process_bar(0)
    sliced.submit(mkt("S1", 1_000))
    sliced.process_bar(1)
    sliced.submit(mkt("S2", 1_000))
    sliced.process_bar(2)
    sliced.process_bar(3)
    whole.process_bar(3)
    assert sliced.snapshot(3).close[0] == pytest.approx(whole.snapshot(3).close[0], rel=1e-9)


@pytest.mark.parametrize(("rule", "low", "filled"), [
    ("through", 99.95, False), ("through", 99.94, True), ("touch", 99.95, True),
    ("touch", 99.96, False),
])
def test_limit_fills_only_when_traded_through_or_touched(rule, low, filled):
    rp = minute_bars(low_mult=low / 100.0)
    b = SimulatedBroker(rp, SimulationSettings(limit_fill_rule=rule))
    b.process_bar(0)
    b.submit(lmt("L1", 100, 99.95))
    b.process_bar(1)
    assert fills_of(b, "L1") == ([(100, 99.95)] if filled else [])


def test_limit_volume_share_carries_over_to_later_bars():
    rp = minute_bars(low_mult=0.99, volume=10_000)
    b = SimulatedBroker(rp, SimulationSettings(limit_volume_share=0.05))
    b.process_bar(0)
    b.submit(lmt("L1", 1_200, 99.95))
    for t in (1, 2, 3):
        b.process_bar(t)
    assert [q for q, _ in fills_of(b, "L1")] == [500, 500, 200]
    assert b.get_order("L1").status is OrderStatus.FILLED
    kinds = [(r.kind, r.status, r.cum_filled) for r in b.poll_reports()]
    # one poll after three bars: the ACCEPTED the fills superseded is not delivered
    assert kinds == [(ReportKind.FILL, OrderStatus.PARTIALLY_FILLED, 500),
                     (ReportKind.FILL, OrderStatus.PARTIALLY_FILLED, 1000),
                     (ReportKind.FILL, OrderStatus.FILLED, 1200)]


@pytest.mark.parametrize("coalesce", [True, False])
def test_a_poll_drops_only_acceptances_superseded_in_the_same_poll(coalesce):
    rp = minute_bars(low_mult=0.99, volume=10_000)
    b = SimulatedBroker(rp, SimulationSettings(limit_volume_share=0.05),
                        coalesce_reports=coalesce)
    b.process_bar(0)
    b.submit(lmt("FILLS", 100, 99.95))
    b.submit(lmt("RESTS", 100, 90.00))  # never reached: stays accepted
    assert [(r.client_order_id, r.kind) for r in b.poll_reports()] == [
        ("FILLS", ReportKind.ACCEPTED), ("RESTS", ReportKind.ACCEPTED)]  # polled in time
    b.submit(lmt("LATE", 100, 99.95))
    b.process_bar(1)
    got = [(r.client_order_id, r.kind) for r in b.poll_reports()]
    expected = [("FILLS", ReportKind.FILL), ("LATE", ReportKind.FILL)]
    if not coalesce:
        expected.insert(0, ("LATE", ReportKind.ACCEPTED))
    assert got == expected


def test_participation_cap_goes_in_arrival_order_and_zero_volume_never_fills():
    rp = minute_bars(spread=0.02, volume=10_000)
    rp.volume[1, 0] = 0.0  # a halted bar
    b = SimulatedBroker(rp, SimulationSettings(max_participation=0.10))
    b.process_bar(0)
    b.submit(mkt("A", 800))
    b.submit(mkt("B", 400))
    b.process_bar(1)
    assert b.fills() == []
    b.process_bar(2)
    # cap 1,000: A (first in) takes all its 800, B the 200 left and the rest next bar
    assert [q for q, _ in fills_of(b, "A")] == [800] and [q for q, _ in fills_of(b, "B")] == [200]
    b.process_bar(3)
    assert sum(q for q, _ in fills_of(b, "A")) == 800 and sum(q for q, _ in fills_of(b, "B")) == 400
    assert b.positions()["AAA"].quantity == 1_200


def test_tiger_rules_are_enforced():
    pre = minute_bars(start=datetime(2024, 3, 4, 8, 0))
    b = SimulatedBroker(pre)
    b.process_bar(0)
    with pytest.raises(Rejected) as e:
        b.submit(mkt("M", 10))
    assert e.value.code == "outside_rth"
    b.submit(lmt("L", 10, 99.5))  # a limit order outside regular hours is fine
    with pytest.raises(Rejected, match="tick size"):
        b.submit(lmt("T", 10, 99.505))
    with pytest.raises(Rejected, match="time in force"):
        b.submit(lmt("I", 10, 99.5, tif=TimeInForce.IOC))
    with pytest.raises(Rejected) as e:
        b.submit(lmt("L", 10, 99.5))
    assert e.value.code == "duplicate_client_order_id" and b.duplicate_submits == 1
    sub_dollar = SimulatedBroker(minute_bars(close=0.5))
    sub_dollar.process_bar(0)
    sub_dollar.submit(lmt("P", 10, 0.4999))  # $0.0001 ticks below $1


def test_day_orders_expire_at_the_session_close():
    ts = [datetime(2024, 3, 4, 15, 58, tzinfo=NY) + timedelta(minutes=i) for i in range(2)]
    ts.append(datetime(2024, 3, 5, 9, 31, tzinfo=NY))
    c = np.full((3, 1), 100.0)
    rp = BarReplay.from_arrays(ts, ["AAA"], close=c, volume=c * 100)
    b = SimulatedBroker(rp)
    b.process_bar(0)
    b.submit(lmt("D", 10, 99.0))
    b.submit(lmt("G", 10, 99.0, tif=TimeInForce.GTC))
    b.process_bar(1)
    assert b.get_order("D").status is OrderStatus.EXPIRED
    assert b.get_order("G").status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in b.open_orders()] == ["G"]


def test_cancel_is_idempotent_and_unknown_is_rejected():
    b = SimulatedBroker(minute_bars())
    b.process_bar(0)
    b.submit(lmt("L", 10, 99.0))
    b.cancel("L")
    b.cancel("L")
    assert b.get_order("L").status is OrderStatus.CANCELLED
    with pytest.raises(Rejected):
        b.cancel("nope")


def test_replay_from_frame_and_its_errors():
    ts = pd.date_range("2024-03-04 09:31", periods=3, freq="min", tz="America/New_York")
    df = pd.DataFrame({"timestamp": np.repeat(ts, 2), "symbol": ["B", "A"] * 3,
                       "open": 10.0, "high": 10.1, "low": 9.9, "close": 10.0, "volume": 5.0,
                       "bid": 9.99, "ask": 10.01})
    rp = BarReplay.from_frame(df)
    assert rp.symbols == ("A", "B") and rp.close.shape == (3, 2) and rp.ask[0, 0] == 10.01
    with pytest.raises(ValueError, match="duplicate bar for B"):
        BarReplay.from_frame(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(ValueError, match="volume"):
        BarReplay.from_frame(df.drop(columns="volume"))
    bad = df.copy()
    bad.loc[0, "low"] = 11.0
    with pytest.raises(ValueError, match="high < low for B"):
        BarReplay.from_frame(bad)


def test_fees_are_per_order_so_a_minimum_is_paid_once_across_partial_fills():
    def fee_fn(quantity, price, side_sign):  # $1 minimum, else 1 cent a share
        return np.maximum(1.0, 0.01 * np.asarray(quantity, dtype=float))

    rp = minute_bars(volume=1_000)  # 10% cap: 100 shares a bar
    b = SimulatedBroker(rp, SimulationSettings(max_participation=0.1), fee_fn=fee_fn)
    b.process_bar(0)
    b.submit(mkt("F1", 250))
    for t in (1, 2, 3):
        b.process_bar(t)
    fills = [f for f in b.fills() if f.client_order_id == "F1"]
    assert [f.quantity for f in fills] == [100, 100, 50]
    # order fee after 100 shares: $1 (minimum); after 200: $2; after 250: $2.50
    assert [round(f.fees, 10) for f in fills] == [1.0, 1.0, 0.5]
    assert sum(f.fees for f in fills) == pytest.approx(float(fee_fn(250, 100.0, 1)))


def test_a_held_name_without_a_bar_is_worth_its_last_close_not_nothing(tmp_path):
    """A symbol that did not trade on the last bar (halted, delisted, a quiet minute) keeps its
    last close in the account's equity — the NAV the trading loop sizes its next decision on.
    The same after a restart from the broker's store."""
    rp = minute_bars(n=6, symbols=("AAA", "BBB"), spread=0.02)
    rp.close[3:, 1] = np.nan  # BBB stops trading after bar 2 (its last close: 100)
    # no permanent impact: the mark is the close as printed, checkable by hand
    b = SimulatedBroker(rp, SimulationSettings(permanent_impact=0.0),
                        state_path=tmp_path / "b.sqlite")
    b.process_bar(0)
    b.submit(mkt("C1", 100, sym="BBB"))
    for t in range(1, 6):
        b.process_bar(t)
    assert [f.quantity for f in b.fills(["C1"])] == [100]
    account = b.account()
    assert not np.isfinite(b.snapshot(5).close[1])  # no bar for BBB now
    assert account.equity == pytest.approx(account.cash + 100 * 100.0, rel=1e-12)
    restarted = SimulatedBroker(rp, SimulationSettings(permanent_impact=0.0),
                                state_path=tmp_path / "b.sqlite")
    assert restarted.account().equity == pytest.approx(account.equity, rel=1e-12)
