"""TigerBroker.fills for a day of children, against a loopback gateway that enforces Tiger's
published rate limits (time compressed), and for accounts without ``order_transactions``.

Issue 12: a fresh broker asked for the fills of 12 filled orders made one
``order_transactions`` call per order against a 5-token bucket and failed after 6 calls with
"client-side rate limit"; a retry started again from the first order.
"""

from __future__ import annotations

import time

import pytest

from live.tiger.testing import Fault
from research.domain import Order, OrderStatus, Side
from research.execution.errors import BrokerUnavailable

# the gateway's 60 s window lasts 60 / SCALE real seconds and the client's limiter runs on a
# clock SCALE times faster: the same limits, in a tenth of the time
SCALE = 10.0


def scaled_limiter(scale: float = SCALE):
    """Tiger's published per-minute limits on a clock ``scale`` times faster than real."""
    from live.tiger import RateLimiter

    return RateLimiter(clock=lambda: time.monotonic() * scale,
                       sleep=lambda s: time.sleep(s / scale))


@pytest.fixture
def limited_gateway(make_gateway):
    def make(**kw):
        gw = make_gateway(**kw)
        gw.enforce_published_limits(time_scale=SCALE)
        return gw

    return make


def fresh_broker(make_broker, gw):
    """A broker as a restarted process has it: no memory of the orders it placed."""
    return make_broker(gw, limiter=scaled_limiter(), max_wait_s=0.5,
                       rate_limit_cooldown_s=2.0)


def place_filled(gw, n_per_symbol: int, symbols: list[str], qty: int = 10) -> list[str]:
    """Orders placed and filled at the gateway under client ids Cnnnn; their client ids."""
    cids = []
    for k, sym in enumerate(symbols):
        gw.set_price(sym, 50.0 + 10 * k, half_spread=0.01)
    for _ in range(n_per_symbol):
        for sym in symbols:
            cid = f"C{len(cids):04d}"
            gw._m_place_order({"symbol": sym, "action": "BUY", "order_type": "MKT",
                               "total_quantity": qty, "user_mark": cid})
            cids.append(cid)
    gw.requests.clear()
    return cids


def expected_executions(gw) -> dict[str, tuple[int, float, float]]:
    """user_mark -> (shares, notional, commission) as the gateway booked them."""
    return {o.user_mark: (o.filled, sum(f["filledQuantity"] * f["filledPrice"] for f in o.fills),
                          o.commission) for o in gw.orders.values()}


def booked(fills) -> dict[str, tuple[int, float, float]]:
    out: dict[str, list[float]] = {}
    for f in fills:
        acc = out.setdefault(f.client_order_id, [0, 0.0, 0.0])
        acc[0] += f.quantity
        acc[1] += f.quantity * f.price
        acc[2] += f.fees
    return {k: (int(v[0]), pytest.approx(v[1]), pytest.approx(v[2])) for k, v in out.items()}


def test_the_issue_reproduction_twelve_orders_are_paced_not_refused(limited_gateway,
                                                                     make_broker):
    # one order in each of 12 symbols: 12 order_transactions queries, more than the bucket's
    # burst of 5, so they must be paced at 55 a minute instead of refused
    gw = limited_gateway()
    symbols = [f"S{k:02d}" for k in range(12)]
    cids = place_filled(gw, 1, symbols)
    broker = fresh_broker(make_broker, gw)
    t0 = time.monotonic()
    fills = broker.fills(cids)
    elapsed_scaled = (time.monotonic() - t0) * SCALE
    assert booked(fills) == expected_executions(gw)
    assert gw.calls("order_transactions") == 12
    assert gw.throttled == []  # the gateway never had to say no
    assert elapsed_scaled >= (12 - 5) * 60 / 55 * 0.9  # paced: 7 tokens at 55 a minute


