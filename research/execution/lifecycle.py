"""Order lifecycle: the legal state transitions of a child order, fills with duplicate and
overfill detection.

Fills drive PARTIALLY_FILLED / FILLED (they carry quantities and unique fill ids); broker status
reports drive ACCEPTED, PENDING_CANCEL and the non-fill terminal states. A fill may arrive after
a CANCELLED / EXPIRED report (the cancel raced the execution): it is counted against the
quantity but does not reopen the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from research.domain import Fill, OrderStatus, OrderType, Side
from research.execution.errors import IllegalTransition, OverfillError

S = OrderStatus

LEGAL_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.INITIALIZED: frozenset({S.SUBMITTED, S.REJECTED}),
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED,
         S.EXPIRED}
    ),
    S.ACCEPTED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED, S.EXPIRED}
    ),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED}),
    # a refused cancel returns the order to where it was
    S.PENDING_CANCEL: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}
    ),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Progress of an order; a status report ranking below the order's current status is stale
# (an out-of-order delivery), not an error.
STATUS_RANK: dict[OrderStatus, int] = {
    S.INITIALIZED: 0,
    S.SUBMITTED: 1,
    S.ACCEPTED: 2,
    S.PARTIALLY_FILLED: 3,
    S.PENDING_CANCEL: 4,
    S.FILLED: 5,
    S.CANCELLED: 5,
    S.REJECTED: 5,
    S.EXPIRED: 5,
}

OPEN_STATUSES = frozenset({S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL})


# Hot-path lookups keyed by the statuses' plain string values: hashing an Enum member runs
# Enum.__hash__ in Python, a str's hash is cached (these run once or more per fill).
_LEGAL_BY_VALUE: dict[str, frozenset[str]] = {
    k._value_: frozenset(v._value_ for v in vs) for k, vs in LEGAL_TRANSITIONS.items()
}
_TERMINAL_VALUES = frozenset(s._value_ for s in S if s.is_terminal)
_RANK_BY_VALUE = {k._value_: v for k, v in STATUS_RANK.items()}


def is_legal(current: OrderStatus, new: OrderStatus) -> bool:
    return new._value_ in _LEGAL_BY_VALUE[current._value_]


@dataclass(slots=True)
class ChildOrder:
    """A child order's engine-side state. ``history`` lists (status, bar, reason) tuples."""

    client_order_id: str
    parent_id: str
    slice_index: int
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: float | None
    decision_bar: int
    status: OrderStatus = S.INITIALIZED
    broker_order_id: str | None = None
    filled_quantity: int = 0
    filled_notional: float = 0.0
    fees: float = 0.0
    unresolved_submit: bool = False
    resolve_attempts: int = 0
    needs_fill_sync: bool = False
    reject_reason: str = ""
    fill_ids: set[str] = field(default_factory=set)
    history: list[tuple[str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append((self.status._value_, self.decision_bar, "created"))

    @property
    def leaves_quantity(self) -> int:
        """Shares still working at the broker (0 once terminal)."""
        if self.status._value_ in _TERMINAL_VALUES:
            return 0
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> float:
        return self.filled_notional / self.filled_quantity if self.filled_quantity else 0.0

    @property
    def is_open(self) -> bool:
        return self.status._value_ not in _TERMINAL_VALUES

    def transition(self, new: OrderStatus, bar: int, reason: str = "") -> None:
        """Move to ``new``; raise :class:`IllegalTransition` (with the history) if forbidden."""
        if not is_legal(self.status, new):
            raise IllegalTransition(
                self.client_order_id, self.status.value, new.value,
                self.history + [(new.value, bar, reason + " (refused)")],
            )
        self.status = new
        # _value_ is the plain attribute behind Enum.value (a slow descriptor on a hot path)
        self.history.append((new._value_, bar, reason))

    def apply_fill(self, fill: Fill, bar: int) -> bool:
        """Count ``fill``; False if its fill id was seen already (duplicate delivery).

        Raises :class:`OverfillError` if it would take the order beyond its quantity.
        """
        fid = fill.fill_id
        if fid in self.fill_ids:
            return False
        q = fill.quantity
        if q <= 0:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fid} has non-positive quantity {q}"
            )
        filled = self.filled_quantity + q
        if filled > self.quantity:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fid} of {q} on top of "
                f"{self.filled_quantity} filled exceeds the order quantity {self.quantity}; "
                f"history: {self.history}"
            )
        self.fill_ids.add(fid)
        self.filled_quantity = filled
        self.filled_notional += q * fill.price
        self.fees += fill.fees
        status = self.status
        if status._value_ in _TERMINAL_VALUES:
            self.history.append((status._value_, bar, f"late fill {fid}"))
        elif filled == self.quantity:
            self.transition(S.FILLED, bar, f"fill {fid}")
        elif status is S.SUBMITTED or status is S.ACCEPTED:
            self.transition(S.PARTIALLY_FILLED, bar, f"fill {fid}")
        return True

    def apply_status(self, new: OrderStatus, bar: int, reason: str = "") -> bool:
        """Apply a broker status; False when the report is stale (out of order or redundant).

        PARTIALLY_FILLED / FILLED statuses are never applied from status reports: the fills
        carry those transitions, so an engine cannot believe in shares it has no fill for.
        """
        if new is S.PARTIALLY_FILLED or new is S.FILLED:
            return False
        cur = self.status
        if new is cur:
            return False
        if cur._value_ in _TERMINAL_VALUES:
            if new._value_ in _TERMINAL_VALUES and cur is not S.FILLED:
                # two different final answers about one order: the broker contradicts itself
                self.transition(new, bar, reason)
            return False  # FILLED beats a late cancel/expiry; anything else is stale
        if new is S.ACCEPTED and cur in (S.PARTIALLY_FILLED,):
            return False
        if new is S.ACCEPTED and cur is S.PENDING_CANCEL and "cancel refused" not in reason:
            return False
        if _RANK_BY_VALUE[new._value_] < _RANK_BY_VALUE[cur._value_] and not (
            cur is S.PENDING_CANCEL and new is S.ACCEPTED
        ):
            return False
        self.transition(new, bar, reason)
        return True
