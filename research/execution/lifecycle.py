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


def is_legal(current: OrderStatus, new: OrderStatus) -> bool:
    return new in LEGAL_TRANSITIONS[current]


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
        return 0 if self.status.is_terminal else self.quantity - self.filled_quantity

    @property
    def average_price(self) -> float:
        return self.filled_notional / self.filled_quantity if self.filled_quantity else 0.0

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

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
        if fill.fill_id in self.fill_ids:
            return False
        if fill.quantity <= 0:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fill.fill_id} has non-positive quantity "
                f"{fill.quantity}"
            )
        if self.filled_quantity + fill.quantity > self.quantity:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fill.fill_id} of {fill.quantity} on top of "
                f"{self.filled_quantity} filled exceeds the order quantity {self.quantity}; "
                f"history: {self.history}"
            )
        self.fill_ids.add(fill.fill_id)
        self.filled_quantity += fill.quantity
        self.filled_notional += fill.quantity * fill.price
        self.fees += fill.fees
        if self.status.is_terminal:
            self.history.append((self.status.value, bar, f"late fill {fill.fill_id}"))
        elif self.filled_quantity == self.quantity:
            self.transition(S.FILLED, bar, f"fill {fill.fill_id}")
        elif self.status in (S.SUBMITTED, S.ACCEPTED):
            self.transition(S.PARTIALLY_FILLED, bar, f"fill {fill.fill_id}")
        return True

    def apply_status(self, new: OrderStatus, bar: int, reason: str = "") -> bool:
        """Apply a broker status; False when the report is stale (out of order or redundant).

        PARTIALLY_FILLED / FILLED statuses are never applied from status reports: the fills
        carry those transitions, so an engine cannot believe in shares it has no fill for.
        """
        if new in (S.PARTIALLY_FILLED, S.FILLED):
            return False
        cur = self.status
        if new == cur:
            return False
        if cur.is_terminal:
            if new.is_terminal and cur is not S.FILLED:
                # two different final answers about one order: the broker contradicts itself
                self.transition(new, bar, reason)
            return False  # FILLED beats a late cancel/expiry; anything else is stale
        if new is S.ACCEPTED and cur in (S.PARTIALLY_FILLED,):
            return False
        if new is S.ACCEPTED and cur is S.PENDING_CANCEL and "cancel refused" not in reason:
            return False
        if STATUS_RANK[new] < STATUS_RANK[cur] and not (
            cur is S.PENDING_CANCEL and new is S.ACCEPTED
        ):
            return False
        self.transition(new, bar, reason)
        return True
