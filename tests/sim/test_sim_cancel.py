"""Cancels in the simulated broker: a cancel takes effect from the bar after it reaches the
broker, a cancelled order never fills, every order's reported lifecycle is legal, and nothing
that happens in the market after a parent's deadline changes that parent's results."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from sim_helpers import NY, minute_bars

from research.domain import Algorithm, Order, OrderStatus, OrderType, Side
from research.execution import ExecutionEngine, Journal, ParentOrder, execution_quality
from research.execution.lifecycle import is_legal
from sim import BarReplay, SimulatedBroker, run_replay

S = OrderStatus


def market_buy(cid: str, qty: int) -> Order:
    return Order(cid, "AAA", Side.BUY, qty, OrderType.MARKET)


def test_an_order_cancelled_before_its_first_eligible_bar_never_fills():
    b = SimulatedBroker(minute_bars(n=5))
    b.process_bar(0)
    b.submit(market_buy("c1", 100))  # decided on bar 0: eligible from bar 1
    b.cancel("c1")  # reaches the broker before bar 1: effective from bar 1
    for t in range(1, 5):
        b.process_bar(t)
    assert b.fills() == []
    assert b.get_order("c1").status is S.CANCELLED
    assert [r.status for r in b.poll_reports()] == [S.CANCELLED]  # ACCEPTED coalesced away


def test_a_partly_filled_order_takes_no_fill_after_its_cancel():
    # 10,000 shares a bar at a 10% cap: 1,000 shares a bar of a 5,000-share order
    b = SimulatedBroker(minute_bars(n=8, volume=10_000), coalesce_reports=False)
    b.process_bar(0)
    b.submit(market_buy("c1", 5_000))
    b.process_bar(1)
    b.process_bar(2)
    b.cancel("c1")  # after bar 2 closed
    for t in range(3, 8):
        b.process_bar(t)
    assert [f.quantity for f in b.fills()] == [1_000, 1_000]
    assert {f.timestamp for f in b.fills()} == set(b.replay.timestamps[1:3])
    view = b.get_order("c1")
    assert view.status is S.CANCELLED and view.filled_quantity == 2_000
    assert b.positions()["AAA"].quantity == 2_000
    statuses = [r.status for r in b.poll_reports()]
    assert statuses == [S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.CANCELLED]


# ---------------------------------------------------------------- engine runs


def engine_run(replay: BarReplay, parents: list[tuple[int, ParentOrder]], settings, tmp_path,
               name: str, **broker_kw):
    """Run ``parents`` (arrival bar, parent) through the real engine and simulated broker;
    returns (engine, broker, every report the broker delivered, in order)."""
    broker = SimulatedBroker(replay, coalesce_reports=False, **broker_kw)
    delivered = []
    poll = broker.poll_reports

    def recording_poll():
        out = poll()
        delivered.extend(out)
        return out

    broker.poll_reports = recording_poll
    engine = ExecutionEngine("cancel-run", replay.symbols, broker, Journal(tmp_path / name),
                             settings, sleep=lambda s: None)
    engine.recover()

    def add(e, snap):
        for bar, p in parents:
            if bar == snap.bar_index:
                e.add_parent(p, snap)

    run_replay(engine, broker, before_bar=add)
    engine.journal.close()
    return engine, broker, delivered


N_BARS, SYMBOLS = 120, ("AAA", "BBB")


def bars(perturb_after: int | None = None) -> BarReplay:
    """A seeded random walk; with ``perturb_after``, every bar after that index is replaced by
    a very different market: prices 4% higher, a range wide enough to cross every limit, ten
    times the volume (an order still working there would fill at other sizes and prices)."""
    rng = np.random.default_rng(7)
    ts = [datetime(2024, 3, 4, 10, 0, tzinfo=NY) + timedelta(minutes=i) for i in range(N_BARS)]
    close = 50 * np.exp(np.cumsum(rng.normal(0, 5e-4, (N_BARS, 2)), axis=0))
    high, low = close * 1.0004, close * 0.9996
    volume = rng.uniform(3_000, 6_000, (N_BARS, 2))
    if perturb_after is not None:
        later = slice(perturb_after + 1, None)
        close[later] *= 1.04
        high[later] = close[later] * 1.03
        low[later] = close[later] * 0.97
        volume[later] *= 10
    return BarReplay.from_arrays(ts, SYMBOLS, close=close, high=high, low=low, volume=volume)


# parents that are still working when their deadline comes (capped by the bar volume, or
# resting passive limits), so each deadline cancels open children
PARENTS = [
    (2, ParentOrder("mkt", "AAA", Side.BUY, 9_000, Algorithm.MARKET, horizon_bars=10)),
    (5, ParentOrder("lim", "BBB", Side.SELL, 4_000, Algorithm.LIMIT, horizon_bars=20,
                    params={"offset_bps": 3.0, "fallback_to_market": False})),
    (8, ParentOrder("twap", "AAA", Side.SELL, 16_000, Algorithm.TWAP, horizon_bars=25)),
    (12, ParentOrder("pov", "BBB", Side.BUY, 8_000, Algorithm.POV, horizon_bars=30,
                     params={"rate": 0.05})),
    (20, ParentOrder("lim2", "AAA", Side.BUY, 9_000, Algorithm.LIMIT, horizon_bars=15,
                     params={"offset_bps": 2.0, "tif_bars": 5})),
    (40, ParentOrder("vwap", "BBB", Side.SELL, 20_000, Algorithm.VWAP, horizon_bars=30,
                     params={"volume_profile": [1 / 30] * 30})),
]


def parent_results(engine, broker, pid: str) -> tuple:
    """Everything the run says about one parent: its TCA and its fills (NaN compares equal)."""
    quality = next(q for q in execution_quality(engine) if q.parent_id == pid)
    tca = tuple("nan" if isinstance(v, float) and math.isnan(v) else v
                for v in dataclasses.astuple(quality))
    children = set(engine.parents[pid].children)
    fills = tuple((f.fill_id, f.quantity, f.price, f.timestamp, f.fees)
                  for f in broker.fills() if f.client_order_id in children)
    return tca, fills


@pytest.mark.parametrize("tiger_style", [False, True], ids=["fill-reports", "tiger-style"])
def test_no_fill_after_a_cancel_and_every_reported_lifecycle_is_legal(tmp_path, fast_settings,
                                                                      tiger_style):
    engine, broker, delivered = engine_run(bars(), PARENTS, fast_settings, tmp_path, "j.sqlite",
                                           tiger_style_reports=tiger_style)
    bar_of = {t: i for i, t in enumerate(broker.replay.timestamps)}
    cancel_bar = {}
    for ev in Journal(tmp_path / "j.sqlite").events():
        if ev.kind.value == "cancel_request":
            cancel_bar.setdefault(ev.client_order_id, ev.bar_index)
    open_at_cancel = [cid for cid, bar in cancel_bar.items()
                      if engine.children[cid].filled_quantity < engine.children[cid].quantity]
    assert len(open_at_cancel) >= 4  # the run does cancel working orders
    late = [f for f in broker.fills()
            if f.client_order_id in cancel_bar and bar_of[f.timestamp] > cancel_bar[f.client_order_id]]
    assert late == [], "a cancelled order filled after its cancel reached the broker"
    for pid, ps in engine.parents.items():
        assert all(bar_of[f.timestamp] <= ps.deadline_bar for f in broker.fills()
                   if f.client_order_id in set(ps.children)), pid
    trail: dict[str, list[OrderStatus]] = {}
    for r in delivered:
        trail.setdefault(r.client_order_id, [S.SUBMITTED]).append(r.status)
    for cid, statuses in trail.items():
        steps = [(a, b) for a, b in zip(statuses, statuses[1:], strict=False) if a is not b]
        assert all(is_legal(a, b) for a, b in steps), (cid, statuses)
    # nor did the engine have to book a fill on an order it already knew to be final
    assert not [h for c in engine.children.values() for h in c.history
                if h[2].startswith("late fill")]


@pytest.mark.parametrize("pid", [p.parent_id for _, p in PARENTS])
def test_changing_every_bar_after_a_deadline_changes_none_of_that_parents_results(
        tmp_path, fast_settings, pid):
    engine, broker, _ = engine_run(bars(), PARENTS, fast_settings, tmp_path, "base.sqlite")
    deadline = engine.parents[pid].deadline_bar
    assert deadline < N_BARS - 1
    assert engine.parents[pid].done_reason == "deadline passed"  # it was still working
    base = parent_results(engine, broker, pid)
    e2, b2, _ = engine_run(bars(perturb_after=deadline), PARENTS, fast_settings, tmp_path,
                           "perturbed.sqlite")
    assert parent_results(e2, b2, pid) == base
    # the perturbation is real: the market after the deadline did change
    assert not np.array_equal(b2.replay.close[deadline + 1:], broker.replay.close[deadline + 1:])
