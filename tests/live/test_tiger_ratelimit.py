"""Token buckets on a fake clock: Tiger's sliding-window limits are never exceeded."""

from __future__ import annotations

import numpy as np
import pytest

from live.tiger import RateLimiter, WallClockBucket
from research.execution.errors import RateLimited


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@pytest.mark.parametrize(("per_minute", "burst"), [(120, None), (120, 30), (60, 5), (10, 1)])
def test_greedy_caller_never_exceeds_the_sliding_window(per_minute, burst):
    clock = FakeClock()
    bucket = WallClockBucket.for_limit(per_minute, burst, clock=clock, sleep=clock.sleep)
    stamps = []
    while clock.t < 1000.0 + 300.0:  # five minutes of calling as fast as allowed
        bucket.acquire(max_wait_s=120.0)
        stamps.append(clock.t)
    s = np.asarray(stamps)
    # calls in the window (t - 60, t] ending at every call
    in_window = np.arange(len(s)) - np.searchsorted(s, s - 60.0, side="right") + 1
    assert in_window.max() <= per_minute
    # and not needlessly slow: the burst, then (limit - burst) per minute for 5 minutes
    b = burst if burst is not None else per_minute // 12
    assert len(s) >= b + 5 * (per_minute - b)


def test_acquire_refuses_when_the_wait_is_too_long():
    clock = FakeClock()
    bucket = WallClockBucket(1.0, 2, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.acquire(0)
    with pytest.raises(RateLimited, match="client-side rate limit"):
        bucket.acquire(0.5)
    assert clock.t == 1000.0  # refused without sleeping
    bucket.acquire(1.0)
    assert clock.t == pytest.approx(1001.0)


def test_penalize_blocks_then_recovers():
    clock = FakeClock()
    bucket = WallClockBucket(5.0, 5, clock=clock, sleep=clock.sleep)
    bucket.penalize(3.0)
    assert bucket.wait_time() == pytest.approx(3.0)
    with pytest.raises(RateLimited):
        bucket.acquire(2.9)
    bucket.acquire(3.5)
    assert clock.t == pytest.approx(1003.0)


def test_place_modify_cancel_share_one_budget():
    clock = FakeClock()
    limiter = RateLimiter(120, clock=clock, sleep=clock.sleep)
    assert limiter.bucket("place_order") is limiter.bucket("cancel_order")
    assert limiter.bucket("place_order") is limiter.bucket("modify_order")
    assert limiter.bucket("positions") is not limiter.bucket("orders")
    # positions are a 60/min method: 5 burst + 55/min refill
    assert limiter.bucket("positions").rate * 60 + limiter.bucket("positions").burst == 60


def test_bad_bucket_parameters():
    with pytest.raises(ValueError, match="burst must be >= 1"):
        WallClockBucket(1.0, 0)
    with pytest.raises(ValueError, match="rate must be > 0"):
        WallClockBucket(0.0, 1)
