"""``TigerBroker``: the execution engine's Broker protocol over tigeropen.

Idempotency. The engine's client order id travels in the order's ``user_mark`` and comes back
in every order query. ``submit`` never sends a client order id twice from one process; when a
place ends without a clear answer (read timeout, HTTP 5xx, Tiger code 1/2, no id in the
response) the adapter asks Tiger for orders carrying that ``user_mark`` *before* anything else
is sent: found, the place succeeded and its id is returned; not found, ``SubmitTimeout`` tells
the engine to resolve it later with ``get_order`` — nothing is re-sent.

Execution reports come from polling (``poll_reports``): one ``active_orders`` query, plus one
``orders`` query per tracked order that left the open list since the last poll. Tiger reports a
partial fill as ``Submitted`` with a filled quantity; the report carries the cumulative filled
quantity and the engine fetches the executions with ``fills``. A poll that is rate-limited
(by Tiger or the adapter's own limiter) is deferred to a later bar, never raised: it is a read,
and the orders it did not cover stay pending.

Fills at scale. A restart asks for the fills of every child of the day (hundreds to
thousands), and ``order_transactions`` is limited to 60 calls a minute. So ``fills`` batches:
client ids this process does not know are found in one paged scan of the order list (not one
scan each); executions are fetched per symbol, in pages of 100 (one order of a symbol alone:
by its order id); every query waits for its rate-limit token as long as the published limit
requires (``query_max_wait_s``) instead of failing on the adapter's own limiter, and a query
Tiger itself throttles is sent again after the cool-down. The fills of a finished order are
kept, so a call that failed half-way (and the engine's retry of it) resumes with the orders it
had not finished.

Fill source. ``order_transactions`` is not offered to every account type; Tiger answers it with
code 1000 (see :class:`~live.tiger.errors.MethodUnavailable`). The adapter then takes fills
from the order records — one fill per finished order with its filled quantity, average price
and commission, stamped at its latest execution — and says so in ``fill_source`` /
``fill_source_reason`` and the log. An order still working has no fill in that mode until it
finishes (its filled shares stay counted as working by the engine, so nothing is re-sent); a
restart while one is partly filled finds Tiger's position ahead of the journal and is refused
by the engine's position check until the order finishes or is cancelled (a guessed split of
its executions could not be derived again by the next restart).

Fees. Tiger gives commission per order, not per execution; each fill gets the order's
commission pro rata to its quantity, from an order snapshot whose filled quantity matches the
executions listed, so the fills of a finished order add up to its commission.

Rate limits: see :mod:`live.tiger.ratelimit`; errors: see :mod:`live.tiger.errors`.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from live.tiger.errors import AmbiguousOutcome, MethodUnavailable
from live.tiger.mapping import (
    FOREIGN_ORDER_PREFIX,
    FRACTIONAL_QUANTITY,
    REPORT_KIND,
    account_from_segment,
    action_from_side,
    broker_order,
    client_order_id_of,
    fill_from_order_record,
    fill_from_transaction,
    position_from_tiger,
    transaction_shares,
)
from live.tiger.session import TigerSession
from research.data.schema import EXCHANGE_TZ
from research.domain import Fill, Order, OrderStatus, OrderType, Position, TimeInForce
from research.execution.errors import (
    BrokerError,
    BrokerUnavailable,
    RateLimited,
    ReconciliationError,
    Rejected,
    SubmitTimeout,
)
from research.execution.model import Account, BrokerOrder, ExecutionReport

_TIF = {TimeInForce.DAY: "DAY", TimeInForce.GTC: "GTC"}
_PAGE = 300  # Tiger's maximum page size for order lists
_TRANSACTIONS_PAGE = 100  # Tiger's maximum page size for order_transactions
#: Up to this many unknown client ids are looked up one by one; more: one scan of the list.
_LOOKUPS_ONE_BY_ONE = 3
#: How often one query Tiger throttled (code 4/5, HTTP 429) is sent again after the cool-down.
_THROTTLE_RETRIES = 3
#: Report polls in a row that Tiger's throttling may cut short before the throttle is raised:
#: past it the run would trade on fills it has not seen for that many bars (its risk checks
#: on a stale book); stopping with the error is safer, and a restart reconciles.
MAX_DEFERRED_POLLS = 10

FILLS_FROM_TRANSACTIONS = "order_transactions"
FILLS_FROM_ORDER_RECORDS = "order_records"

log = logging.getLogger(__name__)


@dataclass
class _Tracked:
    """What the adapter knows about one order it placed (or found by its user_mark)."""

    client_order_id: str
    broker_order_id: str
    symbol: str = ""
    last: BrokerOrder | None = None
    commission: float = 0.0
    reported: tuple[OrderStatus, int] | None = None
    opened_ms: int | None = None  # when Tiger took the order (its record's openTime)
    last_fill_ms: int | None = None  # its latest execution (latestTime), else last update


class TigerBroker:
    """The Broker protocol (``research.execution.broker.Broker``) for a Tiger account.

    ``order_lookback`` bounds how far back ``get_order`` searches Tiger's order list for a
    client order id it did not place in this process (a restart). ``currency`` is the
    contracts' currency (US equities: USD). ``query_max_wait_s`` is the longest one query that
    reconciliation makes (``get_order``, ``open_orders``, ``fills``, ``positions``) waits for
    its rate-limit token (seconds): longer than a 60 s window plus a
    cool-down, so pacing, not the adapter's own limiter, decides how long a large
    reconciliation takes.
    """

    def __init__(
        self,
        session: TigerSession,
        *,
        order_lookback: timedelta = timedelta(days=3),
        currency: str = "USD",
        query_max_wait_s: float = 120.0,
    ):
        self.session = session
        self.order_lookback = order_lookback
        self.currency = currency
        self.query_max_wait_s = float(query_max_wait_s)
        #: where fills come from: ``order_transactions`` until Tiger says the account does
        #: not offer it, then ``order_records`` (``fill_source_reason`` says why)
        self.fill_source = FILLS_FROM_TRANSACTIONS
        self.fill_source_reason = ""
        self._orders: dict[str, _Tracked] = {}
        self._in_doubt: set[str] = set()  # places with no clear answer: never sent again
        self._final_fills: dict[str, list[Fill]] = {}  # finished orders whose fills are known
        # user_mark -> Tiger ids of the orders carrying it, as seen by any scan of the order
        # list: a later lookup of a mark seen there asks for that one order, not a new scan
        self._seen_marks: dict[str, set[int]] = defaultdict(set)
        self._lock = threading.RLock()
        self._deferred_polls = 0  # report polls in a row cut short by throttling

    @classmethod
    def from_settings(cls, settings: Any, **session_kw: Any) -> TigerBroker:
        """A broker with its own session from ``Settings.tiger`` (or a full ``Settings``)."""
        tiger = getattr(settings, "tiger", settings)
        return cls(TigerSession(tiger, **session_kw))

    def __repr__(self) -> str:
        return f"TigerBroker({self.session!r}, tracked_orders={len(self._orders)})"

    # ------------------------------------------------------------------ placing
    def submit(self, order: Order) -> str:
        cid = order.client_order_id
        with self._lock:
            known = self._orders.get(cid)
        if known is not None:  # never send one client order id twice
            return known.broker_order_id
        if cid in self._in_doubt:
            return self._resolve_place(cid, "an earlier place of this id had no clear answer")
        tiger_order = self._tiger_order(order)
        trade = self.session.trade
        try:
            broker_id = self.session.call_unsafe("place_order", trade.place_order, tiger_order)
        except BrokerError:  # rate limited, rejected, unreachable: nothing was created
            raise
        except AmbiguousOutcome as exc:
            return self._resolve_place(cid, str(exc))
        except Exception as exc:  # noqa: BLE001 - an unexpected failure is ambiguous too
            return self._resolve_place(cid, self.session.redact(f"{type(exc).__name__}: {exc}"))
        if broker_id is None:
            return self._resolve_place(cid, "Tiger answered without an order id")
        self._track(cid, str(broker_id)).symbol = order.symbol.upper()
        return str(broker_id)

    def _tiger_order(self, order: Order) -> Any:
        from tigeropen.common.util.contract_utils import stock_contract
        from tigeropen.common.util.order_utils import limit_order, market_order

        tif = _TIF.get(order.time_in_force)
        if tif is None:
            raise Rejected(
                f"order {order.client_order_id}: time in force {order.time_in_force.value!r} is "
                "not offered by Tiger for US stocks (DAY or GTC)",
                code="unsupported_time_in_force",
            )
        contract = stock_contract(order.symbol.upper(), currency=self.currency)
        action = action_from_side(order.side)
        if order.order_type is OrderType.LIMIT:
            o = limit_order(self.session.account, contract, action, int(order.quantity),
                            float(order.limit_price))
        else:
            o = market_order(self.session.account, contract, action, int(order.quantity))
        o.time_in_force = tif
        o.outside_rth = False  # regular hours only, as the simulator enforces
        o.user_mark = order.client_order_id
        return o

    def _resolve_place(self, cid: str, why: str) -> str:
        """After an ambiguous place: is there an order with this user_mark? Never re-send."""
        try:
            found = self._find_by_user_mark(cid)
        except BrokerError:
            found = None
        if found is None:
            with self._lock:
                self._in_doubt.add(cid)
            raise SubmitTimeout(cid, f"place had no clear answer ({why}); order not found yet")
        with self._lock:
            self._in_doubt.discard(cid)
        self._track(cid, str(found.id), found)
        return str(found.id)

    # ------------------------------------------------------------------ queries
    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        with self._lock:
            t = self._orders.get(client_order_id)
        if t is not None:
            o = self._paced_query("orders", self.session.trade.get_order,
                                  id=int(t.broker_order_id))
        elif client_order_id.startswith(FOREIGN_ORDER_PREFIX):
            o = self._paced_query("orders", self.session.trade.get_order,
                                  id=int(client_order_id[len(FOREIGN_ORDER_PREFIX):]))
        else:
            o = self._find_seen_mark(client_order_id)
            if o is None:
                o = self._find_by_user_mark(client_order_id)
        if o is None:
            return None
        with self._lock:
            self._in_doubt.discard(client_order_id)
        return self._track(client_order_id, str(o.id), o).last

    def open_orders(self) -> list[BrokerOrder]:
        orders = self._paced_query("active_orders", self.session.trade.get_open_orders,
                                   sec_type="STK") or []
        out = []
        for o in orders:
            cid = client_order_id_of(o)
            if cid.startswith(FOREIGN_ORDER_PREFIX):
                out.append(broker_order(o, cid))
            else:
                out.append(self._track(cid, str(o.id), o).last)
        return out

    def _find_seen_mark(self, cid: str) -> Any | None:
        """The order carrying ``cid`` if an earlier scan saw exactly one, fetched by its id.

        Why: a restart looks up every unfinished child, and a scan per child reads the whole
        order list each time. Only presence is trusted: a mark no scan has seen (or one whose
        place had no clear answer, which Tiger may create late) is always scanned for again."""
        with self._lock:
            ids = list(self._seen_marks.get(cid, ()))
            in_doubt = cid in self._in_doubt
        if len(ids) != 1 or in_doubt:
            return None
        o = self._paced_query("orders", self.session.trade.get_order, id=ids[0])
        return o if o is not None and getattr(o, "user_mark", None) == cid else None

    def _remember_marks(self, tiger_orders: Iterable[Any]) -> None:
        with self._lock:
            for o in tiger_orders:
                mark = getattr(o, "user_mark", None)
                if mark:
                    self._seen_marks[mark].add(int(o.id))

    def _order_pages(self) -> Iterable[list[Any]]:
        """Every page of Tiger's order list over ``order_lookback``, newest first, to the end.

        Why to the end: a lookup that stopped early (it used to stop at 20 pages) answered
        "no such order" for an older order that exists, and the engine takes that as "never
        placed". A page token Tiger repeats would loop forever: that is an error, not an end."""
        since_ms = int((self.session.clock() - self.order_lookback.total_seconds()) * 1000)
        token, seen = "", set()
        while True:
            resp = self._paced_query("orders", self.session.trade.get_orders, sec_type="STK",
                                     start_time=since_ms, limit=_PAGE, page_token=token)
            items = getattr(resp, "result", resp) or []
            self._remember_marks(items)
            yield items
            token = getattr(resp, "next_page_token", None)
            if not token:
                return
            if token in seen:
                raise BrokerUnavailable(f"Tiger's order list repeats page token {token!r} "
                                        f"after {len(seen)} pages: the scan cannot finish")
            seen.add(token)

    def _find_by_user_mark(self, cid: str) -> Any | None:
        """The Tiger order whose user_mark is ``cid`` within ``order_lookback``, else None."""
        matches = [o for items in self._order_pages() for o in items
                   if getattr(o, "user_mark", None) == cid]
        if len(matches) > 1:
            ids = ", ".join(str(o.id) for o in matches)
            raise ReconciliationError(
                [f"client order id {cid} is carried by {len(matches)} Tiger orders ({ids})"]
            )
        return matches[0] if matches else None

    def _find_many_by_user_mark(self, cids: set[str]) -> None:
        """Track every order whose user_mark is one of ``cids``, from one paged scan of the
        order list over ``order_lookback`` (a restart asks for hundreds: one scan, not one
        scan each). Every page is read, so a client id carried twice is always caught."""
        found: dict[str, list[Any]] = defaultdict(list)
        for items in self._order_pages():
            for o in items:
                mark = getattr(o, "user_mark", None)
                if mark in cids:
                    found[mark].append(o)
        twice = [f"client order id {cid} is carried by {len(os)} Tiger orders "
                 f"({', '.join(str(o.id) for o in os)})"
                 for cid, os in sorted(found.items()) if len(os) > 1]
        if twice:
            raise ReconciliationError(twice)
        for cid, (o,) in found.items():
            with self._lock:
                self._in_doubt.discard(cid)
            self._track(cid, str(o.id), o)

    def _track(self, cid: str, broker_id: str, tiger_order: Any = None) -> _Tracked:
        with self._lock:
            t = self._orders.get(cid)
            if t is None:
                t = self._orders[cid] = _Tracked(cid, broker_id)
            if tiger_order is not None:
                t.last = broker_order(tiger_order, cid)
                t.symbol = t.last.symbol
                t.commission = float(getattr(tiger_order, "commission", 0.0) or 0.0)
                opened = getattr(tiger_order, "order_time", None)
                t.opened_ms = int(opened) if opened else t.opened_ms
                latest = (getattr(tiger_order, "trade_time", None)
                          or getattr(tiger_order, "update_time", None))
                t.last_fill_ms = int(latest) if latest else t.last_fill_ms
            return t

    # ------------------------------------------------------------------ cancel
    def cancel(self, client_order_id: str, broker_order_id: str | None = None) -> None:
        with self._lock:
            t = self._orders.get(client_order_id)
        if t is not None and t.last is not None and t.last.status.is_terminal:
            return
        bid = broker_order_id or (t.broker_order_id if t is not None else None)
        if bid is None:
            found = self.get_order(client_order_id)
            if found is None:
                return  # Tiger has no such order: nothing to cancel
            if found.status.is_terminal:
                return
            bid = found.broker_order_id
        try:
            self.session.call("cancel_order", self.session.trade.cancel_order, id=int(bid))
        except Rejected:
            # Tiger refuses to cancel a finished order; that is the idempotent no-op
            o = self.session.call("orders", self.session.trade.get_order, id=int(bid))
            if o is not None and self._track(client_order_id, bid, o).last.status.is_terminal:
                return
            raise

    # ------------------------------------------------------------------ reports and fills
    def poll_reports(self) -> list[ExecutionReport]:
        with self._lock:
            pending = [t for t in self._orders.values()
                       if t.last is None or not t.last.status.is_terminal
                       or t.reported != (t.last.status, t.last.filled_quantity)]
        if not pending:
            return []
        try:
            open_now = {str(o.id): o for o in (self.session.call(
                "active_orders", self.session.trade.get_open_orders, sec_type="STK") or [])}
        except RateLimited as exc:
            self._defer_poll(exc, len(pending))
            return []
        reports = []
        throttled: RateLimited | None = None
        deferred = 0
        for t in pending:
            o = open_now.get(t.broker_order_id)
            if o is None and (t.last is None or not t.last.status.is_terminal):
                if throttled is not None:  # the method is throttled: ask on a later bar
                    deferred += 1
                    continue
                try:
                    o = self.session.call("orders", self.session.trade.get_order,
                                          id=int(t.broker_order_id))
                except RateLimited as exc:
                    throttled, deferred = exc, deferred + 1
                    continue
            if o is not None:
                self._track(t.client_order_id, t.broker_order_id, o)
            bo = t.last
            if bo is None:
                continue
            key = (bo.status, bo.filled_quantity)
            if key == t.reported:
                continue
            t.reported = key
            reports.append(ExecutionReport(
                report_id=f"tiger-{bo.broker_order_id}-{bo.status.value}-{bo.filled_quantity}",
                client_order_id=t.client_order_id,
                kind=REPORT_KIND[bo.status],
                status=bo.status,
                cum_filled=bo.filled_quantity,
                broker_order_id=bo.broker_order_id,
                reason=self.session.redact(str(getattr(o, "reason", "") or "")) if o else "",
            ))
        if throttled is not None:
            self._defer_poll(throttled, deferred)
        else:
            self._deferred_polls = 0
        return reports

    def _defer_poll(self, exc: RateLimited, orders: int) -> None:
        """A throttled report poll is skipped, not raised. Why: after Tiger throttles a method
        the session refuses it for its cool-down (10 s), longer than the engine's retries of
        the poll (~7.5 s), so raising stopped `qlab live` on one throttle. Nothing is lost by
        waiting: the orders not reported stay tracked as pending (their last report is
        unchanged) and the next bar's poll asks again — up to :data:`MAX_DEFERRED_POLLS` polls
        in a row, then the throttle is raised. Only this read-only poll is deferred; place,
        modify and cancel still raise and are never retried blindly."""
        self._deferred_polls += 1
        if self._deferred_polls > MAX_DEFERRED_POLLS:
            self._deferred_polls = 0
            log.error("report poll throttled %d times in a row: raised, not deferred again",
                      MAX_DEFERRED_POLLS + 1)
            raise exc
        log.warning("report poll deferred to a later bar (%d in a row), %d order(s) not "
                    "polled yet: %s", self._deferred_polls, orders, exc)

    def fills(
        self, client_order_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[Fill]:
        with self._lock:
            cids = list(self._orders) if client_order_ids is None else \
                list(dict.fromkeys(client_order_ids))
        self._track_unknown(cids)
        fresh: dict[str, list[Fill]] = {}  # fetched by this call, by client id
        todo: list[_Tracked] = []
        for cid in cids:
            with self._lock:
                t = self._orders.get(cid)
                known = self._final_fills.get(cid)
            if known is not None:  # finished and fetched before (e.g. by a failed attempt)
                fresh[cid] = known
            elif t is None:
                continue  # Tiger has no such order
            elif t.last is not None and t.last.status.is_terminal \
                    and t.last.filled_quantity == 0:
                continue  # finished without an execution: nothing to ask
            else:
                todo.append(t)
        if todo and self.fill_source == FILLS_FROM_TRANSACTIONS:
            try:
                self._fills_from_transactions(todo, fresh)
            except MethodUnavailable as exc:
                self._take_fills_from_order_records(exc)
        if self.fill_source == FILLS_FROM_ORDER_RECORDS:
            self._fills_from_order_records(
                [t for t in todo if t.client_order_id not in fresh], fresh)
        out = [f for fs in fresh.values() for f in fs if since is None or f.timestamp >= since]
        out.sort(key=lambda f: (f.timestamp, f.fill_id))
        return out

    def _paced_query(self, method: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """An idempotent query that waits for its rate-limit token as long as the published
        limit requires, and is sent again (after the session's cool-down) when Tiger itself
        throttles it: a reconciliation is paced, never abandoned, by rate limits.

        Used by every query reconciliation makes (``get_order``, ``open_orders``, ``fills``,
        ``positions``). Why not leave the waiting to the engine's retries: after a throttle
        the session refuses the method for its cool-down (10 s), longer than the engine's
        backoff budget, so a restart would give up on the adapter's own refusal."""
        for attempt in range(_THROTTLE_RETRIES + 1):
            try:
                return self.session.call(method, fn, *args,
                                         max_wait_s=self.query_max_wait_s, **kwargs)
            except RateLimited as exc:
                if exc.code == 0 or attempt == _THROTTLE_RETRIES:
                    raise  # client-side: the wait exceeded query_max_wait_s (misconfigured)
                log.warning("%s throttled by Tiger, sending again after the cool-down: %s",
                            method, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _track_unknown(self, cids: list[str]) -> None:
        """Find the Tiger orders of client ids this process has not tracked yet (a restart)."""
        with self._lock:
            unknown = [c for c in cids if c not in self._orders]
        marked = {c for c in unknown if not c.startswith(FOREIGN_ORDER_PREFIX)}
        if len(marked) > _LOOKUPS_ONE_BY_ONE:
            self._find_many_by_user_mark(marked)
            unknown = [c for c in unknown if c not in marked]
        for cid in unknown:
            self.get_order(cid)

    def _fills_from_transactions(self, todo: list[_Tracked], fresh: dict[str, list[Fill]]):
        """Executions of ``todo`` from ``order_transactions``: one paged query per symbol
        (by order id when the symbol has one order), finished orders kept as they complete."""
        by_symbol: dict[str, list[_Tracked]] = defaultdict(list)
        for t in todo:
            by_symbol[t.symbol].append(t)
        for symbol, group in sorted(by_symbol.items()):
            if len(group) == 1 or not symbol:
                for t in group:
                    trans = self._transaction_pages(order_id=int(t.broker_order_id))
                    self._book_transactions(t, trans, fresh)
                continue
            opened = [t.opened_ms for t in group]
            start_ms = min(opened) if None not in opened else int(
                (self.session.clock() - self.order_lookback.total_seconds()) * 1000)
            trans = self._transaction_pages(symbol=symbol, start_time=start_ms)
            by_order: dict[str, list[Any]] = defaultdict(list)
            for x in trans:
                by_order[str(getattr(x, "order_id", ""))].append(x)
            for t in group:
                self._book_transactions(t, by_order.get(t.broker_order_id, []), fresh)

    def _transaction_pages(self, **query: Any) -> list[Any]:
        trade = self.session.trade
        items, token = [], ""
        while True:
            resp = self._paced_query("order_transactions", trade.get_transactions,
                                     sec_type="STK", limit=_TRANSACTIONS_PAGE, page_token=token,
                                     **query)
            items += getattr(resp, "result", resp) or []
            token = getattr(resp, "next_page_token", None)
            if not token:
                return items

    def _book_transactions(self, t: _Tracked, trans: list[Any],
                           fresh: dict[str, list[Fill]]) -> None:
        cid = t.client_order_id
        if not trans:
            fresh[cid] = []
            return
        shares = [transaction_shares(x) for x in trans]
        total = sum(shares)
        if t.last is None or t.last.filled_quantity != total:
            o = self._paced_query("orders", self.session.trade.get_order,
                                  id=int(t.broker_order_id))
            if o is not None:
                self._track(cid, t.broker_order_id, o)
        per_share = t.commission / total if total else 0.0
        fills = [fill_from_transaction(x, cid, per_share * q, t.broker_order_id)
                 for x, q in zip(trans, shares, strict=True)]
        fresh[cid] = fills
        if t.last is not None and t.last.status.is_terminal and t.last.filled_quantity == total:
            with self._lock:
                self._final_fills[cid] = fills

    def _take_fills_from_order_records(self, cause: MethodUnavailable) -> None:
        self.fill_source = FILLS_FROM_ORDER_RECORDS
        self.fill_source_reason = (
            "order_transactions is not available to this Tiger account "
            f"({cause}); fills are taken from the order records: one per finished order, "
            "with its filled quantity, average price and commission")
        log.warning("%s", self.fill_source_reason)

    def _fills_from_order_records(self, todo: list[_Tracked],
                                  fresh: dict[str, list[Fill]]) -> None:
        """One fill per finished order from its record. The records are current: the engine
        polled (trading) or queried (reconciliation) them just before asking for fills."""
        for t in todo:
            if t.last is None:
                o = self._paced_query("orders", self.session.trade.get_order,
                                      id=int(t.broker_order_id))
                if o is not None:
                    self._track(t.client_order_id, t.broker_order_id, o)
            bo = t.last
            if bo is None or not bo.status.is_terminal or bo.filled_quantity == 0:
                fresh[t.client_order_id] = []
                continue
            fills = [fill_from_order_record(bo, t.commission, t.last_fill_ms)]
            fresh[t.client_order_id] = fills
            with self._lock:
                self._final_fills[t.client_order_id] = fills

    # ------------------------------------------------------------------ portfolio
    def positions(self) -> dict[str, Position]:
        """Stock positions by symbol; a fractional holding is listed even under one share,
        with its whole shares as quantity and the exact holding in ``extra`` (see
        :func:`~live.tiger.mapping.position_from_tiger`)."""
        rows = self._paced_query("positions", self.session.trade.get_positions,
                                 sec_type="STK", market="US") or []
        out: dict[str, Position] = {}
        for p in rows:
            pos = position_from_tiger(p)
            if pos.quantity == 0 and FRACTIONAL_QUANTITY not in pos.extra:
                continue
            if pos.symbol in out:
                raise ValueError(f"Tiger positions: symbol {pos.symbol} listed twice")
            out[pos.symbol] = pos
        return out

    def account(self) -> Account:
        prime = self.session.call("prime_assets", self.session.trade.get_prime_assets,
                                  base_currency=self.currency)
        seg = getattr(prime, "segments", {}).get("S") if prime is not None else None
        acct = account_from_segment(seg) if seg is not None else None
        if acct is None:  # a global (non-prime) account answers on the older endpoint
            assets = self.session.call("assets", self.session.trade.get_assets) or []
            acct = account_from_segment(assets[0].summary) if assets else None
        if acct is None:
            raise BrokerUnavailable("Tiger returned no cash / net liquidation / buying power "
                                    "for the stock segment (prime_assets and assets)")
        return acct

    def quotes(self, symbols: list[str]) -> pd.DataFrame:
        """Latest quotes: symbol, bid, ask, bid_size, ask_size, last, timestamp (exchange time)."""
        briefs = self.session.call("quote_real_time", self.session.quote.get_stock_briefs,
                                   [s.upper() for s in symbols])
        if briefs is None or len(briefs) == 0:
            return pd.DataFrame(columns=["symbol", "bid", "ask", "bid_size", "ask_size", "last",
                                         "timestamp"])
        out = pd.DataFrame({
            "symbol": briefs["symbol"].astype(str),
            "bid": briefs["bid_price"].astype(float), "ask": briefs["ask_price"].astype(float),
            "bid_size": briefs["bid_size"].astype(float),
            "ask_size": briefs["ask_size"].astype(float),
            "last": briefs["latest_price"].astype(float),
            "timestamp": pd.to_datetime(briefs["latest_time"].astype("int64"), unit="ms",
                                        utc=True).dt.tz_convert(EXCHANGE_TZ),
        })
        return out.reset_index(drop=True)
