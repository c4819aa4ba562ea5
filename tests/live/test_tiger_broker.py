"""TigerBroker against the loopback gateway, through the real tigeropen client."""

from __future__ import annotations

import time

import pytest

from live.tiger.testing import Fault
from research.domain import Order, OrderStatus, OrderType, Side, TimeInForce
from research.execution.broker import Broker
from research.execution.errors import BrokerUnavailable, RateLimited, Rejected, SubmitTimeout
from research.execution.model import ReportKind

ACCOUNT = "20190000000000900"


def buy(cid: str, qty: int = 100, symbol: str = "AAPL", limit: float | None = None,
        side: Side = Side.BUY) -> Order:
    if limit is None:
        return Order(cid, symbol, side, qty)
    return Order(cid, symbol, side, qty, OrderType.LIMIT, limit)


def test_is_a_broker(broker):
    assert isinstance(broker, Broker)


def test_place_partial_fill_then_fill(make_gateway, make_broker):
    gw = make_gateway(max_fill_per_match=40)
    broker = make_broker(gw)
    gw.set_price("AAPL", 150.0, half_spread=0.01)
    bid = broker.submit(buy("Q0001", 100))

    # what went over the wire: the client id in user_mark, a regular-hours DAY market order
    (method, biz), = [r for r in gw.requests if r[0] == "place_order"]
    assert biz["user_mark"] == "Q0001" and biz["order_type"] == "MKT"
    assert biz["total_quantity"] == 100 and biz["action"] == "BUY"
    assert biz["time_in_force"] == "DAY" and biz["outside_rth"] is False
    assert biz["account"] == ACCOUNT and biz["symbol"] == "AAPL"

    seen = []
    for _ in range(3):
        reps = broker.poll_reports()
        assert len(reps) == 1
        seen.append((reps[0].kind, reps[0].status, reps[0].cum_filled))
        gw.match()
    assert seen == [
        (ReportKind.STATUS, OrderStatus.PARTIALLY_FILLED, 40),
        (ReportKind.STATUS, OrderStatus.PARTIALLY_FILLED, 80),
        (ReportKind.STATUS, OrderStatus.FILLED, 100),
    ]
    assert broker.poll_reports() == []  # nothing new: no duplicate report

    fills = broker.fills(["Q0001"])
    assert [f.quantity for f in fills] == [40, 40, 20]
    assert all(f.price == pytest.approx(150.01) and f.broker_order_id == bid for f in fills)
    assert len({f.fill_id for f in fills}) == 3
    # commission: max($1 minimum, 0.005 x 100) = $1.00, shared pro rata
    assert [f.fees for f in fills] == pytest.approx([0.4, 0.4, 0.2])
    bo = broker.get_order("Q0001")
    assert (bo.status, bo.filled_quantity, bo.average_price) == (OrderStatus.FILLED, 100,
                                                                  pytest.approx(150.01))


def test_partially_filled_status_string_is_understood(make_gateway, make_broker):
    # tigeropen maps the server string 'PartiallyFilled' to PENDING_NEW; the adapter must not
    gw = make_gateway(max_fill_per_match=30, partial_status="PartiallyFilled")
    broker = make_broker(gw)
    gw.set_price("MSFT", 300.0)
    broker.submit(buy("Q0002", 100, "MSFT"))
    bo = broker.get_order("Q0002")
    assert (bo.status, bo.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 30)


