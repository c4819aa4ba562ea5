"""Tiger's errors translated into the execution engine's typed broker errors.

tigeropen raises three exception types: ``ApiException`` (the body's ``code`` is not 0),
``ResponseException`` (HTTP status not 200, or a bad response signature) and
``RequestException`` (transport failure or request signing failure). The engine decides from
the *type* of the error what it may do next, so the mapping is the contract:

============================================  ============================================
Tiger                                          engine
============================================  ============================================
code 4 / 5 with "rate limit", HTTP 429         :class:`RateLimited` (nothing created)
code 1000 naming the signature or developer   :class:`TigerAuthError` (a :class:`Rejected`)
code 1000 otherwise (a method the account      :class:`MethodUnavailable` (a :class:`Rejected`):
does not offer, bad JSON, bad timestamp)       not a credentials problem
code 1010 (bad parameter, account not authorised), 1100 / 1200 / 1300 (global / standard /
paper account rejection), 2100 / 2200 / 2300 (stock / option / future rule)
                                               :class:`Rejected` with the code and the reason
code 4000 (no quote permission)                :class:`QuotePermissionDenied` (a Rejected)
transport failure before the request was sent  :class:`BrokerUnavailable`
read timeout, HTTP 5xx, code 1 / 2             :class:`BrokerUnavailable` for queries and
                                               cancels (idempotent); *ambiguous* for a place
============================================  ============================================

A place with an ambiguous outcome is never mapped here: the adapter first asks Tiger whether
the order exists (by ``user_mark``) and raises :class:`SubmitTimeout` only if it cannot tell.
"""

from __future__ import annotations

from collections.abc import Callable

from research.execution.errors import BrokerError, BrokerUnavailable, RateLimited, Rejected

#: Human-readable categories of Tiger's rejection codes (docs.itigerup.com error codes).
REJECTION_CATEGORIES: dict[int, str] = {
    1000: "common parameter / signature error",  # split by message in translate()
    1010: "business parameter error or account not authorised",
    1100: "global account rejected the order",
    1200: "standard account rejected the order",
    1300: "paper account rejected the order",
    2100: "stock order rule violated",
    2200: "option order rule violated",
    2300: "futures order rule violated",
    4000: "permission denied",
}
RATE_LIMIT_CODES = frozenset({4, 5})
#: Words in a code-1000 message that mean the credentials, not the call, were refused.
CREDENTIAL_WORDS = ("signature", "sign ", "developer", "private key", "tiger_id", "tiger id")
TRANSIENT_CODES = frozenset({1, 2})


class TigerAuthError(Rejected):
    """Tiger refused the developer's credentials or signature (code 1000): fix configuration."""


class MethodUnavailable(Rejected):
    """Tiger refused a call's method or common parameters (code 1000) for a reason that is not
    the credentials: e.g. ``order_transactions``, which only some account types offer.

    Why a class of its own: Tiger answers code 1000 both for a bad signature and for a method
    the account cannot use. Calling the second a signature error sends the user to check a key
    that is fine, and hides that the adapter can take the data from elsewhere.
    """


class QuotePermissionDenied(Rejected):
    """No market-data permission for this call (code 4000): buy/grab the quote subscription."""


class AmbiguousOutcome(Exception):
    """Internal: the request may or may not have been executed (read timeout, 5xx, code 1/2)."""

    def __init__(self, message: str):
        super().__init__(message)


def _request_never_sent(exc: BaseException) -> bool:
    """True when urllib3 failed to connect, so the server cannot have seen the request."""
    try:
        from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
    except ImportError:  # pragma: no cover - urllib3 is a tigeropen dependency
        return False
    ctx = exc.__context__ or exc.__cause__
    reason = getattr(ctx, "reason", None) if isinstance(ctx, MaxRetryError) else ctx
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError)


def translate(
    exc: BaseException, operation: str, redact: Callable[[str], str]
) -> BrokerError | AmbiguousOutcome | None:
    """The engine error for a tigeropen exception raised by ``operation``; None if not Tiger's.

    Returns :class:`AmbiguousOutcome` (never raised to the engine by itself) when the request
    may have been executed; the caller decides (queries: unavailable; place: reconcile).
    Every message is passed through ``redact``.
    """
    from tigeropen.common.exceptions import ApiException, RequestException, ResponseException

    if isinstance(exc, ApiException):
        code = int(exc.code) if str(exc.code).lstrip("-").isdigit() else -1
        msg = redact(str(exc.msg or ""))
        if code in RATE_LIMIT_CODES or "rate limit" in msg.lower():
            return RateLimited(f"{operation}: Tiger rate limit (code {code}): {msg}", code=code)
        if code == 1000:
            if any(w in msg.lower() for w in CREDENTIAL_WORDS):
                return TigerAuthError(f"{REJECTION_CATEGORIES[1000]}: {msg}", code=str(code))
            return MethodUnavailable(
                f"{operation}: Tiger refused the method or its parameters for this account "
                f"(code 1000, not a credentials error): {msg}", code=str(code))
        if code == 4000:
            return QuotePermissionDenied(f"{REJECTION_CATEGORIES[4000]}: {msg}", code=str(code))
        if code in TRANSIENT_CODES:
            return AmbiguousOutcome(f"{operation}: Tiger server error (code {code}): {msg}")
        category = REJECTION_CATEGORIES.get(code, "rejected")
        return Rejected(f"{category}: {msg}", code=str(code))
    if isinstance(exc, ResponseException):
        status = getattr(exc, "status", None)
        if status == 429:
            return RateLimited(f"{operation}: Tiger rate limit (HTTP 429)", code=5, http_status=429)
        if status is None:  # a bad response signature: the request itself was processed
            return AmbiguousOutcome(f"{operation}: Tiger response signature check failed")
        return AmbiguousOutcome(f"{operation}: Tiger answered HTTP {status}")
    if isinstance(exc, RequestException):
        text = str(exc)
        if "sign failed" in text:
            return TigerAuthError(
                f"{operation}: signing the request failed: the private key is unusable",
                code="sign",
            )
        if _request_never_sent(exc):
            return BrokerUnavailable(f"{operation}: cannot connect to Tiger")
        return AmbiguousOutcome(f"{operation}: no answer from Tiger (timeout or dropped connection)")
    return None
