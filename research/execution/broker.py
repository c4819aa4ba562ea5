"""The Broker port: what the engine needs from any broker (simulated or Tiger).

Contract, written for Tiger's reality:

* ``submit`` returns the broker's own order id. It raises :class:`RateLimited` (nothing
  created), :class:`Rejected` (refused), :class:`BrokerUnavailable` (request never sent) or
  :class:`SubmitTimeout` (no answer: the order may or may not exist — the engine resolves it
  with ``get_order(client_order_id)``, it never re-sends). The client order id travels with the
  order (Tiger: ``user_mark``) so the broker can be asked about it later.
* Queries (``get_order``, ``open_orders``, ``fills``, ``positions``, ``account``) and ``cancel``
  are idempotent: the engine retries them with backoff on :class:`RateLimited` /
  :class:`BrokerUnavailable`. Cancelling an order that is already final is a no-op.
* ``poll_reports`` drains execution reports received since the last poll. Reports may be late,
  duplicated or out of order; partial fills may show up only as a STATUS report with a
  cumulative filled quantity (Tiger "Submitted" with ``filledQuantity``) — ``fills`` then gives
  the individual executions with unique fill ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from research.domain import Fill, Order, Position
from research.execution.model import Account, BrokerOrder, ExecutionReport


@runtime_checkable
class Broker(Protocol):
    def submit(self, order: Order) -> str:
        """Send ``order``; return the broker order id."""
        ...

    def cancel(self, client_order_id: str, broker_order_id: str | None = None) -> None:
        """Request cancellation (idempotent)."""
        ...

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's view of the order with this client id, or None if it has none."""
        ...

    def open_orders(self) -> list[BrokerOrder]:
        """Every order the broker still works."""
        ...

    def fills(
        self, client_order_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[Fill]:
        """Executions, optionally only for these client ids and at or after ``since``."""
        ...

    def positions(self) -> dict[str, Position]:
        """Net positions by symbol (shares)."""
        ...

    def account(self) -> Account:
        """Cash and equity in dollars."""
        ...

    def poll_reports(self) -> list[ExecutionReport]:
        """Drain pending execution reports."""
        ...
