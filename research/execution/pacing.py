"""How long a broker adapter held its own calls back (client-side rate limiting), so that the
time of a broker call can be split into the broker's part and ours.

Why: the system breaker moves the engine to REDUCING when a broker call is slow, to protect
orders from a broker that is struggling. A call that waited for the adapter's own rate-limit
tokens (e.g. ``fills`` paced at Tiger's 60 queries a minute) is slow because of our queue, not
the broker; counted as broker latency it reduced trading on a healthy broker. An adapter
reports each pacing wait with :func:`note_pacing_wait`; :class:`~research.execution.
broker_calls.BrokerCalls` subtracts the waits made during a call from its latency.

Per thread: a call and its waits run on the same thread, and wrappers between the engine and
the adapter (monitoring, dry run) need not pass anything along.
"""

from __future__ import annotations

import threading


class PacingLedger(threading.local):
    """Seconds this thread has spent in client-side pacing waits, cumulative (read the
    difference around a call)."""

    waited_s: float = 0.0


#: The process's ledger (one counter per thread).
PACING = PacingLedger()


def note_pacing_wait(seconds: float) -> None:
    """Record that this thread held a broker call back for ``seconds`` (before sending it)."""
    if seconds > 0:
        PACING.waited_s += seconds


def pacing_waited() -> float:
    """Seconds of pacing waits on this thread so far."""
    return PACING.waited_s
