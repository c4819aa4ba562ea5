"""Client-side rate limiting matching Tiger's published limits.

Tiger counts calls per account in a sliding 60-second window, per interface: 120/min for
order placement and order queries, 60/min for positions, assets, transactions and k-lines,
10/min for the quote-permission grab; a paper account is capped at 120 place + modify + cancel
per minute in total. Going over returns code 4 and, if repeated, gets the account blacklisted,
so the adapter never relies on the server to say no.

A token bucket of capacity ``burst`` refilled at ``(limit - burst) / 60`` tokens per second
can never spend more than ``burst + (limit - burst) = limit`` tokens in any 60 s window, so it
respects the sliding-window limit exactly, not just on average.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from research.execution.errors import RateLimited

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
_EPS = 1e-9


class TokenBucket:
    """Thread-safe token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        capacity: float,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if capacity < 1:
            raise ValueError(f"token bucket: capacity must be >= 1, got {capacity}")
        if rate <= 0:
            raise ValueError(f"token bucket: rate must be > 0 tokens/s, got {rate}")
        self.capacity = float(capacity)
        self.rate = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._last = clock()
        self._blocked_until = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def for_limit(cls, per_minute: int, burst: int | None = None, **kw) -> TokenBucket:
        """A bucket that never exceeds ``per_minute`` calls in any sliding 60 s window."""
        if per_minute < 2:
            raise ValueError(f"token bucket: per_minute must be >= 2, got {per_minute}")
        burst = max(1, min(burst if burst is not None else per_minute // 12, per_minute - 1))
        return cls(burst, (per_minute - burst) / 60.0, **kw)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            blocked = max(0.0, self._blocked_until - now)
            lacking = max(0.0, 1.0 - self._tokens) / self.rate
            return max(blocked, lacking)

    def try_acquire(self) -> float:
        """Take a token if possible; return 0.0 on success, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now < self._blocked_until:
                return self._blocked_until - now
            if self._tokens >= 1.0 - _EPS:  # float refills land a hair short of a whole token
                self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return (1.0 - self._tokens) / self.rate

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
                    f"(limit {self.capacity:g} burst, {self.rate * 60:g}/min refill)",
                    code=0,
                )
            self._sleep(wait)

    def penalize(self, seconds: float) -> None:
        """Give no tokens for ``seconds`` and empty the bucket (after a server-side throttle)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens = 0.0
            self._blocked_until = max(self._blocked_until, now + seconds)


class RateLimiter:
    """One bucket per Tiger method (place/modify/cancel share one), created on first use."""

    def __init__(
        self,
        order_per_minute: int = 120,
        *,
        limits: dict[str, int] | None = None,
        order_bucket: TokenBucket | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limits = dict(TIGER_LIMITS_PER_MINUTE if limits is None else limits)
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._order_bucket = order_bucket or TokenBucket.for_limit(
            order_per_minute, clock=clock, sleep=sleep
        )
        self._lock = threading.Lock()

    def bucket(self, method: str) -> TokenBucket:
        if method in ORDER_METHODS:
            return self._order_bucket
        with self._lock:
            b = self._buckets.get(method)
            if b is None:
                b = TokenBucket.for_limit(
                    self.limits.get(method, 60), clock=self._clock, sleep=self._sleep
                )
                self._buckets[method] = b
            return b

    def set_bucket(self, method: str, bucket: TokenBucket) -> None:
        """Replace the bucket of ``method`` (tests; accounts with other published limits)."""
        if method in ORDER_METHODS:
            self._order_bucket = bucket
        else:
            with self._lock:
                self._buckets[method] = bucket
