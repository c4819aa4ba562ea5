from __future__ import annotations

from datetime import UTC, datetime

import pytest

from research.domain import Fill, OrderStatus, OrderType, Side
from research.execution import ChildOrder, IllegalTransition, OverfillError, is_legal

S = OrderStatus
LEGAL = {
    (S.INITIALIZED, S.SUBMITTED), (S.INITIALIZED, S.REJECTED),
    (S.SUBMITTED, S.ACCEPTED), (S.SUBMITTED, S.PARTIALLY_FILLED), (S.SUBMITTED, S.FILLED),
    (S.SUBMITTED, S.PENDING_CANCEL), (S.SUBMITTED, S.CANCELLED), (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.EXPIRED),
    (S.ACCEPTED, S.PARTIALLY_FILLED), (S.ACCEPTED, S.FILLED), (S.ACCEPTED, S.PENDING_CANCEL),
    (S.ACCEPTED, S.CANCELLED), (S.ACCEPTED, S.REJECTED), (S.ACCEPTED, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.FILLED), (S.PARTIALLY_FILLED, S.PENDING_CANCEL),
    (S.PARTIALLY_FILLED, S.CANCELLED), (S.PARTIALLY_FILLED, S.EXPIRED),
    (S.PENDING_CANCEL, S.ACCEPTED), (S.PENDING_CANCEL, S.PARTIALLY_FILLED),
    (S.PENDING_CANCEL, S.FILLED), (S.PENDING_CANCEL, S.CANCELLED),
    (S.PENDING_CANCEL, S.EXPIRED),
}
ALL_PAIRS = [(a, b) for a in S for b in S]


def child(status: OrderStatus = S.INITIALIZED, qty: int = 100) -> ChildOrder:
    c = ChildOrder("C1", "P1", 0, "AAA", Side.BUY, qty, OrderType.MARKET, None, 0)
    c.status = status
    return c


def fill(fid: str, qty: int, price: float = 10.0) -> Fill:
    return Fill(fid, "C1", "AAA", Side.BUY, qty, price, datetime(2024, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_transition_is_legal_exactly_when_listed(current, new):
    c = child(current)
    if (current, new) in LEGAL:
        c.transition(new, 1, "test")
        assert c.status is new
    else:
        with pytest.raises(IllegalTransition) as exc:
            c.transition(new, 1, "test")
        assert exc.value.history[-1][0] == new.value  # the history is attached
        assert "C1" in str(exc.value)
        assert c.status is current
    assert is_legal(current, new) == ((current, new) in LEGAL)


def test_fills_drive_partial_and_full_and_duplicates_are_not_double_counted():
    c = child(S.ACCEPTED)
    assert c.apply_fill(fill("f1", 40, 10.0), 1)
    assert c.status is S.PARTIALLY_FILLED
    assert not c.apply_fill(fill("f1", 40, 10.0), 2)  # same fill id again
    assert c.filled_quantity == 40
    assert c.apply_fill(fill("f2", 60, 11.0), 2)
    assert c.status is S.FILLED
    assert c.average_price == pytest.approx((40 * 10 + 60 * 11) / 100)


def test_overfill_raises_with_order_id():
    c = child(S.ACCEPTED)
    c.apply_fill(fill("f1", 90), 1)
    with pytest.raises(OverfillError, match="C1"):
        c.apply_fill(fill("f2", 11), 2)
    assert c.filled_quantity == 90


def test_late_fill_after_cancel_is_counted_without_reopening():
    c = child(S.ACCEPTED)
    c.transition(S.CANCELLED, 1)
    assert c.apply_fill(fill("f1", 30), 2)
    assert c.status is S.CANCELLED and c.filled_quantity == 30 and c.leaves_quantity == 0


def test_out_of_order_status_reports_are_stale_not_errors():
    c = child(S.SUBMITTED)
    c.apply_fill(fill("f1", 50), 1)  # fill arrived before "accepted"
    assert not c.apply_status(S.ACCEPTED, 2)
    assert c.status is S.PARTIALLY_FILLED
    c.apply_fill(fill("f2", 50), 2)
    assert not c.apply_status(S.CANCELLED, 3)  # late cancel after a full fill
    assert c.status is S.FILLED


def test_contradicting_final_states_raise():
    c = child(S.ACCEPTED)
    c.apply_status(S.CANCELLED, 1)
    with pytest.raises(IllegalTransition):
        c.apply_status(S.REJECTED, 2)
