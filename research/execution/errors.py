"""Typed errors of the execution layer.

Broker errors are what a :class:`~research.execution.broker.Broker` raises; the engine decides
from the *type* whether a call may be retried (only idempotent ones, and only for
:class:`RateLimited` / :class:`BrokerUnavailable`) or must be resolved by a query
(:class:`SubmitTimeout`: the order may exist at the broker).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base class of every error a broker adapter raises."""


class RateLimited(BrokerError):
    """The broker throttled the call (Tiger: body code 4/5 or HTTP 429). Nothing was created."""

    def __init__(self, message: str = "rate limited", *, code: int = 4, http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class Rejected(BrokerError):
    """The broker refused the request; ``reason`` is the broker's text, ``code`` its code."""

    def __init__(self, reason: str, *, code: str = "rejected"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SubmitTimeout(BrokerError):
    """A submit got no answer in time. The order MAY exist: resolve by query, never re-send."""

    def __init__(self, client_order_id: str, message: str = "submit timed out"):
        super().__init__(f"{message} (client order id {client_order_id})")
        self.client_order_id = client_order_id


class BrokerUnavailable(BrokerError):
    """The broker could not be reached (connection refused, disconnected). Nothing was sent."""


class IllegalTransition(Exception):
    """An order was asked to move to a state its lifecycle forbids; carries the history."""

    def __init__(self, client_order_id: str, current: str, requested: str, history: list):
        lines = "\n".join(f"    {h}" for h in history)
        super().__init__(
            f"order {client_order_id}: illegal transition {current} -> {requested}; "
            f"history:\n{lines}"
        )
        self.client_order_id = client_order_id
        self.current = current
        self.requested = requested
        self.history = list(history)


class OverfillError(Exception):
    """Fills for an order add up to more than its quantity."""


class ReconciliationError(Exception):
    """Journal and broker disagree in a way the engine cannot explain: trading must stop.

    ``mismatches`` lists one human-readable line per disagreement.
    """

    def __init__(self, mismatches: list[str]):
        self.mismatches = list(mismatches)
        body = "\n".join(f"  - {m}" for m in self.mismatches)
        super().__init__(
            f"reconciliation failed with {len(self.mismatches)} unexplained mismatch(es); "
            f"trading stopped:\n{body}"
        )