@pytest.mark.parametrize("numbers_as_text", ["int", "decimal"])
def test_quantities_sent_as_text_are_parsed_as_numbers(make_gateway, make_broker,
                                                       numbers_as_text):
    # the SDK's Order.status tests the raw fields' truthiness: "0" looked partly filled and
    # "100.0" / "0.0" filled; the adapter must read the numbers
    gw = make_gateway(numbers_as_text=numbers_as_text, max_fill_per_match=4)
    broker = make_broker(gw)
    gw.set_price("AAPL", 150.0, half_spread=0.01)
    gw.set_price("KO", 60.0, half_spread=0.01)
    broker.submit(buy("Q0201", 10, "KO", limit=59.0))  # rests: nothing filled
    broker.submit(buy("Q0202", 10))  # 4 of 10 filled at once
    reps = {r.client_order_id: (r.status, r.cum_filled) for r in broker.poll_reports()}
    assert reps == {"Q0201": (OrderStatus.ACCEPTED, 0),
                    "Q0202": (OrderStatus.PARTIALLY_FILLED, 4)}
    gw.match()
    gw.match()
    assert broker.get_order("Q0202").status is OrderStatus.FILLED
    assert [f.quantity for f in broker.fills(["Q0202"])] == [4, 4, 2]
    assert broker.get_order("Q0201").limit_price == 59.0


def test_resting_limit_then_cancel_is_idempotent(gateway, broker):
    gateway.set_price("AAPL", 150.0, half_spread=0.01)
    broker.submit(buy("Q0003", 10, limit=149.0))
    (rep,) = broker.poll_reports()
    assert (rep.kind, rep.status, rep.cum_filled) == (ReportKind.ACCEPTED, OrderStatus.ACCEPTED, 0)
    assert [o.client_order_id for o in broker.open_orders()] == ["Q0003"]

    broker.cancel("Q0003")
    (rep,) = broker.poll_reports()
    assert (rep.kind, rep.status) == (ReportKind.CANCELLED, OrderStatus.CANCELLED)
    broker.cancel("Q0003")  # already final: a no-op that sends nothing
    assert gateway.calls("cancel_order") == 1
    assert broker.open_orders() == []


def test_cancel_after_partial_fill_keeps_the_fill(make_gateway, make_broker):
    gw = make_gateway(max_fill_per_match=25)
    broker = make_broker(gw)
    gw.set_price("AAPL", 150.0)
    bid = broker.submit(buy("Q0004", 100))
    broker.cancel("Q0004", bid)
    reps = broker.poll_reports()
    assert [(r.status, r.cum_filled) for r in reps] == [(OrderStatus.CANCELLED, 25)]
    assert sum(f.quantity for f in broker.fills(["Q0004"])) == 25


def test_cancel_refused_for_a_filled_order_is_a_no_op(gateway, broker):
    gateway.set_price("AAPL", 150.0)
    bid = broker.submit(buy("Q0005", 5))
    broker.cancel("Q0005", bid)  # Tiger answers 1200 (already filled); nothing to do
    assert broker.get_order("Q0005").status is OrderStatus.FILLED


@pytest.mark.slow
def test_place_that_times_out_after_creating_the_order_is_reconciled(make_gateway, make_broker):
    gw = make_gateway()
    broker = make_broker(gw, settings_kw={"timeout_s": 0.4})
    gw.set_price("AAPL", 150.0)
    gw.fail_next("place_order", Fault("slow", delay_s=1.0, create_first=True))
    t0 = time.perf_counter()
    bid = broker.submit(buy("Q0006", 100))
    assert time.perf_counter() - t0 < 1.0  # resolved by a query, not by waiting out the reply
    assert gw.calls("place_order") == 1
    assert [o.id for o in gw.orders_with_mark("Q0006")] == [int(bid)]
    assert broker.submit(buy("Q0006", 100)) == bid  # same id again: nothing re-sent
    assert gw.calls("place_order") == 1


@pytest.mark.slow
def test_place_timeout_before_the_order_exists_is_never_resent(make_gateway, make_broker):
    gw = make_gateway()
    broker = make_broker(gw, settings_kw={"timeout_s": 0.3})
    gw.set_price("AAPL", 150.0)
    gw.fail_next("place_order", Fault("slow", delay_s=0.8, create_first=False))
    with pytest.raises(SubmitTimeout) as err:
        broker.submit(buy("Q0007", 100))
    assert err.value.client_order_id == "Q0007"
    with pytest.raises(SubmitTimeout):  # still unknown: asked again, not re-sent
        broker.submit(buy("Q0007", 100))
    deadline = time.monotonic() + 3.0
    while not gw.orders_with_mark("Q0007") and time.monotonic() < deadline:
        time.sleep(0.05)
    bo = broker.get_order("Q0007")  # how the engine resolves an unconfirmed submit
    assert bo is not None and bo.status is OrderStatus.FILLED
    assert gw.calls("place_order") == 1 and len(gw.orders_with_mark("Q0007")) == 1


