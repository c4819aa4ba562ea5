"""A loopback stand-in for Tiger's OpenAPI gateway, for tests only.

It speaks tigeropen's wire format (one signed JSON POST per call, see
``/work/shared/notes/tiger_sdk.md``): it verifies each request's RSA-SHA1 signature with the
developer's public key, answers ``{"code", "message", "timestamp", "data", "sign"}`` and signs
the request timestamp with its own key so the client's response check runs too.

A small order book fills orders against scripted prices (``set_price`` / ``match``), optionally
in slices (``max_fill_per_match``), and books positions, cash and commission. Faults are
scripted per method: body codes (rate limit 4, rejections 1010/1200/...), HTTP statuses (429,
500), and a place that creates the order and then answers too late (or answers late and only
then creates it). Every request is recorded in ``requests`` as (method, biz_content).

Rate limits: ``enforce_published_limits`` makes the gateway answer code 4, as Tiger does, once
a method goes over Tiger's published per-minute limits in a sliding window (its own copy of the
published table, so the adapter's limiter is checked against it, not against itself), with
time optionally compressed. ``transactions_supported=False`` answers ``order_transactions``
with code 1000, as Tiger does for an account type that does not offer it.
``numbers_as_text`` sends order and execution quantities as text ("100" or "100.0").

Not for production: no persistence, one account, US stocks only.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from live.tiger.testing.keys import RsaKeyPair, generate_key_pair

OPEN = ("Initial", "Submitted", "PartiallyFilled", "PendingCancel")
RATE_LIMIT_MSG = "rate limit error(current limiting interface:{m}, up to {n} times per minute)"
UNSUPPORTED_MSG = "common param error(method {m} is not supported for this account type)"

#: Tiger's published limits, calls per 60 s sliding window per account (quant.itigerup.com
#: requestLimit; /work/shared/notes/tiger_sdk.md section 5). Written out here independently of
#: ``live.tiger.ratelimit`` so the adapter's limiter is tested against the rule, not itself.
PUBLISHED_LIMITS: dict[str, int] = {
    **dict.fromkeys(("order_no", "place_order", "modify_order", "cancel_order", "orders",
                     "active_orders", "inactive_orders", "filled_orders", "timeline",
                     "quote_real_time", "ticks"), 120),
    **dict.fromkeys(("contracts", "contract", "positions", "assets", "prime_assets", "accounts",
                     "order_transactions", "history_timeline", "kline"), 60),
    **dict.fromkeys(("grab_quote_permission", "get_quote_permission", "market_state",
                     "symbols"), 10),
}
#: A paper account's place + modify + cancel share one budget of 120 a minute.
PAPER_ORDER_METHODS = ("place_order", "modify_order", "cancel_order")
PAPER_ORDER_LIMIT = 120
TRANSACTIONS_PAGE_MAX = 100  # the most transactions one order_transactions page holds


@dataclass
class Fault:
    """One scripted failure of the next call of a method.

    kind: ``code`` (body code + message), ``http`` (HTTP status), ``slow`` (answer after
    ``delay_s``; for place_order the order is created before the delay when ``create_first``,
    after it otherwise).
    """

    kind: str
    code: int = 0
    message: str = ""
    http_status: int = 200
    delay_s: float = 0.0
    create_first: bool = True


@dataclass
class FakeOrder:
    id: int
    order_id: int
    symbol: str
    action: str
    order_type: str
    quantity: int
    limit_price: float | None
    time_in_force: str
    user_mark: str
    open_time: int
    status: str = "Submitted"
    filled: int = 0
    avg_price: float = 0.0
    commission: float = 0.0
    remark: str = ""
    update_time: int = 0
    fills: list[dict] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class FakeTigerGateway:
    """Loopback Tiger gateway on 127.0.0.1 (ephemeral port), served from a thread."""

    def __init__(
        self,
        *,
        tiger_id: str,
        account: str,
        client_public_key: str,
        server_key: RsaKeyPair | None = None,
        license: str = "TBNZ",
        cash: float = 1_000_000.0,
        commission_per_share: float = 0.005,
        min_commission: float = 1.0,
        fill_on_place: bool = True,
        max_fill_per_match: int | None = None,
        partial_status: str = "Submitted",
        transactions_supported: bool = True,
        numbers_as_text: str | None = None,
        order_page_max: int = 300,
    ):
        self.tiger_id = tiger_id
        self.account = account
        self.client_public_key = client_public_key
        self.server_key = server_key or generate_key_pair(1024)
        self.license = license
        self.cash = float(cash)
        self.commission_per_share = commission_per_share
        self.min_commission = min_commission
        self.fill_on_place = fill_on_place
        self.max_fill_per_match = max_fill_per_match
        self.partial_status = partial_status
        self.transactions_supported = transactions_supported
        # order and execution quantities sent as text, as Tiger sometimes does: "int" ("100")
        # or "decimal" ("100.0"); None sends JSON numbers
        self.numbers_as_text = numbers_as_text
        self.order_page_max = order_page_max  # most orders one page of an order list holds
        self.prices: dict[str, float] = {}
        self.half_spread: dict[str, float] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.positions: dict[str, list[float]] = {}  # symbol -> [shares, average cost]
        self.position_scales: dict[str, int] = {}  # symbol -> positionScale it is sent with
        self.bars: dict[tuple[str, str], list[dict]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.rate_windows: dict[str, tuple[int, float]] = {}
        # counters several methods share: name -> (calls, window s, methods)
        self.shared_windows: dict[str, tuple[int, float, tuple[str, ...]]] = {}
        self.throttled: list[str] = []  # methods answered with code 4, in order
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._ids = itertools.count(40_132_638_459_956_224)
        self._seq = itertools.count(1001)
        self._fill_ids = itertools.count(30_000_000_001)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTigerGateway:
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                n = int(self.headers.get("Content-Length", "0"))
                status, payload = gw._dispatch(self.rfile.read(n))
                body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout scenario)
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="fake-tiger-gateway")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTigerGateway:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "gateway not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/gateway"

    # ------------------------------------------------------------------ scripting
    def set_price(self, symbol: str, price: float, half_spread: float = 0.01,
                  match: bool = True) -> None:
        with self._lock:
            self.prices[symbol] = float(price)
            self.half_spread[symbol] = float(half_spread)
            if match:
                self.match()

    def set_position(self, symbol: str, shares: float, average_cost: float,
                     scale: int = 0) -> None:
        """``scale`` > 0 sends the quantity as Tiger does a fractional one: ``position`` an
        integer, ``positionScale`` its decimals (0.00773 shares: 773 and 5)."""
        with self._lock:
            self.positions[symbol] = [float(shares), float(average_cost)]
            self.position_scales[symbol] = int(scale)

    def set_bars(self, symbol: str, period: str, items: list[dict]) -> None:
        """k-line items: dicts with time (ms), open, high, low, close, volume."""
        self.bars[(symbol, period)] = sorted(items, key=lambda x: x["time"])

    def fail_next(self, method: str, fault: Fault, times: int = 1) -> None:
        for _ in range(times):
            self.faults[method].append(fault)

    def limit_rate(self, method: str, calls: int, window_s: float) -> None:
        """Answer code 4 once ``method`` is called more than ``calls`` times in ``window_s``."""
        self.rate_windows[method] = (calls, window_s)

    def enforce_published_limits(self, time_scale: float = 1.0, paper: bool = True) -> None:
        """Answer code 4 like Tiger once any method exceeds its published per-minute limit.

        ``time_scale`` compresses time: the 60 s window lasts ``60 / time_scale`` seconds (a
        test that runs a session's minutes in milliseconds scales its client clock the same
        way). ``paper``: place + modify + cancel also share one 120-a-minute budget.
        """
        if time_scale <= 0:
            raise ValueError(f"gateway: time_scale must be > 0, got {time_scale}")
        window = 60.0 / time_scale
        for method, per_minute in PUBLISHED_LIMITS.items():
            self.rate_windows[method] = (per_minute, window)
        if paper:
            self.shared_windows["paper place+modify+cancel"] = (
                PAPER_ORDER_LIMIT, window, PAPER_ORDER_METHODS)

    def reject_order(self, order_id: int, remark: str) -> None:
        """The exchange side refuses a working order afterwards (status Inactive)."""
        with self._lock:
            o = self.orders[order_id]
            o.status, o.remark, o.update_time = "Inactive", remark, _now_ms()

    def expire_open_orders(self, status: str = "Expired") -> None:
        with self._lock:
            for o in self.orders.values():
                if o.is_open:
                    o.status, o.update_time = status, _now_ms()

    def calls(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def orders_with_mark(self, user_mark: str) -> list[FakeOrder]:
        return [o for o in self.orders.values() if o.user_mark == user_mark]

    # ------------------------------------------------------------------ order book
    def match(self) -> None:
        """Fill every open order that is marketable at the current prices."""
        with self._lock:
            for o in sorted(self.orders.values(), key=lambda o: o.id):
                if o.status in ("Submitted", "PartiallyFilled") and o.symbol in self.prices:
                    self._match_one(o)

    def _match_one(self, o: FakeOrder) -> None:
        px, hs = self.prices[o.symbol], self.half_spread.get(o.symbol, 0.0)
        buy = o.action == "BUY"
        touch = px + hs if buy else px - hs
        if o.order_type == "LMT":
            if (buy and touch > o.limit_price) or (not buy and touch < o.limit_price):
                return
            touch = min(touch, o.limit_price) if buy else max(touch, o.limit_price)
        qty = o.quantity - o.filled
        if self.max_fill_per_match:
            qty = min(qty, self.max_fill_per_match)
        self.fill(o.id, qty, touch)

    def fill(self, order_id: int, quantity: int, price: float) -> None:
        """Execute ``quantity`` shares of an order at ``price`` (books cash, fees, position)."""
        with self._lock:
            o = self.orders[order_id]
            now = _now_ms()
            sign = 1 if o.action == "BUY" else -1
            o.avg_price = (o.avg_price * o.filled + price * quantity) / (o.filled + quantity)
            o.filled += quantity
            new_commission = max(self.min_commission, self.commission_per_share * o.filled)
            self.cash -= sign * quantity * price + (new_commission - o.commission)
            o.commission = new_commission
            o.status = "Filled" if o.filled == o.quantity else self.partial_status
            o.update_time = now
            o.fills.append({
                "id": next(self._fill_ids), "accountId": self.account, "orderId": o.id,
                "secType": "STK", "symbol": o.symbol, "currency": "USD", "market": "US",
                "action": o.action, "filledQuantity": quantity, "filledQuantityScale": 0,
                "filledPrice": price, "filledAmount": round(quantity * price, 6),
                "transactedAt": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now / 1000)),
                "transactionTime": now,
            })
            shares, cost = self.positions.get(o.symbol, [0.0, 0.0])
            new = shares + sign * quantity
            if shares == 0 or (shares > 0) == (sign > 0):  # opening or adding
                cost = (cost * abs(shares) + price * quantity) / abs(new) if new else 0.0
            elif new == 0:
                cost = 0.0
            elif (new > 0) != (shares > 0):  # flipped through zero
                cost = price
            self.positions[o.symbol] = [new, cost]

    # ------------------------------------------------------------------ HTTP dispatch
    def _dispatch(self, raw: bytes) -> tuple[int, dict | bytes]:
        try:
            req = json.loads(raw)
        except ValueError:
            return 200, self._answer({}, 1000, "common param error(invalid json)")
        method = str(req.get("method", ""))
        biz = json.loads(req["biz_content"]) if req.get("biz_content") else {}
        with self._lock:
            self.requests.append((method, biz))
        if not self._signature_ok(req):
            return 200, self._answer(req, 1000, "failed to verify signature, please make sure "
                                                "you use the correct rsa private key")
        if req.get("tiger_id") != self.tiger_id:
            return 200, self._answer(req, 1000, "failed to get developer information")
        if "account" in biz and biz["account"] != self.account:
            return 200, self._answer(req, 1010, f"account '{biz['account']}' is not authorized "
                                                "to the api user")
        over = self._over_rate(method)
        if over is not None:
            with self._lock:
                self.throttled.append(method)
            return 200, self._answer(req, 4, RATE_LIMIT_MSG.format(m=method, n=over))
        fault = self._next_fault(method)
        if fault is not None and fault.kind == "http":
            return fault.http_status, f"error {fault.http_status}".encode()
        if fault is not None and fault.kind == "code":
            return 200, self._answer(req, fault.code, fault.message)
        if fault is not None and fault.kind == "slow" and not (
            method == "place_order" and fault.create_first
        ):
            time.sleep(fault.delay_s)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return 200, self._answer(req, 1000, f"common param error(unknown method {method})")
        code, msg, data = handler(biz)
        if fault is not None and fault.kind == "slow" and method == "place_order" \
                and fault.create_first:
            time.sleep(fault.delay_s)
        return 200, self._answer(req, code, msg, data)

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            q = self.faults.get(method)
            return q.popleft() if q else None

    def _over_rate(self, method: str) -> int | None:
        """The limit ``method`` would exceed now (the call is refused), else None (counted).

        Only calls that are answered count, as a sliding window of their arrival times."""
        counters = [(method, *self.rate_windows[method])] if method in self.rate_windows else []
        counters += [(name, n, window) for name, (n, window, methods)
                     in self.shared_windows.items() if method in methods]
        if not counters:
            return None
        now = time.monotonic()
        with self._lock:
            for key, n, window in counters:
                q = self._calls[key]
                while q and q[0] <= now - window:
                    q.popleft()
                if len(q) >= n:
                    return n
            for key, _, _ in counters:
                self._calls[key].append(now)
            return None

    def _signature_ok(self, req: dict) -> bool:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        sign = req.get("sign")
        if not sign:
            return False
        content = "&".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
            for k, v in sorted(req.items()) if k != "sign"
        )
        try:
            pub = serialization.load_der_public_key(base64.b64decode(self.client_public_key))
            pub.verify(base64.b64decode(sign), content.encode(), padding.PKCS1v15(), hashes.SHA1())
        except Exception:  # noqa: BLE001 - any failure is a bad signature
            return False
        return True

    def _answer(self, req: dict, code: int, message: str, data: Any = None) -> dict:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        out = {"code": code, "message": message or ("success" if code == 0 else "error"),
               "timestamp": _now_ms(), "data": data}
        ts = req.get("timestamp")
        if ts:
            key = serialization.load_der_private_key(
                base64.b64decode(self.server_key.private_b64), password=None
            )
            sig = key.sign(ts.encode(), padding.PKCS1v15(), hashes.SHA1())
            out["sign"] = base64.b64encode(sig).decode()
        return out

    # ------------------------------------------------------------------ methods
    def _m_user_license(self, biz: dict) -> tuple:
        return 0, "", {"license": self.license}

    def _m_grab_quote_permission(self, biz: dict) -> tuple:
        return 0, "", [{"name": "usQuoteBasic", "expireAt": -1}]

    def _m_place_order(self, biz: dict) -> tuple:
        try:
            qty = int(biz["total_quantity"])
            otype = biz["order_type"]
            limit = float(biz["limit_price"]) if otype == "LMT" else None
            symbol, action = biz["symbol"], biz["action"]
        except (KeyError, TypeError, ValueError) as exc:
            return 1010, f"biz param error(field {exc} cannot be empty)", None
        if qty <= 0:
            return 1010, "biz param error(total_quantity must be positive)", None
        with self._lock:
            now = _now_ms()
            o = FakeOrder(id=next(self._ids), order_id=next(self._seq), symbol=symbol,
                          action=action, order_type=otype, quantity=qty, limit_price=limit,
                          time_in_force=biz.get("time_in_force", "DAY"),
                          user_mark=biz.get("user_mark", ""), open_time=now, update_time=now)
            self.orders[o.id] = o
            if self.fill_on_place and symbol in self.prices:
                self._match_one(o)
        return 0, "", {"id": o.id, "orderId": o.order_id}

    def _m_modify_order(self, biz: dict) -> tuple:
        with self._lock:
            o = self.orders.get(int(biz.get("id", 0)))
            if o is None or not o.is_open:
                return 1200, "standard account response error(order cannot be modified)", None
            o.quantity = int(biz.get("total_quantity", o.quantity))
            if biz.get("limit_price") is not None:
                o.limit_price = float(biz["limit_price"])
            o.update_time = _now_ms()
            if self.fill_on_place and o.symbol in self.prices:
                self._match_one(o)
        return 0, "", {"id": o.id}

    def _m_cancel_order(self, biz: dict) -> tuple:
        with self._lock:
            o = self.orders.get(int(biz.get("id", 0)))
            if o is None:
                return 1200, "standard account response error(order not found)", None
            if not o.is_open:
                return 1200, f"standard account response error(order status {o.status} " \
                             "cannot be cancelled)", None
            o.status, o.update_time = "Cancelled", _now_ms()
        return 0, "", {"id": o.id}

    def _order_json(self, o: FakeOrder) -> dict:
        return {
            "id": o.id, "orderId": o.order_id, "account": self.account, "symbol": o.symbol,
            "secType": "STK", "currency": "USD", "market": "US", "action": o.action,
            "orderType": o.order_type, "limitPrice": o.limit_price,
            "totalQuantity": self._number(o.quantity), "totalQuantityScale": 0,
            "filledQuantity": self._number(o.filled), "filledQuantityScale": 0,
            "avgFillPrice": o.avg_price, "commission": o.commission, "gst": 0.0,
            "realizedPnl": 0.0, "timeInForce": o.time_in_force, "outsideRth": False,
            "status": o.status, "remark": o.remark, "userMark": o.user_mark,
            "openTime": o.open_time, "updateTime": o.update_time, "latestTime": o.update_time,
            "canModify": o.is_open, "canCancel": o.is_open, "isOpen": o.is_open,
            "source": "OpenApi", "tradingSessionType": "RTH",
        }

    def _number(self, value: int) -> int | str:
        if self.numbers_as_text == "int":
            return str(int(value))
        if self.numbers_as_text == "decimal":
            return str(float(value))
        return value

    def _order_list(self, biz: dict, keep) -> tuple:
        if biz.get("id") or biz.get("order_id"):
            with self._lock:
                if biz.get("id"):
                    o = self.orders.get(int(biz["id"]))
                else:
                    o = next((x for x in self.orders.values()
                              if x.order_id == int(biz["order_id"])), None)
                return 0, "", (self._order_json(o) if o is not None else None)
        start = int(biz.get("start_date") or 0)
        with self._lock:
            rows = [o for o in self.orders.values() if keep(o) and o.open_time >= start
                    and (not biz.get("symbol") or o.symbol == biz["symbol"])]
            rows.sort(key=lambda o: (-o.open_time, -o.id))
            offset = int(biz.get("page_token") or 0)
            limit = min(int(biz.get("limit") or 100), self.order_page_max)
            page = rows[offset:offset + limit]
            token = str(offset + limit) if offset + limit < len(rows) else None
            return 0, "", {"items": [self._order_json(o) for o in page], "nextPageToken": token}

    def _m_orders(self, biz: dict) -> tuple:
        return self._order_list(biz, lambda o: True)

    def _m_active_orders(self, biz: dict) -> tuple:
        return self._order_list(biz, lambda o: o.is_open)

    def _m_inactive_orders(self, biz: dict) -> tuple:
        return self._order_list(biz, lambda o: o.status in ("Cancelled", "Inactive", "Invalid",
                                                             "Expired"))

    def _m_filled_orders(self, biz: dict) -> tuple:
        return self._order_list(biz, lambda o: o.filled > 0)

    def _m_order_transactions(self, biz: dict) -> tuple:
        """Executions of one order (``order_id``: its global id) or of one symbol, oldest
        first, within ``start_date`` / ``end_date`` (ms; end exclusive), in pages of at most
        100 (``page_token``: the offset of the next page)."""
        if not self.transactions_supported:
            return 1000, UNSUPPORTED_MSG.format(m="order_transactions"), None
        start = int(biz.get("start_date") or 0)
        end = int(biz.get("end_date") or 0)
        with self._lock:
            if biz.get("order_id"):
                o = self.orders.get(int(biz["order_id"]))
                items = list(o.fills) if o else []
            elif biz.get("symbol"):
                items = [f for o in self.orders.values() for f in o.fills
                         if o.symbol == biz["symbol"]]
            else:
                return 1010, "biz param error(field 'symbol' or 'order_id' cannot be empty)", None
        items = [f for f in items if f["transactionTime"] >= start
                 and (not end or f["transactionTime"] < end)]
        items.sort(key=lambda f: (f["transactionTime"], f["id"]))
        limit = min(int(biz.get("limit") or TRANSACTIONS_PAGE_MAX), TRANSACTIONS_PAGE_MAX)
        offset = int(biz.get("page_token") or 0)
        page = [{**f, "filledQuantity": self._number(f["filledQuantity"])}
                for f in items[offset:offset + limit]]
        token = str(offset + limit) if offset + limit < len(items) else None
        return 0, "", {"items": page, "nextPageToken": token}

    def _m_positions(self, biz: dict) -> tuple:
        with self._lock:
            items = []
            for sym, (shares, cost) in sorted(self.positions.items()):
                if shares == 0:
                    continue
                px = self.prices.get(sym, cost)
                scale = self.position_scales.get(sym, 0)
                items.append({
                    "account": self.account, "symbol": sym, "secType": "STK", "currency": "USD",
                    "market": "US", "contractId": abs(hash(sym)) % 100000,
                    "position": round(shares * 10**scale) if scale else shares,
                    "positionScale": scale, "positionQty": shares, "salableQty": shares,
                    "averageCost": cost, "latestPrice": px, "marketValue": shares * px,
                    "unrealizedPnl": (px - cost) * shares, "realizedPnl": 0.0, "multiplier": 1,
                })
        return 0, "", {"items": items}

    def net_liquidation(self) -> float:
        with self._lock:
            return self.cash + sum(s * self.prices.get(sym, c)
                                   for sym, (s, c) in self.positions.items())

    def _m_prime_assets(self, biz: dict) -> tuple:
        nl = self.net_liquidation()
        seg = {"category": "S", "currency": "USD", "capability": "RegTMargin",
               "cashBalance": self.cash, "cashAvailableForTrade": self.cash,
               "netLiquidation": nl, "buyingPower": 2 * nl, "initMargin": 0.0,
               "maintainMargin": 0.0, "unrealizedPL": 0.0, "realizedPL": 0.0,
               "currencyAssets": [{"currency": "USD", "cashBalance": self.cash,
                                   "cashAvailableForTrade": self.cash, "forexRate": 1.0}]}
        return 0, "", {"accountId": self.account, "updateTimestamp": _now_ms(), "segments": [seg]}

    def _m_assets(self, biz: dict) -> tuple:
        nl = self.net_liquidation()
        return 0, "", {"items": [{"account": self.account, "netLiquidation": nl,
                                  "cashValue": self.cash, "buyingPower": 2 * nl}]}

    def _m_kline(self, biz: dict) -> tuple:
        period = biz.get("period", "day")
        begin, end = int(biz.get("begin_time", -1)), int(biz.get("end_time", -1))
        limit = int(biz.get("limit") or 251)
        out = []
        for sym in biz.get("symbols", []):
            rows = [r for r in self.bars.get((sym, period), [])
                    if (begin < 0 or r["time"] >= begin) and (end < 0 or r["time"] <= end)]
            offset = int(biz.get("page_token") or 0)
            page = rows[offset:offset + limit]
            token = str(offset + limit) if offset + limit < len(rows) else None
            out.append({"symbol": sym, "period": period, "nextPageToken": token, "items": page})
        return 0, "", out

    def _m_quote_real_time(self, biz: dict) -> tuple:
        out = []
        with self._lock:
            for sym in biz.get("symbols", []):
                if sym not in self.prices:
                    continue
                px, hs = self.prices[sym], self.half_spread.get(sym, 0.0)
                out.append({"symbol": sym, "latestPrice": px, "latestTime": _now_ms(),
                            "bidPrice": px - hs, "askPrice": px + hs, "bidSize": 300,
                            "askSize": 200, "open": px, "high": px, "low": px, "close": px,
                            "preClose": px, "volume": 1000, "status": "NORMAL"})
        return 0, "", out


def _now_ms() -> int:
    return int(time.time() * 1000)
