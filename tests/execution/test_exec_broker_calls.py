"""research.execution.broker_calls: every broker attempt is timed for the system breaker with
the right verdict, idempotent calls are retried within the configured limit, and a submit is
never retried."""

from __future__ import annotations

import pytest

from research.config import ExecutionSettings
from research.execution.broker_calls import BrokerCalls
from research.execution.errors import BrokerUnavailable, RateLimited, Rejected, SubmitTimeout


class FlakyBroker:
    """A broker method that fails with ``errors`` (in order), then answers ``"ok"``."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ("ok", *args)


def _calls(max_attempts: int = 3):
    recorded: list[bool] = []
    sleeps: list[float] = []
    calls = BrokerCalls(ExecutionSettings(retry_max_attempts=max_attempts),
                        lambda ok, latency_ms: recorded.append((ok, latency_ms >= 0)),
                        sleep=sleeps.append)
    return calls, recorded, sleeps


def test_an_idempotent_call_is_retried_and_every_attempt_is_recorded():
    calls, recorded, sleeps = _calls()
    broker = FlakyBroker(RateLimited("slow down", code=4), BrokerUnavailable("down"))
    assert calls.call(broker, "A") == ("ok", "A")
    assert broker.calls == 3
    assert recorded == [(False, True), (False, True), (True, True)]
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)  # backoff before each retry


def test_retries_stop_at_the_attempt_limit_and_the_last_error_is_raised():
    calls, recorded, _ = _calls(max_attempts=3)
    broker = FlakyBroker(*[BrokerUnavailable(f"down {i}") for i in range(5)])
    with pytest.raises(BrokerUnavailable, match="down 2"):
        calls.call(broker)
    assert broker.calls == 3  # the first attempt counts as attempt 1
    assert recorded == [(False, True)] * 3


def test_a_rejection_is_not_retried_and_a_plain_call_does_not_count_it():
    calls, recorded, _ = _calls()
    broker = FlakyBroker(Rejected("no such order", code="unknown_order"))
    with pytest.raises(Rejected):
        calls.call(broker)
    assert broker.calls == 1 and recorded == []  # as before the split: only transient errors


@pytest.mark.parametrize(("error", "ok"), [
    (SubmitTimeout("c1", "read timeout"), False),
    (RateLimited("slow down", code=4), False),
    (BrokerUnavailable("down"), False),
    (Rejected("bad tick", code="tick_size"), True),  # the broker answered
])
def test_a_single_attempt_records_its_verdict_and_is_never_retried(error, ok):
    calls, recorded, sleeps = _calls()
    broker = FlakyBroker(error)
    with pytest.raises(type(error)):
        calls.attempt(broker, "order", failures=(SubmitTimeout, RateLimited, BrokerUnavailable),
                      answers=(Rejected,))
    assert broker.calls == 1 and sleeps == []
    assert recorded == [(ok, True)]


def test_an_error_that_is_not_the_brokers_health_is_not_recorded():
    calls, recorded, _ = _calls()
    with pytest.raises(ZeroDivisionError):
        calls.attempt(lambda: 1 / 0)
    assert recorded == []


def test_the_adapters_own_pacing_waits_are_not_broker_latency():
    # an adapter that waited 0.3 s for its own rate-limit tokens and then got its answer at
    # once: the breaker must see a fast broker (fills paced over a dozen queries used to
    # read as "broker latency 7700 ms" and move the engine to REDUCING)
    import time

    from research.execution.pacing import note_pacing_wait

    latencies: list[float] = []
    calls = BrokerCalls(ExecutionSettings(), lambda ok, ms: latencies.append(ms))

    def paced(*args):
        time.sleep(0.3)
        note_pacing_wait(0.3)
        return "ok"

    assert calls.call(paced) == "ok"
    assert calls.attempt(paced) == "ok"
    assert len(latencies) == 2 and all(ms < 100 for ms in latencies), latencies