def test_body_code_4_rate_limit_backs_off(gateway, broker):
    gateway.set_price("AAPL", 150.0)
    gateway.fail_next("place_order", Fault("code", code=4, message=(
        "rate limit error(current limiting interface:place_order, up to 120 times per minute)")))
    with pytest.raises(RateLimited) as err:
        broker.submit(buy("Q0008", 10))
    assert err.value.code == 4 and not gateway.orders
    # during the cool-down the adapter refuses locally: Tiger sees no second request
    with pytest.raises(RateLimited):
        broker.submit(buy("Q0008", 10))
    assert gateway.calls("place_order") == 1
    time.sleep(0.35)
    broker.submit(buy("Q0008", 10))
    assert gateway.calls("place_order") == 2 and len(gateway.orders_with_mark("Q0008")) == 1


def test_http_429_maps_to_rate_limited_without_sdk_retries(gateway, broker):
    gateway.fail_next("prime_assets", Fault("http", http_status=429))
    with pytest.raises(RateLimited) as err:
        broker.account()
    assert err.value.http_status == 429
    assert gateway.calls("prime_assets") == 1


def test_a_reconciliation_query_waits_out_a_throttle_then_gives_up_naming_it(gateway, broker):
    # positions (like get_order, open_orders, fills) is asked at every restart: one 429 is
    # waited out (the session's cool-down) and the query sent again ...
    gateway.fail_next("positions", Fault("http", http_status=429))
    assert broker.positions() == {}
    assert gateway.calls("positions") == 2
    # ... but a Tiger that keeps throttling is reported, after three re-sends
    gateway.fail_next("positions", Fault("http", http_status=429), times=4)
    with pytest.raises(RateLimited) as err:
        broker.positions()
    assert err.value.http_status == 429
    assert gateway.calls("positions") == 2 + 4


THROTTLE = Fault("code", code=4, message=(
    "rate limit error(current limiting interface:active_orders, up to 120 times per minute)"))


def test_a_throttled_report_poll_is_deferred_not_raised(gateway, broker, caplog):
    # the per-bar poll is read-only: a throttle must not stop the process (after Tiger's code
    # 4 the session refuses the method for its cool-down, longer than the engine's retries)
    gateway.set_price("AAPL", 150.0)
    broker.submit(buy("Q0101", 10, limit=149.0))  # rests: stays in the open list
    gateway.fail_next("active_orders", THROTTLE)
    assert broker.poll_reports() == []
    assert broker.poll_reports() == []  # in the cool-down: refused locally, nothing sent
    assert gateway.calls("active_orders") == 1
    assert "report poll deferred to a later bar" in caplog.text
    time.sleep(0.35)
    (rep,) = broker.poll_reports()  # the order stayed watched: reported on a later poll
    assert (rep.client_order_id, rep.status) == ("Q0101", OrderStatus.ACCEPTED)


def test_a_throttle_that_lasts_is_raised_after_max_deferred_polls(gateway, broker):
    """Deferring is for a passing throttle: polls cut short MAX_DEFERRED_POLLS times in a row
    raise the next time (trading on fills unseen for that many bars is worse than stopping)."""
    from live.tiger.broker import MAX_DEFERRED_POLLS
    from research.execution.errors import RateLimited

    gateway.set_price("AAPL", 150.0)
    broker.submit(buy("Q0104", 10, limit=149.0))
    gateway.fail_next("active_orders", THROTTLE)
    for _ in range(MAX_DEFERRED_POLLS):  # within the cool-down: each refused, deferred
        assert broker.poll_reports() == []
    with pytest.raises(RateLimited):
        broker.poll_reports()
    time.sleep(0.35)
    (rep,) = broker.poll_reports()  # a complete poll: counting starts again
    assert rep.client_order_id == "Q0104"


