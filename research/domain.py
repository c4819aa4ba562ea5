"""Plain typed values shared by every layer: sides, order types, statuses, orders and fills.

No I/O and no third-party imports beyond the standard library, so that the CLI, the
simulated broker and the Tiger adapter can all import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells: cost formulas multiply price moves by it."""
        return 1 if self is Side.BUY else -1

    @classmethod
    def parse(cls, value: str | Side) -> Side:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"side must be 'buy' or 'sell', got {value!r}") from None


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(StrEnum):
    INITIALIZED = "initialized"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class Algorithm(StrEnum):
    """Execution strategies (algorithms) a parent order can be worked with."""

    MARKET = "market"
    LIMIT = "limit"
    TWAP = "twap"
    VWAP = "vwap"
    POV = "pov"
    IS = "is"


@dataclass(frozen=True, slots=True)
class Order:
    """A child order as the engine hands it to a broker."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    parent_id: str | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(
                f"order {self.client_order_id}: quantity must be positive, got {self.quantity}"
            )
        if self.order_type is OrderType.LIMIT and (
            self.limit_price is None or not self.limit_price > 0
        ):
            raise ValueError(
                f"order {self.client_order_id}: a limit order needs a positive limit_price"
            )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``fill_id`` is unique per broker and lets the engine drop duplicates."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    price: float
    timestamp: datetime
    fees: float = 0.0
    broker_order_id: str | None = None


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: int = 0
    average_price: float = 0.0
    extra: dict = field(default_factory=dict)
