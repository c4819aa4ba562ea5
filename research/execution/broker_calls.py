"""Every broker call the engine makes goes through :class:`BrokerCalls`: each attempt is timed
and reported to the system breaker (latency and error rate), and idempotent calls are retried
with exponential backoff and jitter.

Why one place: the breaker's error-rate and latency limits are only as good as the bookkeeping
that feeds them; written once per call site, one forgotten path would make a failing broker
look healthy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from research.config import ExecutionSettings
from research.execution.errors import BrokerUnavailable, RateLimited
from research.execution.pacing import PACING

#: failures a repeated attempt may cure; the only ones :meth:`BrokerCalls.call` retries
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (RateLimited, BrokerUnavailable)

# (ok, latency in milliseconds) of one attempt
CallRecorder = Callable[[bool, float], None]


class BrokerCalls:
    """Times broker calls for ``record(ok, latency_ms)`` and retries the idempotent ones as
    ``settings`` (``retry_*``) say; ``sleep`` is the backoff sleep (tests pass a no-op)."""

    def __init__(self, settings: ExecutionSettings, record: CallRecorder,
                 sleep: Callable[[float], None] = time.sleep):
        self._record = record
        self._retrying = Retrying(
            stop=stop_after_attempt(settings.retry_max_attempts),
            wait=wait_exponential_jitter(
                multiplier=settings.retry_initial_backoff_s, max=settings.retry_max_backoff_s,
                jitter=settings.retry_jitter_s,
            ),
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            sleep=sleep,
            reraise=True,
        )

    def attempt(self, fn: Callable, *args, failures: tuple[type[Exception], ...] = TRANSIENT_ERRORS,
                answers: tuple[type[Exception], ...] = ()):
        """One timed attempt of ``fn(*args)``, never retried (for calls that are not idempotent,
        like a submit). Success and the exceptions in ``answers`` (the broker answered, e.g. a
        rejection) are recorded as ok, the exceptions in ``failures`` as failed; both re-raise.
        Any other exception is not the broker's health and is not recorded. The time the
        adapter held the call back for its own rate limits is not the broker's latency and is
        left out (:mod:`research.execution.pacing`)."""
        w0 = PACING.waited_s
        t0 = time.perf_counter()
        ok = None
        try:
            out = fn(*args)
            ok = True
            return out
        except failures:
            ok = False
            raise
        except answers:
            ok = True
            raise
        finally:
            if ok is not None:
                self._record(ok, (time.perf_counter() - t0 - (PACING.waited_s - w0)) * 1e3)

    def call(self, fn: Callable, *args):
        """An idempotent broker call, retried on :data:`TRANSIENT_ERRORS`.

        The first attempt is made and timed here rather than through :meth:`attempt`: it runs
        on every bar (the report poll), and the extra call frame doubled this wrapper's cost.
        Tenacity's retry loop is only entered once an attempt has failed (entering it costs
        more than a simulated broker call). Pacing waits are left out, as in :meth:`attempt`.
        """
        w0 = PACING.waited_s
        t0 = time.perf_counter()
        failure = None
        try:
            out = fn(*args)
        except TRANSIENT_ERRORS as exc:
            failure = exc
        self._record(failure is None, (time.perf_counter() - t0 - (PACING.waited_s - w0)) * 1e3)
        if failure is None:
            return out
        return self._continue_retrying(failure, fn, args)

    def _continue_retrying(self, first_error: Exception, fn: Callable, args: tuple):
        """Continue a call whose first attempt failed with ``first_error``: tenacity counts that
        failure as attempt 1, so backoff and the attempt limit are as if it had made it."""
        pending: Exception | None = first_error
        for retry_attempt in self._retrying:
            with retry_attempt:
                if pending is not None:
                    err, pending = pending, None
                    raise err
                return self.attempt(fn, *args)
        raise AssertionError("unreachable")  # pragma: no cover