def test_a_day_of_children_is_fetched_in_pages_per_symbol(limited_gateway, make_broker):
    # 3 symbols x 80 children of 2 executions each: 480 executions, 240 orders
    gw = limited_gateway(max_fill_per_match=6)
    symbols = ["AAPL", "KO", "XOM"]
    cids = place_filled(gw, 80, symbols)
    gw.match()  # second slice of every order
    assert all(o.status == "Filled" and len(o.fills) == 2 for o in gw.orders.values())
    broker = fresh_broker(make_broker, gw)
    fills = broker.fills(cids)
    assert len(fills) == 480 and len({f.fill_id for f in fills}) == 480
    assert booked(fills) == expected_executions(gw)
    # one scan of the order list finds all 240 client ids; 160 executions per symbol come in
    # pages of 100: two queries per symbol instead of one per order
    assert gw.calls("orders") == 1
    assert gw.calls("order_transactions") == 6
    assert gw.throttled == []
    assert broker.fills(cids) == fills  # finished orders: kept, nothing asked again
    assert gw.calls("order_transactions") == 6


def test_a_failed_fills_call_resumes_where_it_stopped(limited_gateway, make_broker):
    gw = limited_gateway()
    symbols = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
    cids = place_filled(gw, 2, symbols)
    broker = fresh_broker(make_broker, gw)
    for _ in range(3):  # three symbols answered, then the gateway fails
        gw.fail_next("order_transactions", Fault("slow", delay_s=0.0))
    gw.fail_next("order_transactions", Fault("http", http_status=502))
    with pytest.raises(BrokerUnavailable):
        broker.fills(cids)
    assert gw.calls("order_transactions") == 4
    fills = broker.fills(cids)  # the engine's retry
    assert booked(fills) == expected_executions(gw)
    assert gw.calls("order_transactions") == 4 + 3  # only the symbols not yet done


def test_a_server_throttle_is_waited_out_not_returned(limited_gateway, make_broker):
    gw = limited_gateway()
    cids = place_filled(gw, 2, ["AAPL"])
    broker = fresh_broker(make_broker, gw)
    gw.fail_next("order_transactions", Fault("code", code=4, message=(
        "rate limit error(current limiting interface:order_transactions, up to 60 times per "
        "minute)")))
    fills = broker.fills(cids)
    assert booked(fills) == expected_executions(gw)
    assert gw.calls("order_transactions") == 2  # throttled once, sent again after cool-down


def test_without_order_transactions_fills_come_from_order_records(limited_gateway,
                                                                   make_broker):
    from live.tiger.broker import FILLS_FROM_ORDER_RECORDS

    gw = limited_gateway(transactions_supported=False, max_fill_per_match=4)
    cids = place_filled(gw, 3, ["AAPL", "KO"])  # 6 orders of 10 shares, 4 filled each
    gw.match()
    gw.set_price("AAPL", 51.0)  # AAPL's last 2 shares execute at a new price
    broker = fresh_broker(make_broker, gw)
    fills = broker.fills(cids)
    assert broker.fill_source == FILLS_FROM_ORDER_RECORDS
    assert "order_transactions is not available to this Tiger account" in \
        broker.fill_source_reason
    assert "code 1000" in broker.fill_source_reason
    assert "signature" not in broker.fill_source_reason
    # every order finished: one fill each with its filled quantity, average price (notional
    # kept exactly) and the order's whole commission
    assert len(fills) == 6
    assert booked(fills) == expected_executions(gw)
    for f in fills:
        o = gw.orders[int(f.broker_order_id)]
        assert (f.quantity, f.price, f.fees) == (o.filled, pytest.approx(o.avg_price),
                                                 o.commission)
        assert f.fill_id == f"tiger-order-{o.id}"
    assert gw.calls("order_transactions") == 1  # asked once; the cause is remembered
    assert broker.fills(cids) == fills  # the same ids from the same records
    assert gw.calls("order_transactions") == 1


