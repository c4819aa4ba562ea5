"""The maximum order notional bounds one child, not a parent: the engine cuts a child to the
largest quantity under it and the parent works the rest from the next bar, for every kind of
algorithm (market, scheduled, limit); the validator still refuses what cannot be cut."""

from __future__ import annotations

import pytest
from sim_helpers import minute_bars

from research.domain import Algorithm, OrderType, Side
from research.execution import ParentOrder
from sim import SimulatedBroker, run_replay
from tests.sim.test_sim_engine import add_at, engine_for


@pytest.fixture
def capped(fast_settings):
    return fast_settings.model_copy(update={"max_order_notional": 100_000.0})


def children(engine):
    return [(c.decision_bar, c.order_type, c.quantity) for c in engine.children.values()]


def test_a_market_parent_over_the_cap_goes_out_in_capped_children(tmp_path, capped):
    replay = minute_bars(n=8, close=100.0, volume=1e6, spread=0.02)
    broker = SimulatedBroker(replay)
    e = engine_for(broker, tmp_path, capped)
    run_replay(e, broker, before_bar=add_at(
        0, ParentOrder("m", "AAA", Side.BUY, 2_500, Algorithm.MARKET, horizon_bars=5)))
    # $100,000 / ~$100.01 (the last price) = 999 shares a child; the rest next bar
    sent = children(e)
    assert [b for b, *_ in sent] == [0, 1, 2]
    assert all(q * 100.0 <= 100_000 for *_, q in sent)
    assert sum(q for *_, q in sent) == 2_500
    assert e.parents["m"].filled == 2_500 and e.stats.local_rejects == 0


def test_a_twap_slice_over_the_cap_is_caught_up(tmp_path, capped):
    replay = minute_bars(n=10, close=100.0, volume=1e6, spread=0.02)
    broker = SimulatedBroker(replay)
    e = engine_for(broker, tmp_path, capped)
    run_replay(e, broker, before_bar=add_at(
        0, ParentOrder("t", "AAA", Side.SELL, 3_000, Algorithm.TWAP, horizon_bars=2)))
    assert e.parents["t"].filled == 3_000
    assert max(q for *_, q in children(e)) * 100.0 <= 100_000


def test_a_limit_parent_posts_the_rest_of_a_cut_child_then_falls_back(tmp_path, capped):
    # the market never trades through the limits: everything comes from the fallback
    replay = minute_bars(n=14, close=100.0, volume=1e6, spread=0.02)
    broker = SimulatedBroker(replay)
    e = engine_for(broker, tmp_path, capped)
    parent = ParentOrder("l", "AAA", Side.BUY, 2_500, Algorithm.LIMIT, horizon_bars=8,
                         params={"offset_bps": 5.0, "tif_bars": 4, "fallback_to_market": True})
    run_replay(e, broker, before_bar=add_at(0, parent))
    sent = children(e)
    limits = [(b, q) for b, t, q in sent if t is OrderType.LIMIT]
    markets = [(b, q) for b, t, q in sent if t is OrderType.MARKET]
    assert [b for b, _ in limits] == [0, 1, 2] and sum(q for _, q in limits) == 2_500
    assert markets and min(b for b, _ in markets) >= 4  # after the time in force
    assert sum(q for _, q in markets) == 2_500 and e.parents["l"].filled == 2_500
    # no market child was cancelled by its own algorithm
    assert all(c.status.value == "filled" for c in e.children.values()
               if c.order_type is OrderType.MARKET)


def test_one_share_over_the_cap_is_refused_by_the_validator(tmp_path, capped):
    replay = minute_bars(n=4, close=150_000.0, volume=1e6)
    broker = SimulatedBroker(replay)
    e = engine_for(broker, tmp_path, capped)
    run_replay(e, broker, before_bar=add_at(
        0, ParentOrder("x", "AAA", Side.BUY, 3, Algorithm.MARKET, horizon_bars=2)))
    assert not e.children and e.parents["x"].local_rejects["max_notional"] >= 1
