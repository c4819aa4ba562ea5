"""Pure translations between tigeropen's objects and the engine's values (no I/O).

Tiger's statuses, as the SDK parses them (``order_utils.get_order_status`` + ``Order.status``):

===========================================  =====================================
Tiger (server string / SDK enum)             engine :class:`OrderStatus`
===========================================  =====================================
Initial / NEW                                 SUBMITTED (Tiger has it, exchange not yet)
Submitted, PendingSubmit / HELD, filled 0     ACCEPTED
Submitted with filledQuantity > 0             PARTIALLY_FILLED
Filled, or any status with filled == total    FILLED
PendingCancel                                 PENDING_CANCEL
Cancelled (filled < total)                    CANCELLED (cumulative fill kept)
Inactive / REJECTED                           REJECTED (reason from ``remark``)
Invalid / EXPIRED                             EXPIRED
anything else (PENDING_NEW: the SDK maps      PARTIALLY_FILLED if filled > 0 and still open,
'PartiallyFilled', 'Expired', ... to it)       EXPIRED if Tiger says it is no longer open,
                                              else SUBMITTED
===========================================  =====================================
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from research.data.schema import EXCHANGE_TZ
from research.domain import Fill, OrderStatus, OrderType, Position, Side
from research.execution.model import Account, BrokerOrder, ReportKind

EXCHANGE_ZONE = ZoneInfo(EXCHANGE_TZ)

#: Client order id given to orders qlab did not place (no ``user_mark``), e.g. from the app.
FOREIGN_ORDER_PREFIX = "tiger:"

REPORT_KIND: dict[OrderStatus, ReportKind] = {
    OrderStatus.SUBMITTED: ReportKind.STATUS,
    OrderStatus.ACCEPTED: ReportKind.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED: ReportKind.STATUS,
    OrderStatus.FILLED: ReportKind.STATUS,
    OrderStatus.PENDING_CANCEL: ReportKind.PENDING_CANCEL,
    OrderStatus.CANCELLED: ReportKind.CANCELLED,
    OrderStatus.REJECTED: ReportKind.REJECTED,
    OrderStatus.EXPIRED: ReportKind.EXPIRED,
}


def ms_to_datetime(ms: Any) -> datetime:
    """Tiger's epoch milliseconds as a tz-aware exchange-time datetime."""
    return datetime.fromtimestamp(int(ms) / 1000.0, tz=UTC).astimezone(EXCHANGE_ZONE)


#: ``Position.extra`` key of a holding that is not a whole number of shares: the exact
#: quantity held (the position's ``quantity`` is its whole shares). See ``position_from_tiger``.
FRACTIONAL_QUANTITY = "fractional_quantity"


def exact_quantity(value: Any, scale: Any, what: str) -> Decimal:
    """Tiger's (value, scale) pair as an exact number of shares: ``value / 10**scale``.

    Tiger sends a fractional quantity as an integer and a scale (``"position": 773,
    "positionScale": 5`` is 0.00773 shares), and numbers sometimes as strings; Decimal keeps
    both exact, where a float could turn a whole quantity into 99.99999999999999."""
    if value is None or value == "":
        return Decimal(0)
    try:
        q = Decimal(str(value)).scaleb(-int(scale or 0))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{what}: quantity {value!r} (scale {scale!r}) is not a number"
                         ) from None
    if not q.is_finite():
        raise ValueError(f"{what}: quantity {value!r} is not a finite number")
    return q


def scaled_quantity(value: Any, scale: Any, what: str) -> int:
    """A whole number of shares from Tiger's (value, scale) pair; fractional shares raise."""
    q = exact_quantity(value, scale, what)
    if q != q.to_integral_value():
        raise ValueError(f"{what}: fractional quantity {q} shares is not supported by the engine")
    return int(q)


def price_or_none(value: Any, what: str) -> float | None:
    """A price from Tiger (a number or its text); None when absent or zero (Tiger's "no
    price", e.g. a market order's limit). Why not ``float(x) if x else None``: the text "0"
    is truthy, so it became a limit price of 0."""
    if value is None or value == "":
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: price {value!r} is not a number") from None
    return price if price else None


