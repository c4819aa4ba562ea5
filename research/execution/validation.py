"""Pre-trade validation of one child order: instrument rules, collar, notional, order rate,
the risk manager's check and the duplicate check. Every refusal carries a reason code.

The risk manager is reached through :class:`PreTradeRiskCheck`, a one-method protocol, so the
engine does not depend on research.risk; a thin adapter wraps the real RiskManager.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from research.domain import OrderType, Side
from research.execution.model import RejectReason, RiskDecision, ValidationResult
from research.execution.rules import is_on_tick, is_regular_hours


@runtime_checkable
class PreTradeRiskCheck(Protocol):
    def check(self, symbol: str, side: Side, quantity: int, price: float,
              working: int = 0, working_notional: Mapping[str, float] | None = None
              ) -> RiskDecision:
        """Approve, trim (smaller ``quantity``) or reject one order of ``quantity`` shares
        priced at ``price`` $, with ``working`` shares of the same symbol and side already on
        their way (checked as if filled) and ``working_notional`` (signed $ by symbol) of the
        other symbols' orders on their way; the decision's quantity is the order's own."""
        ...


#: A token refilled in floating point lands a hair short of a whole one (0.1 s x 10/s can be
#: 0.9999999999): counting that as a token keeps a limit from refusing its own rate.
_WHOLE_TOKEN = 1.0 - 1e-9


