"""Tiger Brokers adapter: the engine's Broker protocol and a bar source over tigeropen.

tigeropen itself is imported lazily, inside the functions that talk to Tiger.
"""

from live.tiger.bars import TigerBarSource
from live.tiger.broker import TigerBroker
from live.tiger.config import (
    TIGER_PRODUCTION_PUBLIC_KEY,
    SecretRedactor,
    TigerConfigError,
    build_client_config,
    private_key_body,
)
from live.tiger.errors import MethodUnavailable, QuotePermissionDenied, TigerAuthError
from live.tiger.ratelimit import TIGER_LIMITS_PER_MINUTE, RateLimiter, WallClockBucket
from live.tiger.session import TigerSession

__all__ = [
    "TIGER_LIMITS_PER_MINUTE", "TIGER_PRODUCTION_PUBLIC_KEY", "MethodUnavailable",
    "QuotePermissionDenied",
    "RateLimiter", "SecretRedactor", "TigerAuthError", "TigerBarSource", "TigerBroker",
    "TigerConfigError", "TigerSession", "WallClockBucket", "build_client_config",
    "private_key_body",
]