def test_a_throttled_order_query_in_the_poll_is_deferred(gateway, broker):
    gateway.set_price("AAPL", 150.0)
    gateway.set_price("KO", 60.0, half_spread=0.01)
    broker.submit(buy("Q0102", 10))  # fills at once: leaves the open list, asked by id
    broker.submit(buy("Q0103", 10, "KO", limit=59.0))  # rests: in the open list
    gateway.fail_next("orders", Fault("http", http_status=429))
    reps = broker.poll_reports()
    assert [(r.client_order_id, r.status) for r in reps] == [("Q0103", OrderStatus.ACCEPTED)]
    time.sleep(0.35)
    (rep,) = broker.poll_reports()
    assert (rep.client_order_id, rep.status, rep.cum_filled) == ("Q0102", OrderStatus.FILLED,
                                                                10)


def test_a_throttled_place_still_raises(gateway, broker):
    # only the read-only poll is deferred: a place is never retried or swallowed
    gateway.fail_next("place_order", Fault("http", http_status=429))
    with pytest.raises(RateLimited):
        broker.submit(buy("Q0104", 10))
    assert gateway.calls("place_order") == 1


def test_server_error_on_a_query_is_unavailable(gateway, broker):
    gateway.fail_next("positions", Fault("http", http_status=502))
    with pytest.raises(BrokerUnavailable):
        broker.positions()


@pytest.mark.slow
def test_token_bucket_keeps_places_under_the_gateway_limit(make_gateway, make_broker):
    from live.tiger import RateLimiter, WallClockBucket

    gw = make_gateway()
    gw.set_price("AAPL", 150.0)
    gw.limit_rate("place_order", 5, 0.25)  # the "server" allows 5 per 0.25 s
    # 2 burst + 8/s: at most 2 + 8 x 0.25 = 4 places in any 0.25 s window
    limiter = RateLimiter(order_bucket=WallClockBucket(8.0, 2))
    broker = make_broker(gw, limiter=limiter, max_wait_s=1.0)
    t0 = time.perf_counter()
    for i in range(10):
        broker.submit(buy(f"Q1{i:03d}", 1))
    elapsed = time.perf_counter() - t0
    assert elapsed >= (10 - 2) / 8.0 * 0.95
    assert gw.calls("place_order") == 10 and len(gw.orders) == 10


def test_empty_bucket_refuses_without_sending(make_gateway, make_broker):
    from live.tiger import RateLimiter, WallClockBucket

    gw = make_gateway()
    gw.set_price("AAPL", 150.0)
    broker = make_broker(gw, limiter=RateLimiter(order_bucket=WallClockBucket(0.5, 2)), max_wait_s=0)
    broker.submit(buy("Q2001", 1))
    broker.submit(buy("Q2002", 1))
    with pytest.raises(RateLimited) as err:
        broker.submit(buy("Q2003", 1))
    assert err.value.code == 0  # client-side
    assert gw.calls("place_order") == 2


@pytest.mark.parametrize(("code", "message", "category"), [
    (1010, "biz param error(field 'limit_price' cannot be empty)", "business parameter error"),
    (1200, "standard account response error(insufficient buying power)",
     "standard account rejected"),
    (1300, "paper account response error(order price exceeds the limit)",
     "paper account rejected"),
    (2100, "stock response error(the stock is not tradable)", "stock order rule"),
])
def test_rejections_map_to_reasons(gateway, broker, code, message, category):
    gateway.fail_next("place_order", Fault("code", code=code, message=message))
    with pytest.raises(Rejected) as err:
        broker.submit(buy("Q3001", 10))
    assert err.value.code == str(code)
    assert category in err.value.reason and message in err.value.reason
    assert not gateway.orders


