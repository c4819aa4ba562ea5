"""Values the execution engine exchanges with brokers, algorithms and reports.

Plain frozen dataclasses and enums, no I/O. Quantities are shares (int), prices dollars per
share, fees dollars, bar indices count bars of the replay / live bar clock.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from research.domain import Algorithm, Fill, OrderStatus, OrderType, Side


class ReportKind(StrEnum):
    """What an execution report tells. ``STATUS`` is a bare snapshot (Tiger's push/query)."""

    ACCEPTED = "accepted"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STATUS = "status"


class TradingState(StrEnum):
    """Engine-wide trading state (Nautilus' ACTIVE / REDUCING / HALTED)."""

    ACTIVE = "active"
    REDUCING = "reducing"  # only orders that shrink an existing position
    HALTED = "halted"  # nothing new


class RejectReason(StrEnum):
    """Reason codes of a child order refused before it reaches the broker (or by it)."""

    TICK_SIZE = "tick_size"
    LOT_SIZE = "lot_size"
    OUTSIDE_REGULAR_HOURS = "outside_regular_hours"
    PRICE_COLLAR = "price_collar"
    MAX_NOTIONAL = "max_notional"
    RATE_LIMIT = "rate_limit"
    RISK_REJECTED = "risk_rejected"
    DUPLICATE_ORDER = "duplicate_order"
    TRADING_HALTED = "trading_halted"
    TRADING_REDUCING = "trading_reducing"
    SYMBOL_PAUSED = "symbol_paused"
    NO_MARKET_DATA = "no_market_data"
    BROKER_REJECTED = "broker_rejected"
    BROKER_RATE_LIMITED = "broker_rate_limited"
    BROKER_UNAVAILABLE = "broker_unavailable"
    SUBMIT_UNCONFIRMED = "submit_unconfirmed"
    NEVER_REACHED_BROKER = "never_reached_broker"


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One message from the broker about one order.

    ``cum_filled`` is the broker's cumulative filled quantity at the time of the report: Tiger
    reports partial fills as status ``Submitted`` with a filled quantity, so a STATUS report
    whose ``cum_filled`` exceeds what the engine has seen makes the engine fetch the fills.
    ``report_id`` is unique per report; a duplicate delivery repeats it.
    """

    report_id: str
    client_order_id: str
    kind: ReportKind
    status: OrderStatus
    cum_filled: int = 0
    broker_order_id: str | None = None
    fill: Fill | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        d = {
            "report_id": self.report_id,
            "client_order_id": self.client_order_id,
            "kind": self.kind._value_,  # _value_: Enum.value without its slow descriptor
            "status": self.status._value_,
            "cum_filled": self.cum_filled,
            "broker_order_id": self.broker_order_id,
            "reason": self.reason,
            "fill": fill_to_json(self.fill) if self.fill is not None else None,
        }
        return d

    def to_json_text(self) -> str:
        """``to_json()`` already encoded as the journal stores it (compact JSON).

        Why: a backtest journals about a million reports; building the nested dicts and running
        the generic encoder over them was the largest single cost of the study. This writes the
        same JSON text directly (strings through json's own C escaper, floats by ``repr`` as
        json does), so ``json.loads`` of it equals ``to_json()``. Values of unexpected types
        (e.g. numpy scalars from another broker) take the generic encoder instead.
        """
        f = self.fill
        if (self.cum_filled.__class__ is not int
                or (f is not None and not (f.quantity.__class__ is int
                                           and f.price.__class__ is float
                                           and f.fees.__class__ is float
                                           and f.price - f.price == 0.0
                                           and f.fees - f.fees == 0.0))):
            return _ENCODE(self.to_json())  # NaN / inf / non-builtin numbers: the general path
        try:
            cid = _str(self.client_order_id)
            bid = "null" if self.broker_order_id is None else _str(self.broker_order_id)
            if f is None:
                fill = "null"
            else:
                # a fill report repeats the report's ids: reuse their escaped form
                fcid = cid if f.client_order_id == self.client_order_id else _str(f.client_order_id)
                fbid = (bid if f.broker_order_id == self.broker_order_id
                        else "null" if f.broker_order_id is None else _str(f.broker_order_id))
                fill = (f'{{"fill_id":{_str(f.fill_id)},"client_order_id":{fcid},'
                        f'"symbol":{_str(f.symbol)},"side":"{f.side._value_}",'
                        f'"quantity":{f.quantity},"price":{f.price!r},'
                        f'"timestamp":"{_isoformat(f.timestamp)}","fees":{f.fees!r},'
                        f'"broker_order_id":{fbid}}}')
            return (f'{{"report_id":{_str(self.report_id)},"client_order_id":{cid},'
                    f'"kind":"{self.kind._value_}","status":"{self.status._value_}",'
                    f'"cum_filled":{self.cum_filled},"broker_order_id":{bid},'
                    f'"reason":{_str(self.reason)},"fill":{fill}}}')
        except (TypeError, AttributeError):  # e.g. a non-str id from another adapter
            return _ENCODE(self.to_json())

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExecutionReport:
        return cls(
            report_id=d["report_id"],
            client_order_id=d["client_order_id"],
            kind=ReportKind(d["kind"]),
            status=OrderStatus(d["status"]),
            cum_filled=int(d["cum_filled"]),
            broker_order_id=d["broker_order_id"],
            fill=fill_from_json(d["fill"]) if d["fill"] is not None else None,
            reason=d["reason"],
        )


# the journal's encoder settings (compact separators, ASCII escapes): to_json_text must match
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_str = json.encoder.encode_basestring_ascii  # quoted, escaped JSON string (C implementation)


# The fills of one bar share one timestamp: remember the last isoformat (a hot call per fill).
_last_iso: list = [None, ""]


def _isoformat(ts: datetime) -> str:
    if ts is not _last_iso[0]:
        _last_iso[0], _last_iso[1] = ts, ts.isoformat()
    return _last_iso[1]


def fill_to_json(f: Fill) -> dict[str, Any]:
    return {
        "fill_id": f.fill_id,
        "client_order_id": f.client_order_id,
        "symbol": f.symbol,
        "side": f.side._value_,
        "quantity": f.quantity,
        "price": f.price,
        "timestamp": _isoformat(f.timestamp),
        "fees": f.fees,
        "broker_order_id": f.broker_order_id,
    }


def fill_from_json(d: dict[str, Any]) -> Fill:
    return Fill(
        fill_id=d["fill_id"],
        client_order_id=d["client_order_id"],
        symbol=d["symbol"],
        side=Side(d["side"]),
        quantity=int(d["quantity"]),
        price=float(d["price"]),
        timestamp=datetime.fromisoformat(d["timestamp"]),
        fees=float(d["fees"]),
        broker_order_id=d["broker_order_id"],
    )


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker currently sees it (answer to ``get_order`` / ``open_orders``)."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: float | None
    status: OrderStatus
    filled_quantity: int
    average_price: float = 0.0

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal


@dataclass(frozen=True, slots=True)
class Account:
    """Cash and equity in dollars."""

    cash: float
    equity: float
    buying_power: float


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """One bar of every symbol the engine trades, aligned on ``symbols``.

    Arrays have shape (n_symbols,); NaN close or zero volume means no trading in the bar.
    ``bid``/``ask`` are NaN when there are no quotes. ``timestamp`` is the bar's close.
    """

    bar_index: int
    timestamp: datetime
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    def mid(self) -> np.ndarray:
        """Quote mid where both quotes exist, else the close (dollars)."""
        quoted = np.isfinite(self.bid) & np.isfinite(self.ask)
        return np.where(quoted, 0.5 * (self.bid + self.ask), self.close)


@dataclass(frozen=True, slots=True)
class ParentOrder:
    """An instruction to buy or sell ``quantity`` shares with an execution algorithm.

    ``horizon_bars`` is the algorithm's working window on the bar clock; the parent is closed
    (open children cancelled, the rest counted as opportunity cost) ``deadline_grace_bars``
    after it. ``params`` are the algorithm's parameters (JSON-serialisable: they are journaled).
    ``reduce_only`` marks a parent that only shrinks a position (allowed while REDUCING).
    """

    parent_id: str
    symbol: str
    side: Side
    quantity: int
    algorithm: Algorithm = Algorithm.TWAP
    horizon_bars: int = 30
    deadline_grace_bars: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if not self.parent_id:
            raise ValueError("parent order: parent_id must be a non-empty string")
        if int(self.quantity) != self.quantity or self.quantity <= 0:
            raise ValueError(
                f"parent {self.parent_id}: quantity must be a positive whole number of shares, "
                f"got {self.quantity!r}"
            )
        if self.horizon_bars < 1:
            raise ValueError(f"parent {self.parent_id}: horizon_bars must be >= 1")
        if self.deadline_grace_bars < 0:
            raise ValueError(f"parent {self.parent_id}: deadline_grace_bars must be >= 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "parent_id": self.parent_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": int(self.quantity),
            "algorithm": self.algorithm.value,
            "horizon_bars": self.horizon_bars,
            "deadline_grace_bars": self.deadline_grace_bars,
            "params": self.params,
            "reduce_only": self.reduce_only,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ParentOrder:
        return cls(
            parent_id=d["parent_id"],
            symbol=d["symbol"],
            side=Side(d["side"]),
            quantity=int(d["quantity"]),
            # "strategy": the key of journals written before the field was renamed
            algorithm=Algorithm(d["algorithm"] if "algorithm" in d else d["strategy"]),
            horizon_bars=int(d["horizon_bars"]),
            deadline_grace_bars=int(d["deadline_grace_bars"]),
            params=dict(d["params"]),
            reduce_only=bool(d["reduce_only"]),
        )


@dataclass(frozen=True, slots=True)
class ChildRequest:
    """What an algorithm wants sent now: a market order or a limit order at ``limit_price``."""

    quantity: int
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None


@dataclass(frozen=True, slots=True)
class AlgoDecision:
    """An algorithm's answer for one bar: an optional child, whether to cancel working children,
    and how many bars to sleep before it wants to be asked again (None = only on events)."""

    child: ChildRequest | None = None
    cancel_working: bool = False
    wake_in_bars: int | None = 1


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """Answer of a pre-trade risk check. ``quantity`` may be smaller than asked (trimmed)."""

    approved: bool
    quantity: int
    reason_code: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Outcome of the engine's pre-trade validation of one child order."""

    accepted: bool
    quantity: int
    reason_code: RejectReason | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """A change of trading state or of a symbol's pause, with its reason. ``manual``: a halt
    that only a reset lifts (no cool-down recovery)."""

    timestamp: datetime
    scope: str  # "system" or "symbol"
    symbol: str | None
    old_state: str
    new_state: str
    reason: str
    manual: bool = False


def finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None