def side_from_action(action: Any, what: str) -> Side:
    text = str(getattr(action, "value", action) or "").upper()
    if text == "BUY":
        return Side.BUY
    if text == "SELL":
        return Side.SELL
    raise ValueError(f"{what}: unknown Tiger action {action!r} (expected BUY or SELL)")


def action_from_side(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


def order_type_from_tiger(order_type: Any, limit_price: float | None) -> OrderType:
    """MKT / LMT map one to one; other Tiger types (placed outside qlab) by their limit price."""
    text = str(getattr(order_type, "value", order_type) or "").upper()
    if text == "MKT":
        return OrderType.MARKET
    if text == "LMT":
        return OrderType.LIMIT
    return OrderType.LIMIT if limit_price else OrderType.MARKET


def _sdk_status(tiger_order: Any, quantity: int, filled: int) -> Any:
    """The SDK's status of the order, computed on the parsed quantities.

    Why: ``Order.status`` folds the server's status with the *raw* quantity fields, testing
    their truthiness: Tiger's numbers may come as text, so a filled quantity "0" counted as a
    partial fill, and "100.0" / "0.0" (``int("100.0")`` fails, so nothing remains) as a
    complete one. The stored server status is only reachable through that property, so it is
    read from a copy whose quantities are the numbers parsed here."""
    probe = copy.copy(tiger_order)
    probe.quantity, probe.filled = quantity, filled
    return probe.status


def engine_status(tiger_order: Any, quantity: int, filled: int) -> OrderStatus:
    """The engine's status of a tigeropen ``Order`` (see the module table); ``quantity`` and
    ``filled`` are the parsed whole shares."""
    from tigeropen.common.consts import OrderStatus as T

    sdk = _sdk_status(tiger_order, quantity, filled)  # folds remaining == 0 into FILLED
    if quantity > 0 and filled >= quantity:
        return OrderStatus.FILLED
    if sdk == T.FILLED:
        return OrderStatus.FILLED
    if sdk == T.PARTIALLY_FILLED:
        return OrderStatus.PARTIALLY_FILLED
    if sdk == T.HELD:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    if sdk == T.NEW:
        return OrderStatus.SUBMITTED
    if sdk == T.PENDING_CANCEL:
        return OrderStatus.PENDING_CANCEL
    if sdk == T.CANCELLED:
        return OrderStatus.CANCELLED
    if sdk == T.REJECTED:
        return OrderStatus.REJECTED
    if sdk == T.EXPIRED:
        return OrderStatus.EXPIRED
    # PENDING_NEW: a server string the SDK does not know ('PartiallyFilled', 'Expired', ...)
    if getattr(tiger_order, "is_open", None) is False:
        return OrderStatus.EXPIRED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.SUBMITTED


def client_order_id_of(tiger_order: Any) -> str:
    mark = getattr(tiger_order, "user_mark", None)
    return str(mark) if mark else f"{FOREIGN_ORDER_PREFIX}{tiger_order.id}"


def broker_order(tiger_order: Any, client_order_id: str | None = None) -> BrokerOrder:
    """A :class:`BrokerOrder` from a tigeropen ``Order``."""
    what = f"Tiger order {tiger_order.id}"
    quantity = scaled_quantity(tiger_order.quantity, getattr(tiger_order, "quantity_scale", 0), what)
    filled = scaled_quantity(tiger_order.filled, getattr(tiger_order, "filled_scale", 0), what)
    limit = price_or_none(tiger_order.limit_price, what)
    return BrokerOrder(
        client_order_id=client_order_id or client_order_id_of(tiger_order),
        broker_order_id=str(tiger_order.id),
        symbol=str(tiger_order.contract.symbol).upper(),
        side=side_from_action(tiger_order.action, what),
        quantity=quantity,
        order_type=order_type_from_tiger(tiger_order.order_type, limit),
        limit_price=limit,
        status=engine_status(tiger_order, quantity, filled),
        filled_quantity=filled,
        average_price=price_or_none(tiger_order.avg_fill_price, what) or 0.0,
    )


def transaction_shares(t: Any) -> int:
    """Whole shares of one execution (``order_transactions``), its scale applied."""
    return scaled_quantity(t.filled_quantity, getattr(t, "filled_quantity_scale", 0),
                           f"Tiger transaction {getattr(t, 'id', '?')}")


def fill_from_transaction(
    t: Any, client_order_id: str, fee: float, broker_order_id: str
) -> Fill:
    """A :class:`Fill` from a tigeropen ``Transaction`` (``order_transactions``)."""
    what = f"Tiger transaction {getattr(t, 'id', '?')} of order {broker_order_id}"
    when = getattr(t, "transaction_time", None) or getattr(t, "transacted_at", None)
    if when is None:
        raise ValueError(f"{what}: no execution time")
    if isinstance(when, str) and not when.isdigit():
        ts = datetime.fromisoformat(when).replace(tzinfo=EXCHANGE_ZONE)
    else:
        ts = ms_to_datetime(when)
    price = float(t.filled_price)
    if not price > 0:
        raise ValueError(f"{what}: filled price {t.filled_price!r} is not positive")
    return Fill(
        fill_id=f"tiger-{t.id}",
        client_order_id=client_order_id,
        symbol=str(t.contract.symbol).upper(),
        side=side_from_action(t.action, what),
        quantity=transaction_shares(t),
        price=price,
        timestamp=ts,
        fees=float(fee),
        broker_order_id=broker_order_id,
    )


def fill_from_order_record(
    bo: BrokerOrder, commission: float, last_fill_ms: Any
) -> Fill:
    """One :class:`Fill` for everything an order executed, from its order record: filled
    quantity, average fill price and the order's commission, stamped at its latest execution.

    For accounts without ``order_transactions``: the per-execution split is not available, so
    a finished order is booked as one execution at its average price (same shares, notional
    and fees; only the timing inside the order is lost). The id names the order, so a
    restart derives the same id from the same record.
    """
    what = f"Tiger order {bo.broker_order_id} ({bo.client_order_id})"
    if bo.filled_quantity <= 0:
        raise ValueError(f"{what}: no filled quantity to book")
    if not bo.average_price > 0:
        raise ValueError(f"{what}: average fill price {bo.average_price!r} is not positive "
                         f"with {bo.filled_quantity} shares filled")
    if last_fill_ms is None:
        raise ValueError(f"{what}: the order record has no latest execution time")
    return Fill(
        fill_id=f"tiger-order-{bo.broker_order_id}",
        client_order_id=bo.client_order_id,
        symbol=bo.symbol,
        side=bo.side,
        quantity=bo.filled_quantity,
        price=float(bo.average_price),
        timestamp=ms_to_datetime(last_fill_ms),
        fees=float(commission),
        broker_order_id=bo.broker_order_id,
    )


def position_from_tiger(p: Any) -> Position:
    """A :class:`Position`; a fractional holding (shares bought by amount, or a reinvested
    dividend) keeps its whole shares as ``quantity`` and the exact holding in
    ``extra[FRACTIONAL_QUANTITY]``. Why not raise here: the adapter does not know the universe,
    and a fraction of a symbol qlab does not trade must not stop it; the live runner decides
    (refuses a fractional holding in its universe, ignores one outside it)."""
    symbol = str(p.contract.symbol).upper()
    held = exact_quantity(p.quantity, getattr(p, "position_scale", 0), f"Tiger position {symbol}")
    whole = int(held)  # toward zero: -0.5 shares is 0 whole shares, not -1
    extra = {
        k: float(v)
        for k in ("market_price", "market_value", "unrealized_pnl", "realized_pnl")
        if (v := getattr(p, k, None)) is not None
    }
    if held != whole:
        extra[FRACTIONAL_QUANTITY] = float(held)
    return Position(symbol=symbol, quantity=whole,
                    average_price=float(p.average_cost or 0.0), extra=extra)


def account_from_segment(seg: Any) -> Account | None:
    """:class:`Account` from a prime-assets stock segment or an assets summary; None if empty."""
    cash = getattr(seg, "cash_balance", None)
    if cash is None:
        cash = getattr(seg, "cash", None)
    equity = getattr(seg, "net_liquidation", None)
    bp = getattr(seg, "buying_power", None)
    vals = [cash, equity, bp]
    if any(v is None or not abs(float(v)) < float("inf") for v in vals):
        return None
    return Account(cash=float(cash), equity=float(equity), buying_power=float(bp))