def test_signature_error_is_an_auth_error(gateway, broker):
    from live.tiger import TigerAuthError

    gateway.fail_next("place_order", Fault("code", code=1000, message=(
        "failed to verify signature, please make sure you use the correct rsa private key")))
    with pytest.raises(TigerAuthError) as err:
        broker.submit(buy("Q3002", 10))
    assert err.value.code == "1000"


def test_wrong_client_key_is_refused_by_the_gateway(make_gateway, make_broker):
    from live.tiger import TigerAuthError
    from live.tiger.testing import generate_key_pair

    gw = make_gateway(client_public_key=generate_key_pair(1024).public_b64)
    broker = make_broker(gw)
    with pytest.raises(TigerAuthError, match="failed to verify signature"):
        broker.positions()


def test_bad_response_signature_is_detected(gateway, make_broker):
    from live.tiger.testing import generate_key_pair

    broker = make_broker(gateway, tiger_public_key=generate_key_pair(1024).public_b64)
    with pytest.raises(BrokerUnavailable, match="signature"):
        broker.positions()


def test_a_fractional_position_is_read_with_its_scale(gateway, broker):
    # Tiger sends 0.00773 shares as "position": 773, "positionScale": 5
    from live.tiger.mapping import FRACTIONAL_QUANTITY

    gateway.set_position("NVDA", 0.00773, 129.45, scale=5)
    gateway.set_position("KO", 10.5, 59.0, scale=1)
    gateway.set_position("XOM", 40, 100.0, scale=2)  # whole, sent as 4000 and scale 2
    pos = broker.positions()
    assert (pos["NVDA"].quantity, pos["NVDA"].extra[FRACTIONAL_QUANTITY]) == (0, 0.00773)
    assert (pos["KO"].quantity, pos["KO"].extra[FRACTIONAL_QUANTITY]) == (10, 10.5)
    assert pos["XOM"].quantity == 40 and FRACTIONAL_QUANTITY not in pos["XOM"].extra


def test_order_rejected_after_acceptance(gateway, broker):
    gateway.set_price("AAPL", 150.0)
    bid = broker.submit(buy("Q3003", 10, limit=140.0))
    broker.poll_reports()
    gateway.reject_order(int(bid), "price outside the daily band")
    (rep,) = broker.poll_reports()
    assert (rep.kind, rep.status) == (ReportKind.REJECTED, OrderStatus.REJECTED)
    assert "daily band" in rep.reason


@pytest.mark.parametrize("server_status", ["Expired", "Invalid"])
def test_expired_orders(gateway, broker, server_status):
    gateway.set_price("AAPL", 150.0)
    broker.submit(buy("Q3004", 10, limit=140.0))
    broker.poll_reports()
    gateway.expire_open_orders(server_status)
    (rep,) = broker.poll_reports()
    assert (rep.kind, rep.status) == (ReportKind.EXPIRED, OrderStatus.EXPIRED)


def test_unsupported_time_in_force_is_refused_locally(gateway, broker):
    order = Order("Q3005", "AAPL", Side.BUY, 1, time_in_force=TimeInForce.IOC)
    with pytest.raises(Rejected) as err:
        broker.submit(order)
    assert err.value.code == "unsupported_time_in_force" and gateway.calls("place_order") == 0


def test_positions_and_account_reconcile(gateway, broker):
    gateway.set_position("MSFT", 50, 300.0)
    gateway.set_price("MSFT", 310.0, half_spread=0.0)
    gateway.set_price("AAPL", 150.0, half_spread=0.01)
    broker.submit(buy("Q4001", 100))
    broker.submit(buy("Q4002", 20, "MSFT", side=Side.SELL))
    pos = broker.positions()
    assert {s: p.quantity for s, p in pos.items()} == {"AAPL": 100, "MSFT": 30}
    assert pos["AAPL"].average_price == pytest.approx(150.01)
    assert pos["MSFT"].average_price == pytest.approx(300.0)
    acct = broker.account()
    # cash: 1,000,000 - 100 x 150.01 - $1 + 20 x 310 - $1 (minimum commissions)
    cash = 1_000_000 - 100 * 150.01 - 1.0 + 20 * 310.0 - 1.0
    assert acct.cash == pytest.approx(cash)
    assert acct.equity == pytest.approx(cash + 100 * 150.0 + 30 * 310.0)
    fills = broker.fills()
    assert sum(f.quantity * f.side.sign for f in fills if f.symbol == "AAPL") == 100
    assert sum(f.fees for f in fills) == pytest.approx(2.0)