def test_order_records_book_a_working_order_only_once_it_is_finished(limited_gateway,
                                                                      make_broker):
    gw = limited_gateway(transactions_supported=False, max_fill_per_match=4)
    gw.set_price("AAPL", 50.0)
    broker = fresh_broker(make_broker, gw)
    broker.submit(Order("W0001", "AAPL", Side.BUY, 10))
    (rep,) = broker.poll_reports()
    assert (rep.status, rep.cum_filled) == (OrderStatus.PARTIALLY_FILLED, 4)
    # no per-execution detail: a partial fill is not booked (the engine keeps the order's
    # whole quantity as working, so nothing is sent twice)
    assert broker.fills(["W0001"]) == []
    broker.cancel("W0001")
    (rep,) = broker.poll_reports()
    assert (rep.status, rep.cum_filled) == (OrderStatus.CANCELLED, 4)
    (f,) = broker.fills(["W0001"])
    assert (f.quantity, f.price, f.fees) == (4, pytest.approx(50.01), 1.0)


def test_code_1000_names_its_cause(gateway, broker):
    from live.tiger import MethodUnavailable, TigerAuthError

    gateway.fail_next("positions", Fault("code", code=1000, message=(
        "common param error(method positions is not supported for this account type)")))
    with pytest.raises(MethodUnavailable) as err:
        broker.positions()
    assert not isinstance(err.value, TigerAuthError)
    assert "not a credentials error" in str(err.value) and err.value.code == "1000"
    gateway.fail_next("positions", Fault("code", code=1000,
                                         message="failed to get developer information"))
    with pytest.raises(TigerAuthError):
        broker.positions()


def unlimited_client():
    """A client limiter far above Tiger's limits: only the gateway can say no."""
    from live.tiger import RateLimiter, WallClockBucket

    return RateLimiter(limits={"prime_assets": 100_000},
                       order_bucket=WallClockBucket(100_000.0, 100_000))


def test_the_gateway_enforces_the_published_per_method_limit(make_gateway, make_broker):
    from research.execution.errors import RateLimited

    gw = make_gateway()
    gw.enforce_published_limits(time_scale=2.0)  # a 30 s window: no test machine is that slow
    broker = make_broker(gw, limiter=unlimited_client())
    for _ in range(60):  # prime_assets: 60 a minute
        broker.account()
    with pytest.raises(RateLimited) as err:
        broker.account()
    assert err.value.code == 4 and "up to 60 times per minute" in str(err.value)
    assert gw.throttled == ["prime_assets"]


def test_the_gateway_caps_a_paper_accounts_place_modify_cancel_together(make_gateway,
                                                                          make_broker):
    from research.execution.errors import RateLimited

    gw = make_gateway(fill_on_place=False)
    gw.enforce_published_limits(time_scale=2.0)
    gw.set_price("AAPL", 50.0)
    broker = make_broker(gw, limiter=unlimited_client())
    for i in range(60):  # 60 places and 60 cancels: 120, the shared budget
        broker.submit(Order(f"P{i:03d}", "AAPL", Side.BUY, 1))
        broker.cancel(f"P{i:03d}")
    with pytest.raises(RateLimited) as err:
        broker.submit(Order("P999", "AAPL", Side.BUY, 1))
    assert err.value.code == 4 and not gw.orders_with_mark("P999")


def test_a_restart_looks_up_unfinished_children_without_a_scan_each(make_gateway, make_broker):
    # 700 orders on the account (3 pages of the order list); 12 of them still working
    gw = make_gateway(fill_on_place=False)
    gw.enforce_published_limits(time_scale=SCALE)
    gw.set_price("AAPL", 50.0)
    for i in range(700):
        gw._m_place_order({"symbol": "AAPL", "action": "BUY", "order_type": "LMT",
                           "limit_price": 40.0, "total_quantity": 1, "user_mark": f"O{i:04d}"})
    gw.requests.clear()
    broker = fresh_broker(make_broker, gw)
    working = [f"O{i:04d}" for i in range(0, 700, 60)]
    found = [broker.get_order(cid) for cid in working]
    assert [bo.client_order_id for bo in found] == working
    assert all(bo.status is OrderStatus.ACCEPTED for bo in found)
    # one scan (3 pages) for the first, then one order query each: 3 + 11, not 12 x 3
    assert gw.calls("orders") == 3 + len(working) - 1
    assert broker.get_order("O9999") is None  # never seen: always scanned for again
    assert gw.calls("orders") == 3 + len(working) - 1 + 3