class TokenBucket:
    """Rate limiter: ``rate_per_second`` tokens per second up to ``burst``; one token per order
    (or per broker call). The one implementation for the pre-trade order-rate check and the
    Tiger adapter's client-side limits (``live.tiger`` puts it on the wall clock, behind a
    lock).

    Time comes from the caller (bar timestamps in simulation, the wall clock live), so the same
    limit means the same thing in both; a time earlier than the last one seen adds nothing.
    """

    def __init__(self, rate_per_second: float, burst: float):
        if not rate_per_second > 0:
            raise ValueError(f"token bucket: rate must be > 0 tokens/s, got {rate_per_second}")
        if not burst >= 1:
            raise ValueError(f"token bucket: burst must be >= 1, got {burst}")
        self.rate = float(rate_per_second)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last: float | None = None
        self._blocked_until = -math.inf

    @classmethod
    def for_limit(cls, per_minute: int, burst: int | None = None) -> TokenBucket:
        """A bucket that never exceeds ``per_minute`` takes in any sliding 60 s window: capacity
        ``burst`` refilled at ``(per_minute - burst) / 60`` per second can spend at most
        ``burst + (per_minute - burst)`` tokens in 60 s. ``burst`` defaults to a twelfth."""
        if per_minute < 2:
            raise ValueError(f"token bucket: per_minute must be >= 2, got {per_minute}")
        burst = max(1, min(burst if burst is not None else per_minute // 12, per_minute - 1))
        return cls((per_minute - burst) / 60.0, burst)

    def _refill(self, now_seconds: float) -> None:
        if self._last is not None and now_seconds > self._last:
            self._tokens = min(self.burst, self._tokens + (now_seconds - self._last) * self.rate)
        if self._last is None or now_seconds > self._last:
            self._last = now_seconds

    def try_take(self, now_seconds: float) -> bool:
        """Take a token at ``now_seconds`` if there is one (and no block is running)."""
        self._refill(now_seconds)
        if now_seconds < self._blocked_until or self._tokens < _WHOLE_TOKEN:
            return False
        self._tokens = max(0.0, self._tokens - 1.0)
        return True

    def seconds_until_token(self, now_seconds: float) -> float:
        """Seconds from ``now_seconds`` until a token can be taken (0 if one can now)."""
        self._refill(now_seconds)
        blocked = max(0.0, self._blocked_until - now_seconds)
        lacking = 0.0 if self._tokens >= _WHOLE_TOKEN else (1.0 - self._tokens) / self.rate
        return max(blocked, lacking)

    def block(self, now_seconds: float, seconds: float) -> None:
        """Empty the bucket and give no token for ``seconds`` (after a server-side throttle)."""
        self._refill(now_seconds)
        self._tokens = 0.0
        self._blocked_until = max(self._blocked_until, now_seconds + seconds)


class PreTradeValidator:
    """Checks a child order against the rules in order; the first failing rule names the reason.

    Parameters: ``price_collar_pct`` (fraction of the last price a limit may deviate),
    ``max_order_notional`` ($), ``max_orders_per_second`` and ``order_burst`` (token bucket),
    ``risk_check`` (optional :class:`PreTradeRiskCheck`).
    """

    def __init__(
        self,
        *,
        price_collar_pct: float,
        max_order_notional: float,
        max_orders_per_second: float,
        order_burst: int,
        risk_check: PreTradeRiskCheck | None = None,
    ):
        self.price_collar_pct = price_collar_pct
        self.max_order_notional = max_order_notional
        self.risk_check = risk_check
        self.bucket = TokenBucket(max_orders_per_second, order_burst)

    def validate(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: Side,
        quantity: float,
        order_type: OrderType,
        limit_price: float | None,
        last_price: float,
        timestamp: datetime,
        already_sent: bool,
        pending_quantity: int = 0,
        working_notional: Mapping[str, float] | None = None,
    ) -> ValidationResult:
        """Approve (possibly trimmed) or refuse one child. ``pending_quantity``: shares of the
        same symbol and side already working or queued; ``working_notional``: the other
        symbols' working or queued orders, signed $ by symbol. The risk check sees them as
        filled (the others where they add exposure), so the child gets at most what is left
        under the limits."""
        def no(code: RejectReason, why: str) -> ValidationResult:
            return ValidationResult(False, 0, code, f"{client_order_id} {symbol}: {why}")

        if not (math.isfinite(last_price) and last_price > 0):
            return no(RejectReason.NO_MARKET_DATA, f"no valid last price ({last_price})")
        if quantity != int(quantity) or quantity < 1:
            return no(RejectReason.LOT_SIZE, f"quantity {quantity} is not a whole number >= 1")
        qty = int(quantity)
        if order_type is OrderType.LIMIT:
            if limit_price is None or not limit_price > 0:
                return no(RejectReason.TICK_SIZE, "limit order without a positive limit price")
            if not is_on_tick(limit_price):
                return no(RejectReason.TICK_SIZE, f"limit price {limit_price} is off the tick grid")
            if abs(limit_price / last_price - 1.0) > self.price_collar_pct:
                return no(
                    RejectReason.PRICE_COLLAR,
                    f"limit {limit_price} is more than {self.price_collar_pct:.2%} from last "
                    f"{last_price}",
                )
        elif not is_regular_hours(timestamp):
            return no(
                RejectReason.OUTSIDE_REGULAR_HOURS,
                f"market order at {timestamp.isoformat()} is outside regular hours",
            )
        price = limit_price if order_type is OrderType.LIMIT else last_price
        notional = qty * price
        if notional > self.max_order_notional:
            return no(
                RejectReason.MAX_NOTIONAL,
                f"notional ${notional:,.0f} exceeds the maximum ${self.max_order_notional:,.0f}",
            )
        if self.risk_check is not None:
            pending = max(0, int(pending_quantity))
            decision = self.risk_check.check(symbol, side, qty, price, working=pending,
                                             working_notional=working_notional)
            allowed = int(decision.quantity)
            if not decision.approved or allowed < 1:
                return no(
                    RejectReason.RISK_REJECTED,
                    f"risk check: {decision.reason_code} {decision.reason}".strip()
                    + (f" ({pending} shares already working)" if pending else ""),
                )
            qty = min(qty, allowed)
        if already_sent:
            return no(RejectReason.DUPLICATE_ORDER, "client order id was already sent")
        if not self.bucket.try_take(timestamp.timestamp()):
            return no(RejectReason.RATE_LIMIT, "order-rate limit (token bucket) exhausted")
        return ValidationResult(True, qty)
