"""The engine against the simulated broker: timeouts, restarts, reconciliation, breakers,
automatic cancellation, fault-injected reports and execution quality."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import minute_bars

from research.domain import Algorithm, OrderStatus, Side
from research.execution import (
    EventKind,
    ExecutionEngine,
    Journal,
    ParentOrder,
    ReconciliationError,
    RejectReason,
    SubmitTimeout,
    TradingState,
    execution_quality,
)
from sim import FaultConfig, SimulatedBroker, run_replay


def engine_for(broker, tmp_path, settings, name="j.sqlite", **kw):
    e = ExecutionEngine("run", broker.symbols, broker, Journal(tmp_path / name), settings,
                        sleep=lambda s: None, **kw)
    e.recover()
    return e


def add_at(bar, *parents):
    def hook(engine, snap):
        if snap.bar_index == bar:
            for p in parents:
                engine.add_parent(p, snap)
    return hook


class TimeoutBroker(SimulatedBroker):
    """The first submit times out: after acceptance (``create=True``) or before."""

    def __init__(self, *a, create=True, **kw):
        super().__init__(*a, **kw)
        self.create = create
        self.timeouts = 0

    def submit(self, order):
        if self.timeouts == 0:
            self.timeouts += 1
            if self.create:
                super().submit(order)
                self._pending.clear()  # the acceptance report is lost too: only a query tells
            else:
                self.submit_attempts.append(order.client_order_id)
            raise SubmitTimeout(order.client_order_id)
        return super().submit(order)


def test_timed_out_submit_is_resolved_by_query_and_never_resent(tmp_path, fast_settings):
    b = TimeoutBroker(minute_bars(n=8, spread=0.02), latency_bars=3)  # no report before query
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 300,
                                                      Algorithm.MARKET, horizon_bars=3)))
    (cid,) = e.parents["P"].children
    assert b.submit_attempts == [cid]
    child = e.children[cid]
    assert child.status is OrderStatus.FILLED and child.broker_order_id == "SIM1"
    assert e.stats.submit_timeouts == 1 and e.stats.resolved_by_query == 1
    kinds = [ev.kind for ev in e.journal.events() if ev.client_order_id == cid]
    assert kinds[:3] == [EventKind.INTENT, EventKind.SUBMIT_TIMEOUT, EventKind.RESOLVED]


def test_timed_out_submit_that_never_arrived_is_given_up_then_a_new_slice_is_sent(
        tmp_path, fast_settings):
    b = TimeoutBroker(minute_bars(n=10, spread=0.02), create=False)
    e = engine_for(b, tmp_path, fast_settings, inflight_check_retries=2)
    run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 300,
                                                      Algorithm.MARKET, horizon_bars=8)))
    first, second = e.parents["P"].children
    assert e.children[first].reject_reason == RejectReason.SUBMIT_UNCONFIRMED
    assert b.submit_attempts == [first, second]  # the timed-out id was never sent again
    assert e.children[second].status is OrderStatus.FILLED


def test_restart_replays_the_journal_and_continues_without_duplicates(tmp_path, fast_settings):
    rp = minute_bars(n=30, spread=0.02, volume=2_000)
    hook = add_at(0, ParentOrder("P", "AAA", Side.BUY, 2_000, Algorithm.TWAP, horizon_bars=20))
    b = SimulatedBroker(rp, state_path=tmp_path / "b.sqlite")
    e = engine_for(b, tmp_path, fast_settings, initial_positions={})
    run_replay(e, b, stop=9, before_bar=hook)
    sent_before = len(e.children)
    e.journal.close()
    b.close()
    b2 = SimulatedBroker(rp, state_path=tmp_path / "b.sqlite")
    e2 = engine_for(b2, tmp_path, fast_settings, initial_positions={})
    assert len(e2.children) == sent_before and e2.last_bar_done == 8
    assert e2.positions["AAA"] == b2.positions()["AAA"].quantity
    run_replay(e2, b2, before_bar=hook)
    assert len(b2.submit_attempts) == len(set(b2.submit_attempts)) == len(e2.children)
    assert e2.positions["AAA"] == 2_000 == b2.positions()["AAA"].quantity


class CrashBeforeSend(SimulatedBroker):
    def submit(self, order):
        raise KeyboardInterrupt("process died between journaling and sending")


def test_intent_journaled_but_never_sent_is_closed_on_restart(tmp_path, fast_settings):
    rp = minute_bars(n=6, spread=0.02)
    b = CrashBeforeSend(rp)
    e = engine_for(b, tmp_path, fast_settings)
    with pytest.raises(KeyboardInterrupt):
        run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 100,
                                                          Algorithm.MARKET, horizon_bars=3)))
    e.journal.close()
    b2 = SimulatedBroker(rp)
    b2.process_bar(0)
    e2 = engine_for(b2, tmp_path, fast_settings)
    (cid,) = e2.children
    assert e2.children[cid].reject_reason == RejectReason.NEVER_REACHED_BROKER
    run_replay(e2, b2)
    assert e2.positions["AAA"] == 100 and cid not in b2.submit_attempts


def test_reconciliation_stops_on_an_unknown_broker_order_and_a_missing_fill(
        tmp_path, fast_settings):
    from research.domain import Order

    b = SimulatedBroker(minute_bars())
    b.process_bar(0)
    b.submit(Order("FOREIGN", "AAA", Side.BUY, 10))
    e = ExecutionEngine("run", b.symbols, b, Journal(tmp_path / "j.sqlite"), fast_settings)
    with pytest.raises(ReconciliationError, match="FOREIGN") as exc:
        e.recover()
    assert "does not know" in exc.value.mismatches[0]
    # a journal with a fill the broker never reported
    b2 = SimulatedBroker(minute_bars(spread=0.02))
    e2 = engine_for(b2, tmp_path, fast_settings, name="j2.sqlite")
    run_replay(e2, b2, stop=4, before_bar=add_at(0, ParentOrder(
        "P", "AAA", Side.BUY, 100, Algorithm.MARKET, horizon_bars=2)))
    e2.journal.close()
    b3 = SimulatedBroker(minute_bars(spread=0.02))  # an empty broker: the fill is unexplained
    with pytest.raises(ReconciliationError, match="does not report|no such order"):
        engine_for(b3, tmp_path, fast_settings, name="j2.sqlite")


@pytest.mark.parametrize("tiger_style", [False, True])
def test_duplicate_delayed_and_out_of_order_reports_are_never_double_counted(
        tmp_path, fast_settings, tiger_style):
    rng = np.random.default_rng(5)
    rp = minute_bars(n=80, symbols=("AAA", "BBB"), spread=0.02, high_mult=1.001,
                     low_mult=0.999, volume=3_000)
    rp.volume[:] = rng.uniform(1_000, 5_000, rp.volume.shape)
    faults = FaultConfig(seed=3, report_duplicate=0.5, report_reorder=1.0, report_delay=0.4,
                         report_max_delay_bars=4)
    b = SimulatedBroker(rp, faults=faults, tiger_style_reports=tiger_style)
    e = engine_for(b, tmp_path, fast_settings)
    parents = [ParentOrder("A", "AAA", Side.BUY, 4_000, Algorithm.TWAP, horizon_bars=30),
               ParentOrder("B", "BBB", Side.SELL, 3_000, Algorithm.POV, horizon_bars=60,
                           params={"rate": 0.05}),
               ParentOrder("C", "AAA", Side.SELL, 1_000, Algorithm.LIMIT, horizon_bars=20,
                           params={"offset_bps": -1.0})]
    run_replay(e, b, before_bar=add_at(1, *parents))
    assert e.stats.duplicate_reports > 0 and e.stats.stale_reports > 0
    broker_pos = {s: p.quantity for s, p in b.positions().items()}
    assert {s: q for s, q in e.positions.items() if q} == broker_pos
    for cid, c in e.children.items():
        assert c.filled_quantity == b.get_order(cid).filled_quantity


def test_consecutive_broker_rejects_halt_trading_and_cancel(tmp_path, fast_settings):
    s = fast_settings.model_copy(update={"breaker_max_consecutive_rejects": 3,
                                         "breaker_cooldown_s": 0.0})
    b = SimulatedBroker(minute_bars(n=10, spread=0.02), faults=FaultConfig(submit_reject=1.0))
    e = engine_for(b, tmp_path, s)
    run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 300,
                                                      Algorithm.TWAP, horizon_bars=6)))
    assert e.trading_state is TradingState.HALTED
    assert e.parents["P"].local_rejects[RejectReason.TRADING_HALTED.value] > 0
    assert len(b.submit_attempts) == 3
    assert any(ev.new_state == "halted" for ev in e.events)
    e.reset_trading_state("operator checked the venue")
    assert e.trading_state is TradingState.ACTIVE


def test_reducing_state_only_lets_risk_reducing_orders_through(tmp_path, fast_settings):
    b = SimulatedBroker(minute_bars(n=12, spread=0.02))
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, stop=4, before_bar=add_at(0, ParentOrder(
        "BUY", "AAA", Side.BUY, 500, Algorithm.MARKET, horizon_bars=2)))
    assert e.positions["AAA"] == 500
    e.system_breaker.force(TradingState.REDUCING, b.replay.timestamps[4], "test")
    e.system_breaker.cooldown_s = 0.0
    hook = add_at(4, ParentOrder("MORE", "AAA", Side.BUY, 100, Algorithm.MARKET, horizon_bars=2),
                  ParentOrder("LESS", "AAA", Side.SELL, 200, Algorithm.MARKET, horizon_bars=2))
    run_replay(e, b, before_bar=hook)
    assert e.parents["MORE"].local_rejects[RejectReason.TRADING_REDUCING.value] > 0
    assert not e.parents["MORE"].children
    assert e.positions["AAA"] == 300


def test_parent_past_deadline_cancels_its_open_children(tmp_path, fast_settings):
    b = SimulatedBroker(minute_bars(n=12, spread=0.02))
    e = engine_for(b, tmp_path, fast_settings)
    far = ParentOrder("L", "AAA", Side.BUY, 100, Algorithm.LIMIT, horizon_bars=3,
                      deadline_grace_bars=1, params={"offset_bps": 40, "tif_bars": 10,
                                                     "fallback_to_market": False})
    run_replay(e, b, before_bar=add_at(0, far))
    (cid,) = e.parents["L"].children
    assert e.children[cid].status is OrderStatus.CANCELLED
    assert e.parents["L"].done_reason == "deadline passed"
    assert "deadline" in e.children[cid].history[-2][2]


def test_paused_symbol_cancels_open_children_and_blocks_new_ones(tmp_path, fast_settings):
    rp = minute_bars(n=12, spread=0.02)
    rp.volume[8, 0] = 0.0  # a halt on bar 8
    b = SimulatedBroker(rp)
    s = fast_settings.model_copy(update={"breaker_cooldown_s": 0.0})  # manual recovery
    e = engine_for(b, tmp_path, s)
    lim = ParentOrder("L", "AAA", Side.BUY, 100, Algorithm.LIMIT, horizon_bars=11,
                      params={"offset_bps": 40})
    run_replay(e, b, before_bar=add_at(0, lim))
    first = e.children[e.parents["L"].children[0]]
    assert first.status is OrderStatus.CANCELLED
    assert "halt" in first.history[-2][2]
    assert e.parents["L"].local_rejects[RejectReason.SYMBOL_PAUSED.value] >= 1
    assert e.market_breakers.paused[0]
    e.resume_symbol("AAA")
    assert not e.market_breakers.paused[0]


def test_execution_quality_matches_the_fills_and_the_prediction(tmp_path, fast_settings):
    b = SimulatedBroker(minute_bars(n=10, spread=0.04))
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 200,
                                                      Algorithm.MARKET, horizon_bars=2)))
    (q,) = execution_quality(e, cost_predictor=lambda parent, px: (1.0, 0.5))
    # bought 200 at the ask 100.02 against an arrival mid of 100.00: 2 bps, all execution
    assert q.filled_quantity == 200 and q.fill_rate == 1.0
    assert q.average_fill_price == pytest.approx(100.02)
    assert q.shortfall_bps == pytest.approx(2.0) and q.execution_bps == pytest.approx(2.0)
    assert q.delay_bps == 0 and q.opportunity_bps == 0
    assert q.slippage_z == pytest.approx((2.0 - 1.0) / 0.5)
    assert e.journal.count(EventKind.PARENT_DONE) == 1


@pytest.mark.parametrize("lost_from", [EventKind.INTENT, EventKind.PARENT])
def test_a_slice_the_journal_lost_is_refused_even_when_the_order_is_closed(
        tmp_path, fast_settings, lost_from):
    """The journal lost its last commit (power loss under synchronous=NORMAL) covering a child
    the broker has since cancelled unfilled: nothing open, no position moved. Whether the lost
    commit held only the intent or also the parent (add_parent stages it, the first intent
    commits it), the restarted run refuses before deriving that client id again."""
    import shutil

    rp = minute_bars(n=12, spread=0.02, volume=2_000, low_mult=0.999)
    b = SimulatedBroker(rp)
    e = engine_for(b, tmp_path, fast_settings, initial_positions={})
    # a passive limit far from the market: it rests, unfilled, until its time in force ends
    parent = ParentOrder("P", "AAA", Side.BUY, 100, Algorithm.LIMIT, horizon_bars=10,
                         params={"offset_bps": 50.0, "tif_bars": 8, "fallback_to_market": False})
    run_replay(e, b, stop=3, before_bar=add_at(0, parent))
    events = list(e.journal.events())
    e.journal.close()
    (cid,) = e.children
    cut = next(i for i, ev in enumerate(events) if ev.kind is lost_from)
    shutil.move(tmp_path / "j.sqlite", tmp_path / "j.before")
    with Journal(tmp_path / "j.sqlite") as j:  # the surviving prefix, as WAL recovery leaves it
        j.append_many((ev.kind, ev.payload, ev.client_order_id, ev.bar_index)
                      for ev in events[:cut])
    b.cancel(cid)  # the broker closed it meanwhile, unfilled
    b.process_bar(3)
    b._pending.clear()  # a new process hears no stale reports
    assert not b.open_orders() and not b.positions().get("AAA")
    sent = list(b.submit_attempts)
    with pytest.raises(ReconciliationError, match="journal does not know") as exc:
        e2 = engine_for(b, tmp_path, fast_settings, initial_positions={})
        run_replay(e2, b, stop=5, before_bar=add_at(3, parent))  # the run re-decides P
    assert cid in str(exc.value) and "slice 0 of parent P" in str(exc.value)
    assert b.submit_attempts == sent  # nothing re-sent


def test_a_fresh_run_does_not_probe_the_broker_for_its_new_parents(tmp_path, fast_settings):
    class CountingBroker(SimulatedBroker):
        queries = 0

        def get_order(self, client_order_id):
            CountingBroker.queries += 1
            return super().get_order(client_order_id)

    b = CountingBroker(minute_bars(n=4, spread=0.02))
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, before_bar=add_at(0, ParentOrder("P", "AAA", Side.BUY, 100,
                                                      Algorithm.MARKET, horizon_bars=2)))
    assert CountingBroker.queries == 0 and e.positions["AAA"] == 100


def test_a_batch_of_new_parents_is_checked_before_any_is_registered(tmp_path, fast_settings):
    """After a restart, one parent of a rebalance whose first child the broker already has
    stops the whole batch: none is registered, so the next restart asks again."""
    from research.domain import Order
    from research.execution.ids import client_order_id

    b = SimulatedBroker(minute_bars(n=6, spread=0.02))
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, stop=1)
    e.journal.close()
    # the broker knows slice 0 of "B" (its journal entries were lost), cancelled unfilled
    cid = client_order_id("run", "B", 0)
    b.submit(Order(cid, "AAA", Side.BUY, 10))
    b.cancel(cid)
    b._pending.clear()  # a new process hears no stale reports
    e2 = engine_for(b, tmp_path, fast_settings)
    parents = [ParentOrder(pid, "AAA", Side.BUY, 10, Algorithm.MARKET, horizon_bars=2)
               for pid in ("A", "B", "C")]
    b.process_bar(1)
    with pytest.raises(ReconciliationError, match="slice 0 of parent B"):
        e2.check_new_parents(parents, b.snapshot(1))
    assert e2.parents == {} and not any(k is EventKind.PARENT for k, *_ in e2.journal.staged)


def test_a_parent_closing_while_its_symbol_is_dark_is_marked_at_its_last_mid(
        tmp_path, fast_settings):
    """The symbol stops printing after bar 3 (a halt): the unfilled rest of a parent that
    closes then is marked at the last mid seen, not at its arrival (which would make its
    opportunity cost zero however far the price had run)."""
    from datetime import datetime, timedelta

    from sim_helpers import NY

    from sim import BarReplay

    n = 12
    ts = [datetime(2024, 3, 4, 10, 0, tzinfo=NY) + timedelta(minutes=i) for i in range(n)]
    close = np.array([100.0, 100.5, 101.0, 102.0] + [np.nan] * (n - 4))[:, None]
    replay = BarReplay.from_arrays(ts, ("AAA",), close=close, volume=np.full((n, 1), 1e4))
    broker = SimulatedBroker(replay)
    e = engine_for(broker, tmp_path, fast_settings)
    # a passive limit far below the market: it never fills
    run_replay(e, broker, before_bar=add_at(0, ParentOrder(
        "p", "AAA", Side.BUY, 100, Algorithm.LIMIT, horizon_bars=5,
        params={"offset_bps": 500.0, "tif_bars": 5, "fallback_to_market": False})))
    ps = e.parents["p"]
    assert ps.done and ps.filled == 0
    assert ps.end_price == 102.0 and ps.arrival_price == 100.0
    q = execution_quality(e)[0]
    assert q.opportunity_bps == pytest.approx(200.0)  # +2% on the whole unfilled order


def test_a_halt_cancels_working_children_at_once_not_at_the_next_bar(tmp_path, fast_settings):
    """A halt (the kill switch, the daily-loss limit's 'halt') stops what is working before
    the market can fill it: the broker hears the cancels within the halt, so the next bar's
    fills cannot include them."""
    b = SimulatedBroker(minute_bars(n=6, spread=0.02))
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, stop=1, before_bar=add_at(0, ParentOrder(
        "P", "AAA", Side.BUY, 300, Algorithm.MARKET, horizon_bars=3)))
    (cid,) = e.parents["P"].children
    assert e.children[cid].is_open  # sent on bar 0, fills on bar 1
    e.halt("daily loss past the limit", until_reset=True)
    assert e.trading_state is TradingState.HALTED
    run_replay(e, b)
    assert e.children[cid].status is OrderStatus.CANCELLED
    assert e.positions.get("AAA", 0) == 0 and b.fills() == []


def test_cancels_the_broker_did_not_take_are_sent_again_not_forgotten(tmp_path, fast_settings):
    """A halt while the broker is unreachable: the cancels that could not be sent stay queued
    (journaled as requested) and go out at the next bar, instead of leaving the children
    PENDING_CANCEL for ever."""
    from research.execution.errors import BrokerUnavailable

    class Flaky(SimulatedBroker):
        down = True

        def cancel(self, client_order_id, broker_order_id=None):
            if self.down:
                raise BrokerUnavailable("connection reset")
            return super().cancel(client_order_id, broker_order_id)

    b = Flaky(minute_bars(n=8, spread=0.02), latency_bars=3)  # nothing fills for 3 bars
    e = engine_for(b, tmp_path, fast_settings)
    run_replay(e, b, stop=1, before_bar=add_at(0, ParentOrder(
        "P", "AAA", Side.BUY, 300, Algorithm.MARKET, horizon_bars=3)))
    (cid,) = e.parents["P"].children
    with pytest.raises(BrokerUnavailable):
        e.halt("kill switch")
    assert e.children[cid].status is OrderStatus.PENDING_CANCEL
    b.down = False
    run_replay(e, b, stop=3)  # sent again on bar 1, its report read on bar 2
    assert e.children[cid].status is OrderStatus.CANCELLED
    assert e.positions.get("AAA", 0) == 0
