"""Restart recovery of the execution engine: replay the journal into the engine's state, then
reconcile that state with the broker before any new order is sent.

Reconciliation asks the broker (by client order id) about every order the journal left open,
resolves intents whose outcome was never journaled (never re-sending them), books fills that
reached the broker after the last journal write, and looks for orders the journal lost (an OS
crash under ``journal_synchronous=NORMAL``). Anything it cannot explain raises
:class:`ReconciliationError` and nothing is sent.

Functions of the engine rather than methods: they run once per restart and read the engine's
state, while the engine's module keeps the bar loop. Every state change still goes through the
engine's journal (``_emit``, ``_ingest_fills``), so a reconciled restart journals exactly what
it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from research.domain import OrderStatus
from research.execution.errors import ReconciliationError
from research.execution.ids import client_order_id
from research.execution.journal import EventKind
from research.execution.model import RejectReason

if TYPE_CHECKING:
    from research.execution.engine import ExecutionEngine


def recover(engine: ExecutionEngine) -> None:
    """Replay ``engine``'s journal into its state, then reconcile it with the broker
    (``engine._reconcile``, normally :func:`reconcile_with_broker`)."""
    engine._replaying = True
    has_run = False
    try:
        for ev in engine.journal.events():
            if ev.kind is EventKind.RUN:
                if ev.payload["run_id"] != engine.run_id:
                    raise ReconciliationError(
                        [f"journal {engine.journal.path} belongs to run "
                         f"{ev.payload['run_id']!r}, not {engine.run_id!r}"]
                    )
                has_run = True
            engine._apply(ev)
    finally:
        engine._replaying = False
    if not has_run:
        engine.journal.append(EventKind.RUN, {"run_id": engine.run_id, "symbols": engine.symbols})
    engine._resumed = has_run  # a restart: new parents may be ones a lost journal tail held
    engine._reconcile()
    engine.journal.commit()
    engine._recovered = True


def reconcile_with_broker(engine: ExecutionEngine) -> None:
    """Check every order, fill and (with ``initial_positions``) position of the replayed journal
    against the broker, resolving intents whose outcome the journal lacks; raise
    :class:`ReconciliationError` listing everything that does not match."""
    mismatches: list[str] = []
    for child in list(engine.children.values()):
        if child.status.is_terminal:
            continue
        bo = engine._call(engine.broker.get_order, child.client_order_id)
        desc = (f"order {child.client_order_id} ({child.symbol} {child.side.value} "
                f"{child.quantity}, parent {child.parent_id})")
        if bo is None:
            if child.status is OrderStatus.INITIALIZED:
                engine._emit(EventKind.RESOLVED, {
                    "found": False, "reason_code": RejectReason.NEVER_REACHED_BROKER.value,
                }, child.client_order_id, engine._bar)
            elif child.unresolved_submit:
                engine._emit(EventKind.RESOLVED, {
                    "found": False, "reason_code": RejectReason.SUBMIT_UNCONFIRMED.value,
                }, child.client_order_id, engine._bar)
            else:
                mismatches.append(f"{desc} is {child.status.value} in the journal but the "
                                  "broker has no such order")
            continue
        if (bo.symbol, bo.side, bo.quantity) != (child.symbol, child.side, child.quantity):
            mismatches.append(f"{desc} differs at the broker: {bo.symbol} {bo.side.value} "
                              f"{bo.quantity}")
            continue
        engine._emit_resolved(child, bo)
    for bo in engine._call(engine.broker.open_orders):
        if bo.client_order_id not in engine.children:
            mismatches.append(
                f"broker has open order {bo.broker_order_id} (client id {bo.client_order_id}, "
                f"{bo.symbol} {bo.side.value} {bo.quantity}) that the journal does not know"
            )
    if engine.children:
        broker_fills = engine._call(engine.broker.fills, list(engine.children))
        known = {f.fill_id for f in broker_fills}
        try:
            engine._ingest_fills(broker_fills, recovered=True)
        except ReconciliationError as exc:
            mismatches.extend(exc.mismatches)
        engine._needs_sync.clear()
        for c in engine.children.values():
            c.needs_fill_sync = False
            for fid in c.fill_ids - known:
                mismatches.append(f"journal has fill {fid} of order {c.client_order_id} that "
                                  "the broker does not report")
    mismatches.extend(probe_lost_slices(engine))
    if engine.initial_positions is not None:
        bpos = {s: p.quantity for s, p in engine._call(engine.broker.positions).items()}
        for s in set(bpos) | set(engine.positions) | set(engine.initial_positions):
            want = engine.initial_positions.get(s, 0) + engine.positions.get(s, 0)
            if bpos.get(s, 0) != want:
                mismatches.append(f"position {s}: broker {bpos.get(s, 0)} shares, journal "
                                  f"implies {want}")
    if mismatches:
        raise ReconciliationError(mismatches)


def probe_lost_slices(engine: ExecutionEngine) -> list[str]:
    """Orders at the broker under the client ids this run would send next.

    Why: intents are committed before they are sent, so after a process crash the broker
    never has a slice the journal lacks. After an OS crash or power loss under
    ``journal_synchronous=NORMAL`` the journal's last commits can be gone; an order they
    covered that is still open, or that moved a position, is caught by :func:`reconcile_with_broker`, but one that
    was since cancelled, rejected or expired unfilled is not — and the engine would
    derive the same client id for the same slice and send it a second time. One query per
    unfinished parent (at restart only) closes that gap."""
    found = []
    for pid, ps in engine.parents.items():
        if not ps.done:
            found += lost_slices(engine, pid, ps.next_slice)
    return found

def lost_slices(engine: ExecutionEngine, parent_id: str, first_slice: int) -> list[str]:
    """Broker orders under this run's client ids for ``parent_id`` from ``first_slice`` on
    that the journal does not hold (one query per slice, until the broker has none)."""
    found = []
    k = first_slice
    while True:
        cid = client_order_id(engine.run_id, parent_id, k)
        bo = None if cid in engine.children else engine._call(engine.broker.get_order, cid)
        if bo is None:
            return found
        found.append(
            f"broker has order {bo.broker_order_id} (client id {cid}, slice {k} of parent "
            f"{parent_id}, {bo.status.value}, {bo.symbol} {bo.side.value} {bo.quantity}) "
            "that the journal does not know: the journal lost its last events (an OS crash "
            "or power loss with journal_synchronous=NORMAL?); not re-sending that slice")
        k += 1
