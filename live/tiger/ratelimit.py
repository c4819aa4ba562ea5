"""Client-side rate limiting matching Tiger's published limits.

Tiger counts calls per account in a sliding 60-second window, per interface: 120/min for
order placement and order queries, 60/min for positions, assets, transactions and k-lines,
10/min for the quote-permission grab; a paper account is capped at 120 place + modify + cancel
per minute in total. Going over returns code 4 and, if repeated, gets the account blacklisted,
so the adapter never relies on the server to say no.

Every wait for a token is reported to :mod:`research.execution.pacing`: the engine's latency
breaker then times Tiger, not the adapter's own queue (a ``fills`` call paced over a dozen
``order_transactions`` queries took 8-12 s and moved the engine to REDUCING).

A token bucket of capacity ``burst`` refilled at ``(limit - burst) / 60`` tokens per second
can never spend more than ``burst + (limit - burst) = limit`` tokens in any 60 s window, so it
respects the sliding-window limit exactly, not just on average.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from research.execution import TokenBucket
from research.execution.errors import RateLimited
from research.execution.pacing import note_pacing_wait

#: Calls per minute by Tiger method name (docs: quant.itigerup.com requestLimit).
TIGER_LIMITS_PER_MINUTE: dict[str, int] = {
    "place_order": 120, "modify_order": 120, "cancel_order": 120, "order_no": 120,
    "orders": 120, "active_orders": 120, "inactive_orders": 120, "filled_orders": 120,
    "quote_real_time": 120, "timeline": 120,
    "positions": 60, "assets": 60, "prime_assets": 60, "order_transactions": 60, "kline": 60,
    "contracts": 60, "accounts": 60,
    "grab_quote_permission": 10,
}
#: Methods that share the paper account's combined place/modify/cancel budget.
ORDER_METHODS = frozenset({"place_order", "modify_order", "cancel_order"})


class WallClockBucket:
    """A :class:`research.execution.TokenBucket` on the wall clock for one Tiger interface:
    thread-safe, and a caller can wait for a token (:meth:`acquire`) instead of being refused.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._bucket = TokenBucket(rate_per_second, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @classmethod
    def for_limit(cls, per_minute: int, burst: int | None = None, **kw) -> WallClockBucket:
        """A bucket that never exceeds ``per_minute`` calls in any sliding 60 s window."""
        limit = TokenBucket.for_limit(per_minute, burst)
        return cls(limit.rate, limit.burst, **kw)

    @property
    def rate(self) -> float:
        return self._bucket.rate

    @property
    def burst(self) -> float:
        return self._bucket.burst

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        with self._lock:
            return self._bucket.seconds_until_token(self._clock())

    def try_acquire(self) -> float:
        """Take a token if possible; return 0.0 on success, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            if self._bucket.try_take(now):
                return 0.0
            return self._bucket.seconds_until_token(now)

    def acquire(self, max_wait_s: float, what: str = "call") -> None:
        """Take a token, sleeping up to ``max_wait_s``; raise :class:`RateLimited` otherwise.

        Nothing is sent when this raises, so the caller may retry later safely.
        """
        deadline = self._clock() + max_wait_s
        while True:
            wait = self.try_acquire()
            if wait == 0.0:
                return
            if self._clock() + wait > deadline:
                raise RateLimited(
                    f"{what}: client-side rate limit, next slot in {wait:.2f} s "
                    f"(limit {self.burst:g} burst, {self.rate * 60:g}/min refill)",
                    code=0,
                )
            self._sleep(wait)
            note_pacing_wait(wait)  # our queue, not Tiger's latency (see the module)

    def penalize(self, seconds: float) -> None:
        """Give no tokens for ``seconds`` and empty the bucket (after a server-side throttle)."""
        with self._lock:
            self._bucket.block(self._clock(), seconds)


class RateLimiter:
    """One bucket per Tiger method (place/modify/cancel share one), created on first use."""

    def __init__(
        self,
        order_per_minute: int = 120,
        *,
        limits: dict[str, int] | None = None,
        order_bucket: WallClockBucket | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limits = dict(TIGER_LIMITS_PER_MINUTE if limits is None else limits)
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, WallClockBucket] = {}
        self._order_bucket = order_bucket or WallClockBucket.for_limit(
            order_per_minute, clock=clock, sleep=sleep
        )
        self._lock = threading.Lock()

    def bucket(self, method: str) -> WallClockBucket:
        if method in ORDER_METHODS:
            return self._order_bucket
        with self._lock:
            b = self._buckets.get(method)
            if b is None:
                b = WallClockBucket.for_limit(
                    self.limits.get(method, 60), clock=self._clock, sleep=self._sleep
                )
                self._buckets[method] = b
            return b

    def set_bucket(self, method: str, bucket: WallClockBucket) -> None:
        """Replace the bucket of ``method`` (tests; accounts with other published limits)."""
        if method in ORDER_METHODS:
            self._order_bucket = bucket
        else:
            with self._lock:
                self._buckets[method] = bucket
