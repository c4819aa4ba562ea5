"""One connection to Tiger: the SDK clients, the rate limiter and the error translation.

A :class:`TigerSession` is shared by the broker adapter and the bar source so that both draw
from the same per-method rate budgets and the same (single) ``QuoteClient``: its constructor
grabs the device's quote permission, a call Tiger limits to 10 a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from live.tiger.config import (
    TIGER_PRODUCTION_PUBLIC_KEY,
    SecretRedactor,
    build_client_config,
    sdk_logger,
)
from live.tiger.errors import AmbiguousOutcome, translate
from live.tiger.ratelimit import RateLimiter
from research.config import TigerSettings
from research.execution.errors import BrokerUnavailable, RateLimited


class TigerSession:
    """Tiger clients built once from qlab settings, behind a rate limiter.

    Parameters
    ----------
    settings:
        ``Settings.tiger``. The private key comes from ``private_key`` or ``private_key_path``.
    tiger_public_key:
        Key that verifies Tiger's response signatures (default: Tiger's production key; a
        loopback gateway passes its own; ``None`` disables the check).
    limiter:
        Per-method token buckets; default: Tiger's published limits with
        ``settings.place_per_minute`` for place + modify + cancel together.
    max_wait_s:
        Longest a call waits for a rate-limit token before failing with ``RateLimited``
        (nothing sent), seconds.
    rate_limit_cooldown_s:
        After Tiger itself throttles a method (code 4/5, HTTP 429), no call of that method is
        sent for this many seconds.
    grab_quote_permission:
        Whether building the quote client claims this device's quote permission (live: yes).
    """

    def __init__(
        self,
        settings: TigerSettings,
        *,
        tiger_public_key: str | None = TIGER_PRODUCTION_PUBLIC_KEY,
        limiter: RateLimiter | None = None,
        max_wait_s: float = 1.0,
        rate_limit_cooldown_s: float = 10.0,
        grab_quote_permission: bool = True,
        clock: Callable[[], float] = time.time,
    ):
        self.tiger_id = settings.tiger_id
        self.server_url = settings.server_url
        self.quote_server_url = settings.quote_server_url
        self.max_wait_s = float(max_wait_s)
        self.rate_limit_cooldown_s = float(rate_limit_cooldown_s)
        self.grab_quote_permission = grab_quote_permission
        self.clock = clock
        self.limiter = limiter or RateLimiter(settings.place_per_minute)
        self.config = build_client_config(settings, tiger_public_key=tiger_public_key)
        self.account = self.config.account
        self.redact = SecretRedactor([self.config.private_key, self.account])
        self.logger = sdk_logger(f"qlab.live.tiger.sdk.{settings.tiger_id}", self.redact)

        from tigeropen.trade.trade_client import TradeClient

        self.trade = TradeClient(self.config, logger=self.logger)
        self._quote: Any = None
        self._quote_lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"TigerSession(tiger_id={self.tiger_id!r}, server_url={self.server_url!r}, "
                "account=<redacted>)")

    @property
    def quote(self) -> Any:
        """The ``QuoteClient``, built on first use and only once."""
        with self._quote_lock:
            if self._quote is None:
                from tigeropen.quote.quote_client import QuoteClient

                grab = self.grab_quote_permission
                if grab:
                    self.limiter.bucket("grab_quote_permission").acquire(
                        self.max_wait_s, "grab_quote_permission"
                    )
                try:
                    self._quote = QuoteClient(self.config, logger=self.logger,
                                              is_grab_permission=grab)
                except Exception as exc:
                    raise self._engine_error(exc, "grab_quote_permission") from None
            return self._quote

    def _engine_error(self, exc: BaseException, method: str) -> BaseException:
        err = translate(exc, method, self.redact)
        if err is None:
            return exc
        if isinstance(err, RateLimited):
            self.limiter.bucket(method).penalize(self.rate_limit_cooldown_s)
        if isinstance(err, AmbiguousOutcome):
            return BrokerUnavailable(str(err))
        return err

    def call(self, method: str, fn: Callable[..., Any], *args: Any,
             max_wait_s: float | None = None, **kwargs: Any) -> Any:
        """Run an idempotent SDK call under ``method``'s rate budget; raise engine errors.

        Ambiguous outcomes (timeouts, 5xx) become ``BrokerUnavailable``: safe to retry because
        the call is a query or an idempotent cancel. ``max_wait_s`` overrides the session's
        longest wait for a rate-limit token.
        """
        wait = self.max_wait_s if max_wait_s is None else max_wait_s
        self.limiter.bucket(method).acquire(wait, method)
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            err = self._engine_error(exc, method)
            if err is exc:
                raise
            raise err from None

    def call_unsafe(self, method: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`call` for a non-idempotent call: ambiguous outcomes raise
        :class:`AmbiguousOutcome` so the caller can reconcile before anything else is sent."""
        self.limiter.bucket(method).acquire(self.max_wait_s, method)
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            err = translate(exc, method, self.redact)
            if err is None:
                raise
            if isinstance(err, RateLimited):
                self.limiter.bucket(method).penalize(self.rate_limit_cooldown_s)
            raise err from None
