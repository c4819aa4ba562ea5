"""The execution engine: owns parent orders, runs their algorithms on the bar clock, validates
and journals child orders, sends them through a :class:`Broker`, and applies execution reports.

Identical in simulation and live; only the broker differs. Per bar (``on_bar``):

1. drain the broker's reports, journal them, then apply them (duplicates and stale reports are
   detected by report id / fill id / lifecycle rank);
2. resolve in-flight submits that timed out (query by client id; never re-send) and fetch the
   fills behind any status report that shows more filled shares than the engine has;
3. update the circuit breakers; cancel children of paused symbols, of all symbols if HALTED;
4. wake the parents that asked for this bar or had a child finish; close parents past their
   deadline (cancelling open children); ask each algorithm for a child; validate, journal the
   intent, submit, journal the outcome;
5. journal the end of the bar.

Journal batching (why: a SQLite commit costs tens of microseconds, an event a few): events are
*staged* as they happen and committed in one transaction right before the engine next changes
the broker's state (a batch of cancels, a batch of submits) and at the end of every bar that
did something. So the write-ahead rule holds — intents are durable before they are sent, and
every report the engine acted on is durable before the action — with one to three commits per
active bar. A bar where nothing happened only stages its BAR_DONE marker, which replaces the
previous idle marker and is committed with the next real event (a crash then re-runs the idle
bars, which is harmless: they sent nothing).

State is the fold of the journal: ``recover()`` replays it and reconciles with the broker
(orders and fills by client id) before any new order is sent; anything it cannot explain raises
:class:`ReconciliationError` and nothing is sent (:mod:`research.execution.recovery`). Every
broker call goes through :class:`~research.execution.broker_calls.BrokerCalls` (timing for the
system breaker, retries of idempotent calls).
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from research.config import ExecutionSettings
from research.domain import Fill, Order, OrderStatus, OrderType, Side
from research.execution import recovery
from research.execution.algorithms import AlgoContext, ExecutionAlgorithm, build_algorithm
from research.execution.algorithms.shortfall import ScheduleFn
from research.execution.breakers import MarketBreakers, SystemBreaker
from research.execution.broker import Broker
from research.execution.broker_calls import TRANSIENT_ERRORS, BrokerCalls
from research.execution.errors import (
    BrokerUnavailable,
    RateLimited,
    ReconciliationError,
    Rejected,
    SubmitTimeout,
)
from research.execution.ids import client_order_id
from research.execution.journal import EventKind, Journal, JournalEvent
from research.execution.lifecycle import ChildOrder
from research.execution.model import (
    BreakerEvent,
    BrokerOrder,
    ChildRequest,
    ExecutionReport,
    MarketSnapshot,
    ParentOrder,
    RejectReason,
    ReportKind,
    TradingState,
    fill_from_json,
    fill_to_json,
)
from research.execution.validation import PreTradeRiskCheck, PreTradeValidator

AlgorithmFactory = Callable[[ParentOrder], ExecutionAlgorithm]
# (symbol, side, shares, price, time, fees) of each new fill, as the engine applies it
FillObserver = Callable[[str, Side, int, float, datetime, float], None]
# with commit_every_bar=False, the staged events are still committed once this many pile up
# (bounds memory and the work a restart has to redo)
_MAX_STAGED_ROWS = 4096
_S = OrderStatus
# a submit that times out or fails transiently counts against the broker's health
_SUBMIT_FAILURES = (SubmitTimeout, *TRANSIENT_ERRORS)
# Enum(value) runs Enum.__new__ in Python: the journal's plain values map back by dict lookup
_SIDE_OF = {s._value_: s for s in Side}
_ORDER_TYPE_OF = {t._value_: t for t in OrderType}
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode  # as the journal
_json_str = json.encoder.encode_basestring_ascii  # quoted, escaped JSON string (C)


def intent_json_text(p: dict) -> str:
    """The journal's JSON text of an INTENT payload, written directly.

    Why: a study journals ~100,000 intents per strategy run; the generic encoder cost more than
    the rest of the intent. Same contract as ``ExecutionReport.to_json_text``: ``json.loads`` of
    the text equals the payload; unexpected types or non-finite numbers take the encoder."""
    lp, mid, q, k = p["limit_price"], p["mid"], p["quantity"], p["slice"]
    if (q.__class__ is not int or k.__class__ is not int or mid.__class__ is not float
            or mid - mid != 0.0 or not (lp is None or (lp.__class__ is float and lp - lp == 0.0))
            or p["parent_id"].__class__ is not str or p["symbol"].__class__ is not str):
        return _ENCODE(p)
    return (f'{{"parent_id":{_json_str(p["parent_id"])},"slice":{k},'
            f'"symbol":{_json_str(p["symbol"])},"side":"{p["side"]}","quantity":{q},'
            f'"order_type":"{p["order_type"]}","limit_price":{"null" if lp is None else repr(lp)},'
            f'"mid":{mid!r}}}')


@dataclass(slots=True)
class ParentState:
    """Engine-side progress of one parent order (prices are mids in dollars)."""

    parent: ParentOrder
    symbol_index: int
    arrival_bar: int
    arrival_price: float
    algorithm: ExecutionAlgorithm
    volume_base: float  # engine's running market volume of the symbol before the arrival bar
    children: list[str] = field(default_factory=list)
    next_slice: int = 0
    start_price: float | None = None
    end_price: float | None = None
    done: bool = False
    done_reason: str = ""
    local_rejects: Counter = field(default_factory=Counter)
    broker_rejects: int = 0
    filled: int = 0  # shares filled over all children

    @property
    def deadline_bar(self) -> int:
        return self.arrival_bar + self.parent.horizon_bars + self.parent.deadline_grace_bars


@dataclass(slots=True)
class EngineStats:
    reports: int = 0
    duplicate_reports: int = 0
    duplicate_fills: int = 0
    stale_reports: int = 0
    fills: int = 0
    recovered_fills: int = 0
    submits: int = 0
    submit_timeouts: int = 0
    resolved_by_query: int = 0
    cancels: int = 0
    local_rejects: int = 0
    broker_rejects: int = 0


class ExecutionEngine:
    """Parameters: ``run_id`` (part of every client order id), ``symbols`` (the order of the
    snapshot arrays), ``broker``, ``journal``, ``settings`` (ExecutionSettings), ``risk_check``
    (a :class:`PreTradeRiskCheck`), ``clock`` (returns "now"; default: the bar's timestamp, the
    simulation clock), ``algorithm_factory`` / ``schedule_fn`` (how parents get algorithms),
    ``inflight_check_retries`` (queries before an unconfirmed submit is given up),
    ``initial_positions`` (shares at the broker before this run; enables the position check
    of reconciliation), ``sleep`` (backoff sleep; tests pass a no-op), ``commit_every_bar``
    (True: every bar that did something is committed at its end — live trading; False: events
    ride along with the next commit before an action, or when 4096 are staged — backtests.
    Both keep the write-ahead rule; False trades restart work for fewer commits: reports lost
    in a crash are re-read from the broker by ``recover``, unanswered intents are queried),
    ``on_fill(symbol, side, shares, price, time, fees)`` (told of every new fill as it is
    applied, not of fills replayed from the journal: the trading loop books them into the risk
    manager), ``before_orders()`` (called on a bar with parents to work, after its reports
    were applied and before any child is decided: the trading loop marks the risk manager's
    book at the bar's prices there, so the pre-trade checks read current weights).
    """

    def __init__(
        self,
        run_id: str,
        symbols: Iterable[str],
        broker: Broker,
        journal: Journal,
        settings: ExecutionSettings | None = None,
        *,
        risk_check: PreTradeRiskCheck | None = None,
        clock: Callable[[], datetime] | None = None,
        algorithm_factory: AlgorithmFactory | None = None,
        schedule_fn: ScheduleFn | None = None,
        inflight_check_retries: int = 3,
        initial_positions: dict[str, int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        commit_every_bar: bool = True,
        on_fill: FillObserver | None = None,
        before_orders: Callable[[], None] | None = None,
    ):
        self.run_id = run_id
        self._on_fill = on_fill
        self._before_orders = before_orders
        self.symbols = tuple(symbols)
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("engine: symbols contains duplicates")
        self._sym_index = {s: i for i, s in enumerate(self.symbols)}
        self.broker = broker
        self.journal = journal
        self.settings = settings or ExecutionSettings()
        st = self.settings
        self._clock = clock
        self._factory = algorithm_factory or (lambda p: build_algorithm(p, schedule_fn))
        self._algorithm_ready: tuple[str, ExecutionAlgorithm | None] = ("", None)
        self.inflight_check_retries = inflight_check_retries
        self.initial_positions = initial_positions
        self.commit_every_bar = commit_every_bar
        self.validator = PreTradeValidator(
            price_collar_pct=st.price_collar_pct,
            max_order_notional=st.max_order_notional,
            max_orders_per_second=st.max_orders_per_second,
            order_burst=st.order_burst,
            risk_check=risk_check,
        )
        self.market_breakers = MarketBreakers(
            self.symbols,
            price_move_pct=st.breaker_price_move_pct,
            window_minutes=st.breaker_price_move_window_minutes,
            spread_multiple=st.breaker_spread_multiple,
            day_band_pct=st.breaker_day_band_pct,
            max_staleness_s=st.breaker_max_data_staleness_s,
            cooldown_s=st.breaker_cooldown_s,
        )
        self.system_breaker = SystemBreaker(
            max_error_rate=st.breaker_max_error_rate,
            max_consecutive_rejects=st.breaker_max_consecutive_rejects,
            max_latency_ms=st.breaker_max_broker_latency_ms,
            max_staleness_s=st.breaker_max_data_staleness_s,
            cooldown_s=st.breaker_cooldown_s,
        )
        # every broker call is timed for the system breaker; idempotent ones are retried
        self._broker_calls = BrokerCalls(st, self._breaker_call, sleep)
        self._call = self._broker_calls.call
        self.parents: dict[str, ParentState] = {}
        self._work_order: dict[str, tuple[int, str]] = {}  # parent id -> (arrival bar, id)
        self.children: dict[str, ChildOrder] = {}
        self.positions: dict[str, int] = defaultdict(int)
        self.events: list[BreakerEvent] = []
        self.stats = EngineStats()
        self.last_bar_done = -1
        self.last_bar_time: datetime | None = None  # stamp of bar last_bar_done
        self._seen_reports: set[str] = set()
        self._open_by_parent: dict[str, set[str]] = defaultdict(set)
        # open children by symbol index (a done parent's children awaiting their cancel
        # included: they can still fill), and shares queued this bar by (symbol index, side):
        # what a child's risk check counts as already on its way
        self._open_by_symbol: dict[str, set[str]] = defaultdict(set)
        self._queued: Counter = Counter()
        # signed shares still to fill of the open children, per symbol index: rebuilt only
        # after an order opened, closed or filled (not once per risk check)
        self._working_shares: np.ndarray | None = None
        # parents to wake, by bar; _wake_heap holds the keys in order so a bar finds its due
        # (and any skipped) entries without scanning every future bar
        self._wake: dict[int, set[str]] = {}
        self._wake_heap: list[int] = []
        self._dirty: set[str] = set()
        self._unresolved: set[str] = set()
        # (parent, request, validated quantity, mid, slice index, client order id)
        self._outbox: list[tuple[ParentState, ChildRequest, int, float, int, str]] = []
        self._cancel_queue: list[ChildOrder] = []
        self._needs_sync: set[str] = set()
        self._running_volume = np.zeros(len(self.symbols))
        self._volume_bar = -1
        self._bar = -1
        self._replaying = False
        self._recovered = False
        self._resumed = False  # set by recover(): True when the journal held an earlier start
        self._resume_day = None  # session date of the first bar after the restart
        self._probed_parents: set[str] = set()  # new parent ids the broker was asked about
        self._now: datetime | None = None
        self._mid: np.ndarray | None = None
        # each symbol's last finite mid: a parent that closes on a bar without its symbol's
        # price is marked there, not at its arrival (which would zero its opportunity cost)
        self.last_mid = np.full(len(self.symbols), np.nan)

    # ------------------------------------------------------------------ public API
    @property
    def trading_state(self) -> TradingState:
        return self.system_breaker.state

    def recover(self) -> None:
        """Replay the journal, then reconcile with the broker. Call once before trading."""
        recovery.recover(self)

    def add_parent(self, parent: ParentOrder, snapshot: MarketSnapshot,
                   algorithm: ExecutionAlgorithm | None = None) -> bool:
        """Register ``parent`` arriving on ``snapshot``'s bar (arrival price = its mid), worked
        by ``algorithm`` (default: built from the parent's strategy and params, which a restart
        rebuilds it from — pass only the algorithm those build).

        Idempotent by parent id (a restarted run re-adding its parents is a no-op): returns
        False if the parent was known already.
        """
        self._require_recovered()
        if parent.parent_id in self.parents:
            return False
        if parent.symbol not in self._sym_index:
            raise ValueError(f"parent {parent.parent_id}: symbol {parent.symbol!r} is not traded "
                             f"by this engine ({len(self.symbols)} symbols)")
        i = self._sym_index[parent.symbol]
        # MarketSnapshot.mid() of this one symbol, same arithmetic: the whole array per parent
        # cost ~10 us, and a rebalance registers a parent per symbol on one bar
        bid, ask = snapshot.bid[i], snapshot.ask[i]
        mid = float(0.5 * (bid + ask) if math.isfinite(bid) and math.isfinite(ask)
                    else snapshot.close[i])
        if not math.isfinite(mid):
            raise ValueError(f"parent {parent.parent_id}: no price for {parent.symbol} on bar "
                             f"{snapshot.bar_index}, cannot set its arrival price")
        self.check_new_parents([parent], snapshot)
        # built before the parent is journaled: an algorithm that cannot be built (a missing
        # parameter) raises here, never from a PARENT event a restart would replay
        self._algorithm_ready = (parent.parent_id,
                                 algorithm if algorithm is not None else self._factory(parent))
        self._emit(EventKind.PARENT, {
            "parent": parent.to_json(), "arrival_bar": snapshot.bar_index, "arrival_price": mid,
            "volume_base": float(self._running_volume[i]) if self._volume_bar < snapshot.bar_index
            else float(self._running_volume[i] - snapshot.volume[i]),
        }, None, snapshot.bar_index)
        return True

    def check_new_parents(self, parents: Iterable[ParentOrder], snapshot: MarketSnapshot) -> None:
        """Raise :class:`ReconciliationError` if the broker already has orders under client ids
        of these not-yet-registered parents; call it for a whole batch before registering any
        (a batch refused half-way would leave the other half registered, and a restart would
        then count the decision as taken).

        Why: a parent is journaled with its first intent (one commit): a power loss that erased
        that commit erased the parent too, and its first child may be at the broker, closed
        unfilled (invisible to reconciliation). A restarted run asks before it derives those
        client ids again; a fresh run's parents cannot have any. Only in the session the run
        resumed in: what an OS crash loses is its last seconds of writes, so later sessions'
        parents are new (and a query per parent would cost every later rebalance its latency
        budget). Each parent id is asked about once.
        """
        if not self._resumed or (self._resume_day is not None
                                 and snapshot.timestamp.date() > self._resume_day):
            return
        lost: list[str] = []
        for p in parents:
            pid = p.parent_id
            if pid in self.parents or pid in self._probed_parents:
                continue
            found = recovery.lost_slices(self, pid, 0)
            if found:
                lost += found
            else:
                self._probed_parents.add(pid)
        if lost:
            raise ReconciliationError(lost)

    def cancel_parent(self, parent_id: str, reason: str = "cancelled by user") -> None:
        ps = self.parents[parent_id]
        self._close_parent(ps, reason)
        self._send_cancels()
        self.journal.commit()

    def resume_symbol(self, symbol: str, reason: str = "manual") -> None:
        ev = self.market_breakers.resume(symbol, self._now or datetime.now().astimezone(), reason)
        self._record_breaker(ev)
        self.journal.commit()

    def reset_trading_state(self, reason: str = "manual reset") -> None:
        ev = self.system_breaker.reset(self._now or datetime.now().astimezone(), reason)
        if ev:
            self._record_breaker(ev)
            self.journal.commit()

    def halt(self, reason: str = "manual halt", until_reset: bool = False) -> None:
        """HALTED, open children cancelled now (the broker hears the cancels before this
        returns, not at the next bar, whose fills they would otherwise join) — always: a halt
        asked for (kill switch, daily-loss 'halt') stops what is working, whatever
        ``breaker_cancel_on_halt`` says of breaker trips; ``until_reset``:
        the breakers' cool-down does not lift it (only :meth:`reset_trading_state` does)."""
        ev = self.system_breaker.force(
            TradingState.HALTED, self._now or datetime.now().astimezone(), reason,
            manual=until_reset,
        )
        self._record_breaker(ev)
        self._cancel_all("trading halted: " + reason)
        self._send_cancels()
        self.journal.commit()

    def open_children(self) -> list[ChildOrder]:
        """Children not yet final (including intents whose outcome is unknown)."""
        return [self.children[cid] for ids in self._open_by_parent.values() for cid in ids]

    def on_bar(self, snap: MarketSnapshot) -> None:
        """Process one closed bar (see the module docstring for the steps)."""
        self._require_recovered()
        if snap.symbols != self.symbols:
            raise ValueError("on_bar: snapshot symbols differ from the engine's symbols")
        if snap.bar_index <= self.last_bar_done:
            raise ValueError(
                f"on_bar: bar {snap.bar_index} was already processed (last {self.last_bar_done})"
            )
        self._bar = snap.bar_index
        if self._resumed and self._resume_day is None:
            self._resume_day = snap.timestamp.date()
        self._now = self._clock() if self._clock is not None else snap.timestamp
        if self._volume_bar < snap.bar_index:
            v = snap.volume
            # np.nan_to_num costs ~20 us per call; most bars have every volume finite
            self._running_volume += v if np.isfinite(v).all() else np.nan_to_num(v)
            self._volume_bar = snap.bar_index
        self._mid = snap.mid()
        self.last_mid = np.where(np.isfinite(self._mid), self._mid, self.last_mid)

        self._ingest(self._call(self.broker.poll_reports))
        self._resolve_inflight()
        self._sync_fills()
        self._update_breakers(snap)

        due: set[str] = set()
        heap = self._wake_heap
        while heap and heap[0] <= snap.bar_index:  # this bar, and bars skipped (e.g. restart)
            due |= self._wake.pop(heapq.heappop(heap))
        due |= self._dirty
        self._dirty = set()
        if due and self._before_orders is not None:
            self._before_orders()  # may halt: the parents below then send nothing
        self._outbox = []
        self._queued.clear()
        # older parents first (their children reach the broker first, and a capped market
        # fills in arrival order); the id only breaks ties among parents of the same bar
        parents = self.parents
        for pid in sorted(due, key=self._work_order.__getitem__):
            ps = parents[pid]
            if not ps.done:
                self._work_parent(ps, snap, self._mid)
        self._send_cancels()
        self._flush_outbox()
        self._end_bar(snap.bar_index, snap.timestamp)

    def _end_bar(self, bar: int, stamp: datetime) -> None:
        self._send_cancels()  # e.g. a HALT tripped by this bar's submits
        staged = self.journal.staged
        if len(staged) == 1 and staged[0][0] is EventKind.BAR_DONE:
            staged.pop()  # the previous bar was idle: its marker is superseded by this one
        # the running volume is journaled so POV sees the same realised volume after a restart;
        # the bar's time so a restarted feed (which numbers its bars afresh) knows what was done
        self._emit(EventKind.BAR_DONE, {"running_volume": self._running_volume.tolist(),
                                        "time": stamp.isoformat()}, None, bar)
        if len(staged) > 1 and (self.commit_every_bar or len(staged) >= _MAX_STAGED_ROWS):
            self.journal.commit()  # this bar did something: make it durable now

    # ------------------------------------------------------------------ event application
    def _emit(self, kind: EventKind, payload: dict, cid: str | None, bar: int | None) -> None:
        """Stage an event in the journal, then apply it (the only way state changes). It is
        committed before the next broker call that changes state (see the module docstring)."""
        self.journal.stage(kind, payload, cid, bar)
        self._apply(JournalEvent(0, kind, cid, bar, payload))

    def _apply(self, ev: JournalEvent) -> None:
        k, p, cid = ev.kind, ev.payload, ev.client_order_id
        bar = ev.bar_index if ev.bar_index is not None else self._bar
        if k is EventKind.REPORT:
            self._apply_report(ExecutionReport.from_json(p), bar)
        elif k is EventKind.FILL:
            self._apply_fill(self.children[cid], fill_from_json(p), bar)
        elif k is EventKind.INTENT:
            ps = self.parents[p["parent_id"]]
            child = ChildOrder(
                client_order_id=cid, parent_id=p["parent_id"], slice_index=p["slice"],
                symbol=p["symbol"], side=_SIDE_OF[p["side"]], quantity=p["quantity"],
                order_type=_ORDER_TYPE_OF[p["order_type"]], limit_price=p["limit_price"],
                decision_bar=bar,
            )
            self.children[cid] = child
            ps.children.append(cid)
            ps.next_slice = max(ps.next_slice, p["slice"] + 1)
            if ps.start_price is None:
                ps.start_price = p["mid"]
            self._open_by_parent[ps.parent.parent_id].add(cid)
            self._open_by_symbol[child.symbol].add(cid)
            self._working_shares = None
        elif k is EventKind.SENT:
            child = self.children[cid]
            child.broker_order_id = p["broker_order_id"]
            if child.status is _S.INITIALIZED:
                child.transition(_S.SUBMITTED, bar, "sent")
        elif k is EventKind.SUBMIT_TIMEOUT:
            child = self.children[cid]
            child.unresolved_submit = True
            self._unresolved.add(cid)
            if child.status is _S.INITIALIZED:
                child.transition(_S.SUBMITTED, bar, "submit timed out: outcome unknown")
            self.stats.submit_timeouts += 1
        elif k is EventKind.SUBMIT_FAILED:
            child = self.children[cid]
            child.reject_reason = p["reason_code"]
            child.transition(_S.REJECTED, bar, f"{p['reason_code']}: {p['reason']}")
            self._child_closed(child)
            if p["reason_code"] == RejectReason.BROKER_REJECTED:
                self.parents[child.parent_id].broker_rejects += 1
                self.stats.broker_rejects += 1
        elif k is EventKind.RESOLVED:
            self._apply_resolved(self.children[cid], p, bar)
        elif k is EventKind.CANCEL_REQUEST:
            child = self.children[cid]
            if child.is_open and child.status is not _S.PENDING_CANCEL:
                child.transition(_S.PENDING_CANCEL, bar, p["reason"])
            self.stats.cancels += 1
        elif k is EventKind.LOCAL_REJECT:
            self.parents[p["parent_id"]].local_rejects[p["reason_code"]] += 1
            self.stats.local_rejects += 1
        elif k is EventKind.PARENT:
            parent = ParentOrder.from_json(p["parent"])
            ready_id, algorithm = self._algorithm_ready
            if ready_id != parent.parent_id:  # replaying the journal
                algorithm = self._factory(parent)
            self._algorithm_ready = ("", None)
            ps = ParentState(
                parent=parent, symbol_index=self._sym_index[parent.symbol],
                arrival_bar=p["arrival_bar"], arrival_price=p["arrival_price"],
                algorithm=algorithm, volume_base=p["volume_base"],
            )
            self.parents[parent.parent_id] = ps
            self._work_order[parent.parent_id] = (ps.arrival_bar, parent.parent_id)
            self._wake_at(ps.arrival_bar, parent.parent_id)
            self._wake_at(ps.deadline_bar, parent.parent_id)
        elif k is EventKind.PARENT_DONE:
            ps = self.parents[p["parent_id"]]
            ps.done, ps.done_reason, ps.end_price = True, p["reason"], p["end_price"]
        elif k is EventKind.BREAKER:
            self._apply_breaker(p)
        elif k is EventKind.BAR_DONE:
            if bar > self.last_bar_done and self._replaying:
                self._running_volume = np.asarray(p["running_volume"], dtype=float)
                self._volume_bar = bar
            if bar >= self.last_bar_done and "time" in p:
                self.last_bar_time = datetime.fromisoformat(p["time"])
            self.last_bar_done = max(self.last_bar_done, bar)

    def _apply_report(self, r: ExecutionReport, bar: int) -> None:
        self.stats.reports += 1
        if r.report_id in self._seen_reports:
            self.stats.duplicate_reports += 1
            return
        self._seen_reports.add(r.report_id)
        child = self.children.get(r.client_order_id)
        if child is None:
            raise ReconciliationError(
                [f"report {r.report_id} ({r.kind.value}) for client order id "
                 f"{r.client_order_id} that this engine never sent"]
            )
        if r.broker_order_id and child.broker_order_id is None:
            child.broker_order_id = r.broker_order_id
        if child.unresolved_submit and r.broker_order_id:
            child.unresolved_submit = False  # the broker has the order: resolved
            self._unresolved.discard(child.client_order_id)
        if child.status is _S.INITIALIZED:  # report raced the SENT event (crash in between)
            child.transition(_S.SUBMITTED, bar, "report before send ack")
        if r.fill is not None:
            self._apply_fill(child, r.fill, bar)
        if r.kind is not ReportKind.FILL:
            was_open = child.is_open
            applied = child.apply_status(r.status, bar, r.reason or r.kind.value)
            if not applied:
                self.stats.stale_reports += 1
            if was_open and not child.is_open:
                self._child_closed(child)
            if applied and r.status is _S.REJECTED and not self._replaying:
                self._breaker_reject(child)
            elif applied and r.status is _S.ACCEPTED:
                self.system_breaker.record_accept()
        if r.cum_filled > child.filled_quantity:
            child.needs_fill_sync = True
            self._needs_sync.add(child.client_order_id)

    def _apply_fill(self, child: ChildOrder, fill: Fill, bar: int) -> None:
        self._working_shares = None  # the child's leaves change
        was_open = child.is_open
        if child.status is _S.INITIALIZED:
            child.transition(_S.SUBMITTED, bar, "fill before send ack")
        if not child.apply_fill(fill, bar):
            self.stats.duplicate_fills += 1
            return
        self.stats.fills += 1
        q = fill.quantity
        self.parents[child.parent_id].filled += q
        # not child.side.sign: a property call per fill (a million per study)
        self.positions[child.symbol] += q if child.side is Side.BUY else -q
        if self._on_fill is not None and not self._replaying:
            # before the engine works another parent: the next child's risk check sees it
            self._on_fill(child.symbol, child.side, q, fill.price, fill.timestamp, fill.fees)
        if was_open and not child.is_open:
            self._child_closed(child)

    def _apply_resolved(self, child: ChildOrder, p: dict, bar: int) -> None:
        was_open = child.is_open or child.status is _S.INITIALIZED
        child.unresolved_submit = False
        self._unresolved.discard(child.client_order_id)
        child.resolve_attempts += 1
        self.stats.resolved_by_query += 1
        if p["found"]:
            child.broker_order_id = p["broker_order_id"]
            if child.status is _S.INITIALIZED:
                child.transition(_S.SUBMITTED, bar, "found at the broker by client id")
            child.apply_status(_S(p["status"]), bar, "status from query")
            if p["cum_filled"] > child.filled_quantity:
                child.needs_fill_sync = True
                self._needs_sync.add(child.client_order_id)
        else:
            child.reject_reason = p["reason_code"]
            child.transition(_S.REJECTED, bar, p["reason_code"])
        if was_open and not child.is_open:
            self._child_closed(child)

    def _child_closed(self, child: ChildOrder) -> None:
        self._open_by_parent[child.parent_id].discard(child.client_order_id)
        self._open_by_symbol[child.symbol].discard(child.client_order_id)
        self._working_shares = None
        self._dirty.add(child.parent_id)

    def _apply_breaker(self, p: dict) -> None:
        ts = datetime.fromisoformat(p["timestamp"])
        if p["scope"] == "system":
            self.system_breaker.force(TradingState(p["new_state"]), ts, p["reason"],
                                      manual=p.get("manual", False))
        elif self._replaying:
            i = self._sym_index[p["symbol"]]
            self.market_breakers.paused[i] = p["new_state"] == "paused"
            self.market_breakers.reasons[i] = p["reason"] if p["new_state"] == "paused" else ""

    def _record_breaker(self, ev: BreakerEvent) -> None:
        self.events.append(ev)
        payload = {"timestamp": ev.timestamp.isoformat(), "scope": ev.scope, "symbol": ev.symbol,
                   "old_state": ev.old_state, "new_state": ev.new_state, "reason": ev.reason}
        if ev.manual:
            payload["manual"] = True
        self.journal.stage(EventKind.BREAKER, payload, None, self._bar)

    # ------------------------------------------------------------------ broker calls
    def _breaker_call(self, ok: bool, latency_ms: float) -> None:
        if self._now is None:
            return
        ev = self.system_breaker.record_call(ok, latency_ms, self._now)
        if ev:
            self._record_breaker_moved(ev)

    def _breaker_reject(self, child: ChildOrder) -> None:
        if self._now is None:
            return
        ev = self.system_breaker.record_reject(self._now)
        if ev:
            self._record_breaker_moved(ev)

    def _record_breaker_moved(self, ev: BreakerEvent) -> None:
        self._record_breaker(ev)
        if ev.new_state == TradingState.HALTED and self.settings.breaker_cancel_on_halt:
            self._cancel_all("trading halted: " + ev.reason)

    def _ingest(self, reports: list[ExecutionReport]) -> None:
        if not reports:
            return
        bar = self._bar
        stage = self.journal.stage
        apply = self._apply_report
        kind = EventKind.REPORT
        for r in reports:  # write-ahead: staged (committed before any action) then applied
            stage(kind, r.to_json_text(), r.client_order_id, bar)
            apply(r, bar)

    def _resolve_inflight(self) -> None:
        for cid in sorted(self._unresolved):
            child = self.children[cid]
            if not child.is_open:
                self._unresolved.discard(cid)
                continue
            bo = self._call(self.broker.get_order, child.client_order_id)
            if bo is not None:
                self._emit_resolved(child, bo)
            else:
                child.resolve_attempts += 1
                if child.resolve_attempts >= self.inflight_check_retries:
                    self._emit(EventKind.RESOLVED, {
                        "found": False, "reason_code": RejectReason.SUBMIT_UNCONFIRMED.value,
                    }, child.client_order_id, self._bar)

    def _emit_resolved(self, child: ChildOrder, bo: BrokerOrder) -> None:
        self._emit(EventKind.RESOLVED, {
            "found": True, "broker_order_id": bo.broker_order_id, "status": bo.status.value,
            "cum_filled": bo.filled_quantity,
        }, child.client_order_id, self._bar)

    def _sync_fills(self) -> None:
        if not self._needs_sync:
            return
        need = sorted(self._needs_sync)
        fills = self._call(self.broker.fills, need)
        self._ingest_fills(fills)
        for cid in need:
            self.children[cid].needs_fill_sync = False
        self._needs_sync.clear()

    def _ingest_fills(self, fills: list[Fill], recovered: bool = False) -> None:
        new = []
        for f in fills:
            child = self.children.get(f.client_order_id)
            if child is None:
                raise ReconciliationError(
                    [f"fill {f.fill_id} for client order id {f.client_order_id} this engine "
                     "never sent"]
                )
            if f.fill_id not in child.fill_ids:
                new.append(f)
        if new:
            for f in new:
                self.journal.stage(EventKind.FILL, fill_to_json(f), f.client_order_id, self._bar)
                self._apply_fill(self.children[f.client_order_id], f, self._bar)
            if recovered:
                self.stats.recovered_fills += len(new)

    # ------------------------------------------------------------------ breakers
    def _update_breakers(self, snap: MarketSnapshot) -> None:
        now = self._now
        for ev in self.market_breakers.update(snap, now):
            self._record_breaker(ev)
            if ev.new_state == "paused":
                for c in self.open_children():
                    if c.symbol == ev.symbol and c.is_open:
                        self._cancel_child(c, f"symbol paused: {ev.reason}")
        sb = self.system_breaker
        ev = sb.check_staleness(snap.timestamp, now)
        if ev:
            self._record_breaker_moved(ev)
        ev = sb.maybe_recover(snap.timestamp, now)
        if ev:
            self._record_breaker(ev)
        if sb.state is TradingState.HALTED and self.settings.breaker_cancel_on_halt:
            self._cancel_all("trading halted: " + sb.reason)

    def _cancel_all(self, reason: str) -> None:
        for c in self.open_children():
            if c.is_open:
                self._cancel_child(c, reason)

    def _cancel_child(self, child: ChildOrder, reason: str) -> None:
        """Record the cancel request now; the broker call waits for ``_send_cancels`` so that a
        batch of cancels costs one journal commit."""
        if not child.is_open or child.status is _S.PENDING_CANCEL:
            return
        self._emit(EventKind.CANCEL_REQUEST, {"reason": reason}, child.client_order_id, self._bar)
        self._cancel_queue.append(child)

    def _send_cancels(self) -> None:
        if not self._cancel_queue:
            return
        self.journal.commit()  # the requests are durable before the broker hears of them
        queue, self._cancel_queue = self._cancel_queue, []
        for k, child in enumerate(queue):
            try:
                self._call(self.broker.cancel, child.client_order_id, child.broker_order_id)
            except Rejected as exc:  # the order finished meanwhile: its reports will tell
                child.history.append((child.status.value, self._bar,
                                      f"cancel refused: {exc.reason}"))
            except BaseException:
                # not sent (the broker unreachable past the retries): queued again, or these
                # children would sit PENDING_CANCEL, never cancelled and never re-requested
                self._cancel_queue = queue[k:] + self._cancel_queue
                raise

    # ------------------------------------------------------------------ parents
    def _close_parent(self, ps: ParentState, reason: str) -> None:
        for cid in list(self._open_by_parent[ps.parent.parent_id]):
            c = self.children[cid]
            if c.is_open:
                self._cancel_child(c, f"parent {ps.parent.parent_id}: {reason}")
        end = float(self.last_mid[ps.symbol_index])
        if not np.isfinite(end):  # no price since the run started: nothing better to mark at
            end = ps.arrival_price
        self._emit(EventKind.PARENT_DONE, {
            "parent_id": ps.parent.parent_id, "reason": reason,
            "end_price": end,
        }, None, self._bar)

    def parent_progress(self, ps: ParentState) -> tuple[int, int]:
        """(filled, working) shares of a parent."""
        working = 0
        for cid in self._open_by_parent[ps.parent.parent_id]:
            working += self.children[cid].leaves_quantity
        return ps.filled, working

    def _working_limit(self, ps: ParentState) -> int:
        """Shares of a parent resting in open limit children."""
        children = self.children
        return sum(children[cid].leaves_quantity for cid in self._open_by_parent[
            ps.parent.parent_id] if children[cid].order_type is OrderType.LIMIT)

    def _work_parent(self, ps: ParentState, snap: MarketSnapshot, mid: np.ndarray) -> None:
        bar = snap.bar_index
        par = ps.parent
        filled, working = self.parent_progress(ps)
        if filled >= par.quantity:
            self._close_parent(ps, "filled")
            return
        if bar >= ps.deadline_bar:
            self._close_parent(ps, "deadline passed")
            return
        i = ps.symbol_index
        elapsed = bar - ps.arrival_bar
        ctx = AlgoContext(
            bar_index=bar, elapsed=elapsed, horizon_bars=par.horizon_bars, side=par.side,
            quantity=par.quantity, filled=filled, working=working,
            bid=float(snap.bid[i]), ask=float(snap.ask[i]), mid=float(mid[i]),
            last=float(snap.close[i]), bar_volume=float(snap.volume[i]),
            cum_volume=float(self._running_volume[i] - ps.volume_base),
            working_limit=self._working_limit(ps) if working else 0,
        )
        decision = ps.algorithm.decide(ctx)
        if decision.cancel_working:
            for cid in list(self._open_by_parent[par.parent_id]):
                self._cancel_child(self.children[cid], "algorithm: time in force elapsed")
        if decision.child is not None:
            self._send_child(ps, decision.child, snap, float(mid[i]))
        if decision.wake_in_bars is not None:
            self._wake_at(bar + max(1, decision.wake_in_bars), par.parent_id)

    def _wake_at(self, bar: int, parent_id: str) -> None:
        ids = self._wake.get(bar)
        if ids is None:
            self._wake[bar] = ids = set()
            heapq.heappush(self._wake_heap, bar)
        ids.add(parent_id)

    def _local_reject(self, ps: ParentState, code: RejectReason, reason: str) -> None:
        self._emit(EventKind.LOCAL_REJECT, {
            "parent_id": ps.parent.parent_id, "reason_code": code.value, "reason": reason,
        }, None, self._bar)
        self._wake_at(self._bar + 1, ps.parent.parent_id)

    def _send_child(self, ps: ParentState, req: ChildRequest, snap: MarketSnapshot, mid: float):
        par = ps.parent
        i = ps.symbol_index
        qty = int(req.quantity)
        state = self.system_breaker.state
        if state is TradingState.HALTED:
            return self._local_reject(ps, RejectReason.TRADING_HALTED, self.system_breaker.reason)
        if state is TradingState.REDUCING:
            pos = self.positions[par.symbol]
            if not (par.side.sign * pos < 0 and qty <= abs(pos)):
                return self._local_reject(
                    ps, RejectReason.TRADING_REDUCING,
                    f"engine REDUCING ({self.system_breaker.reason}); order does not reduce "
                    f"the {par.symbol} position of {pos}",
                )
        if self.market_breakers.paused[i]:
            return self._local_reject(ps, RejectReason.SYMBOL_PAUSED, self.market_breakers.reasons[i])
        qty = self._within_max_notional(ps, req, qty, float(snap.close[i]))
        slice_index = ps.next_slice  # one child per parent per bar
        cid = client_order_id(self.run_id, par.parent_id, slice_index)
        check = self.validator.validate(
            client_order_id=cid, symbol=par.symbol, side=par.side, quantity=qty,
            order_type=req.order_type, limit_price=req.limit_price,
            last_price=float(snap.close[i]), timestamp=snap.timestamp,
            already_sent=cid in self.children,
            pending_quantity=self._pending_same_side(ps) if self.validator.risk_check else 0,
            working_notional=self._working_elsewhere(ps, snap) if self.validator.risk_check
            else None,
        )
        if not check.accepted:
            return self._local_reject(ps, check.reason_code, check.reason)
        self._outbox.append((ps, req, check.quantity, mid, slice_index, cid))
        self._queued[(ps.symbol_index, par.side)] += check.quantity
        return None

    def _pending_same_side(self, ps: ParentState) -> int:
        """Shares of ``ps``'s symbol on ``ps``'s side already working at the broker or queued
        this bar: the risk check sees the position as if they fill (else each TWAP slice is
        checked against a book without the slices still in flight, and together they overshoot
        the limit)."""
        side = ps.parent.side
        pending = self._queued[(ps.symbol_index, side)]
        children = self.children
        for cid in self._open_by_symbol[ps.parent.symbol]:
            c = children[cid]
            if c.side is side:
                pending += c.leaves_quantity
        return pending

    def _working_elsewhere(self, ps: ParentState, snap: MarketSnapshot) -> dict[str, float]:
        """Signed dollars (at the bar's close) of the orders of every other symbol working at
        the broker or queued this bar: the risk check counts them toward the sector, gross and
        net limits (a rebalance's buys go out together, each checked before any fills)."""
        if self._working_shares is None:
            shares = np.zeros(len(self.symbols))
            children = self.children
            for sym, cids in self._open_by_symbol.items():
                i = self._sym_index[sym]
                for cid in cids:
                    c = children[cid]
                    shares[i] += c.side.sign * c.leaves_quantity
            self._working_shares = shares
        shares = self._working_shares.copy()
        for (i, side), q in self._queued.items():
            shares[i] += side.sign * q
        shares[ps.symbol_index] = 0.0
        dollars = shares * snap.close
        return {self.symbols[i]: float(dollars[i]) for i in np.flatnonzero(
            np.isfinite(dollars) & (dollars != 0.0))}

    def _within_max_notional(self, ps: ParentState, req: ChildRequest, qty: int,
                             last: float) -> int:
        """The child's quantity cut to the largest within the maximum order notional; the
        parent then works the rest from the next bar. Why here: the cap bounds one order (a
        fat-finger guard), not a parent, so an algorithm's large slice becomes several
        children instead of a refusal repeated every bar."""
        price = req.limit_price if req.limit_price is not None else last
        cap = self.validator.max_order_notional
        if not (price > 0 and qty * price > cap):
            return qty
        fitted = int(cap // price)
        if fitted < 1:
            return qty  # one share is over the cap: the validator refuses it, naming why
        self._wake_at(self._bar + 1, ps.parent.parent_id)
        return fitted

    def _flush_outbox(self) -> None:
        """Journal every intent of the bar in one durable transaction, then send them one by
        one; the outcomes are journaled together afterwards (a crash in between leaves intents
        without outcome, which recovery resolves by querying the broker)."""
        if not self._outbox:
            return
        intents = []
        for ps, req, qty, mid, slice_index, cid in self._outbox:
            par = ps.parent
            payload = {
                "parent_id": par.parent_id, "slice": slice_index, "symbol": par.symbol,
                "side": par.side._value_, "quantity": qty,
                "order_type": req.order_type._value_,
                "limit_price": req.limit_price, "mid": mid,
            }
            ev = JournalEvent(0, EventKind.INTENT, cid, self._bar, payload)
            self._apply(ev)  # advances ps.next_slice
            intents.append(ev)
        self._outbox = []
        self._queued.clear()
        for e in intents:
            self.journal.stage(e.kind, intent_json_text(e.payload), e.client_order_id,
                               e.bar_index)
        self.journal.commit()  # write-ahead: every intent is durable before it is sent
        outcomes: list[JournalEvent] = []
        for ev in intents:
            outcomes.append(self._submit(ev.client_order_id))
        for ev in outcomes:  # committed at the end of the bar (or before the next action)
            p = ev.payload
            if ev.kind is EventKind.SENT and p["broker_order_id"].__class__ is str:
                p = f'{{"broker_order_id":{_json_str(p["broker_order_id"])}}}'  # hot: no encoder
            self.journal.stage(ev.kind, p, ev.client_order_id, ev.bar_index)
            self._apply(ev)
            if ev.kind is EventKind.SUBMIT_FAILED:
                self._wake_at(self._bar + 1, self.children[ev.client_order_id].parent_id)
                if ev.payload["reason_code"] == RejectReason.BROKER_REJECTED.value:
                    self._breaker_reject(self.children[ev.client_order_id])

    def _submit(self, cid: str) -> JournalEvent:
        """Send one journaled intent; return the event describing the outcome (not applied)."""
        c = self.children[cid]
        order = Order(
            client_order_id=cid, symbol=c.symbol, side=c.side, quantity=c.quantity,
            order_type=c.order_type, limit_price=c.limit_price, parent_id=c.parent_id,
        )
        self.stats.submits += 1

        def out(kind: EventKind, payload: dict) -> JournalEvent:
            return JournalEvent(0, kind, cid, self._bar, payload)

        try:  # never retried: not idempotent
            broker_id = self._broker_calls.attempt(
                self.broker.submit, order, failures=_SUBMIT_FAILURES, answers=(Rejected,))
        except SubmitTimeout:
            return out(EventKind.SUBMIT_TIMEOUT, {})
        except Rejected as exc:
            return out(EventKind.SUBMIT_FAILED, {"reason_code": RejectReason.BROKER_REJECTED.value,
                                                 "reason": f"{exc.code}: {exc.reason}"})
        except RateLimited as exc:
            return out(EventKind.SUBMIT_FAILED,
                       {"reason_code": RejectReason.BROKER_RATE_LIMITED.value, "reason": str(exc)})
        except BrokerUnavailable as exc:
            return out(EventKind.SUBMIT_FAILED,
                       {"reason_code": RejectReason.BROKER_UNAVAILABLE.value, "reason": str(exc)})
        self.system_breaker.record_accept()
        return out(EventKind.SENT, {"broker_order_id": broker_id})

    # ------------------------------------------------------------------ reconciliation
    def _require_recovered(self) -> None:
        if not self._recovered:
            raise RuntimeError("engine: call recover() before trading (replays the journal and "
                               "reconciles with the broker)")

    def _reconcile(self) -> None:
        """Compare the replayed state with the broker's (see :mod:`research.execution.recovery`).
        A method so that tests/broken_engines.py can break this step on purpose."""
        recovery.reconcile_with_broker(self)
