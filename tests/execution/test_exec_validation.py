from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from research.domain import OrderType, Side
from research.execution import PreTradeValidator, RejectReason, RiskDecision, TokenBucket
from research.execution.rules import is_on_tick, is_regular_hours, round_to_tick, tick_size

NY = ZoneInfo("America/New_York")
NOON = datetime(2024, 3, 4, 12, 0, tzinfo=NY)


class Risk:
    def __init__(self, decision: RiskDecision):
        self.decision = decision

    def check(self, symbol, side, quantity, price, working=0, working_notional=None):
        return self.decision


def validator(risk=None, burst=10):
    return PreTradeValidator(price_collar_pct=0.05, max_order_notional=100_000,
                             max_orders_per_second=1.0, order_burst=burst, risk_check=risk)


def run(v, **kw):
    args = dict(client_order_id="C1", symbol="AAA", side=Side.BUY, quantity=100,
                order_type=OrderType.MARKET, limit_price=None, last_price=50.0, timestamp=NOON,
                already_sent=False)
    args.update(kw)
    return v.validate(**args)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"last_price": float("nan")}, RejectReason.NO_MARKET_DATA),
    ({"quantity": 10.5}, RejectReason.LOT_SIZE),
    ({"quantity": 0}, RejectReason.LOT_SIZE),
    ({"order_type": OrderType.LIMIT, "limit_price": 50.005}, RejectReason.TICK_SIZE),
    ({"order_type": OrderType.LIMIT, "limit_price": 53.0}, RejectReason.PRICE_COLLAR),
    ({"timestamp": datetime(2024, 3, 4, 8, 0, tzinfo=NY)}, RejectReason.OUTSIDE_REGULAR_HOURS),
    ({"quantity": 2_001}, RejectReason.MAX_NOTIONAL),
    ({"already_sent": True}, RejectReason.DUPLICATE_ORDER),
])
def test_each_rule_rejects_with_its_reason(kwargs, reason):
    res = run(validator(), **kwargs)
    assert not res.accepted
    assert res.reason_code is reason
    assert "C1 AAA" in res.reason


def test_limit_order_outside_hours_is_allowed_and_valid_order_passes():
    v = validator()
    assert run(v, order_type=OrderType.LIMIT, limit_price=49.99,
               timestamp=datetime(2024, 3, 4, 8, 0, tzinfo=NY)).accepted
    assert run(v).accepted


def test_risk_check_rejects_and_trims():
    res = run(validator(Risk(RiskDecision(False, 0, "MAX_POSITION", "too big"))))
    assert res.reason_code is RejectReason.RISK_REJECTED and "MAX_POSITION" in res.reason
    res = run(validator(Risk(RiskDecision(True, 60, "TRIMMED", ""))))
    assert res.accepted and res.quantity == 60


def test_rate_limit_token_bucket():
    v = validator(burst=2)
    assert run(v).accepted and run(v).accepted
    res = run(v)
    assert res.reason_code is RejectReason.RATE_LIMIT
    later = datetime(2024, 3, 4, 12, 0, 1, tzinfo=NY)  # one second refills one token
    assert run(v, timestamp=later).accepted
    assert not run(v, timestamp=later).accepted


def test_token_bucket_refill_is_capped_at_burst():
    b = TokenBucket(2.0, 3)
    assert all(b.try_take(0.0) for _ in range(3)) and not b.try_take(0.0)
    assert sum(b.try_take(100.0) for _ in range(10)) == 3


def test_token_bucket_takes_a_float_refill_a_hair_short_and_honours_a_block():
    b = TokenBucket(10.0, 1)
    assert b.try_take(0.2) and not b.try_take(0.25)
    assert (0.3 - 0.2) * 10.0 < 1.0 and b.try_take(0.3)  # a whole token in real arithmetic
    b.block(1.0, 2.0)  # a throttle: empty, and nothing before t = 3
    assert not b.try_take(2.95) and b.seconds_until_token(2.95) == pytest.approx(0.05)
    assert not b.try_take(0.5)  # a time before the last one seen adds nothing
    assert b.try_take(3.0) and not b.try_take(3.0)


def test_tiger_instrument_rules():
    assert tick_size(1.0) == 0.01 and tick_size(0.99) == 0.0001
    assert is_on_tick(12.34) and not is_on_tick(12.345)
    assert is_on_tick(0.1234) and not is_on_tick(0.12345)
    assert round_to_tick(12.347, +1) == 12.34 and round_to_tick(12.341, -1) == 12.35
    assert is_regular_hours(datetime(2024, 3, 4, 9, 30, tzinfo=NY))
    assert is_regular_hours(datetime(2024, 3, 4, 16, 0, tzinfo=NY))
    assert not is_regular_hours(datetime(2024, 3, 4, 9, 29, tzinfo=NY))
    assert not is_regular_hours(datetime(2024, 3, 4, 16, 1, tzinfo=NY))


class PositionCap:
    """The real adapter over a manager allowing at most ``cap`` shares long in total."""

    def __init__(self, cap):
        from research.execution.risk_check import RiskManagerCheck

        self.asked = []
        self.events = []
        test = self

        class Manager:
            def check_order(self, symbol, side, quantity, price, working_notional=None):
                test.asked.append(quantity)
                allowed = max(0, min(quantity, cap))

                class D:
                    approved = allowed > 0
                    approved_quantity = allowed
                    reasons = () if allowed == quantity else ("position_weight",)
                    message = ""
                return D()

        self.adapter = RiskManagerCheck(Manager(), on_limited=lambda *a: self.events.append(a))

    def check(self, symbol, side, quantity, price, working=0, working_notional=None):
        return self.adapter.check(symbol, side, quantity, price, working)


def test_the_risk_check_counts_shares_already_working():
    risk = PositionCap(1_000)
    v = validator(risk)
    ok = run(v, quantity=600, pending_quantity=0)
    assert ok.accepted and ok.quantity == 600
    trimmed = run(v, quantity=600, pending_quantity=600, client_order_id="C2")
    assert trimmed.accepted and trimmed.quantity == 400  # 1,000 - 600 on their way
    assert risk.asked == [600, 1_200]  # the manager sees the order plus the working shares
    refused = run(v, quantity=10, pending_quantity=1_000, client_order_id="C3")
    assert not refused.accepted and refused.reason_code is RejectReason.RISK_REJECTED
    assert "1000 shares already working" in refused.reason
    # the recorded events speak of the order's own shares, a refusal as a refusal
    assert [(e[2], e[3], e[4]) for e in risk.events] == [(600, 400, 600), (10, 0, 1_000)]