def test_account_falls_back_to_assets(gateway, broker):
    gateway.fail_next("prime_assets", Fault("code", code=0))  # success without data
    acct = broker.account()
    assert acct.cash == pytest.approx(1_000_000.0)


def test_restart_finds_orders_by_user_mark(gateway, make_broker):
    gateway.set_price("AAPL", 150.0)
    first = make_broker(gateway)
    bid = first.submit(buy("Q5001", 7))
    second = make_broker(gateway)  # a new process: no local memory of Q5001
    bo = second.get_order("Q5001")
    assert bo.broker_order_id == bid and bo.status is OrderStatus.FILLED
    assert second.get_order("Q5999") is None
    assert [f.quantity for f in second.fills(["Q5001"])] == [7]
    assert second.submit(buy("Q5001", 7)) == bid and gateway.calls("place_order") == 1


def test_a_lookup_by_client_id_reads_the_order_list_to_its_end(make_gateway, make_broker):
    # 45 orders, 2 a page: the oldest is on page 23. A lookup that stopped at 20 pages said
    # "no such order", which the engine takes as "never placed"
    from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter

    gw = make_gateway(fill_on_place=False, order_page_max=2)
    for i in range(45):
        gw._m_place_order({"symbol": "AAPL", "action": "BUY", "order_type": "LMT",
                           "limit_price": 40.0, "total_quantity": 1, "user_mark": f"P{i:03d}"})
    limiter = RateLimiter(limits={**TIGER_LIMITS_PER_MINUTE, "orders": 6000})
    broker = make_broker(gw, limiter=limiter)  # a restart: it placed none of them
    bo = broker.get_order("P000")
    assert bo is not None and (bo.client_order_id, bo.quantity) == ("P000", 1)
    assert gw.calls("orders") == 23


def test_an_order_list_that_never_ends_is_an_error_not_a_loop(gateway, broker, monkeypatch):
    real = gateway._m_orders

    def repeating(biz):  # a gateway that answers every page with the same next token
        code, msg, data = real(biz)
        return code, msg, {**data, "nextPageToken": "7"}

    monkeypatch.setattr(gateway, "_m_orders", repeating)
    with pytest.raises(BrokerUnavailable, match="repeats page token"):
        broker.get_order("P404")
    assert gateway.calls("orders") == 2  # the second page named the same token again


def test_foreign_orders_are_listed_for_reconciliation(gateway, broker):
    code, _, data = gateway._m_place_order({"symbol": "TSLA", "action": "SELL",
                                            "order_type": "LMT", "limit_price": 900.0,
                                            "total_quantity": 3})  # placed in Tiger's app
    (bo,) = broker.open_orders()
    assert bo.client_order_id == f"tiger:{data['id']}"
    assert (bo.symbol, bo.side, bo.quantity, bo.limit_price) == ("TSLA", Side.SELL, 3, 900.0)


def test_unreachable_gateway_is_unavailable(gateway, make_broker):
    broker = make_broker(gateway)
    gateway.stop()
    with pytest.raises(BrokerUnavailable):
        broker.submit(buy("Q6001", 1))
    with pytest.raises(BrokerUnavailable):
        broker.positions()


def test_quotes(gateway, broker):
    gateway.set_price("AAPL", 150.0, half_spread=0.02)
    q = broker.quotes(["aapl"])
    assert list(q["symbol"]) == ["AAPL"]
    assert (q["bid"].iloc[0], q["ask"].iloc[0]) == pytest.approx((149.98, 150.02))
    assert str(q["timestamp"].dt.tz) == "America/New_York"
