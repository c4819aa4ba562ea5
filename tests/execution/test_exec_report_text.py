"""ExecutionReport.to_json_text must be exactly the journal's encoding of to_json()."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from research.domain import Fill, OrderStatus, Side
from research.execution.model import ExecutionReport, ReportKind

TS = datetime(2022, 3, 7, 9, 31, tzinfo=ZoneInfo("America/New_York"))
ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _fill(**kw) -> Fill:
    base = dict(fill_id="SIM3-F1", client_order_id="c-1", symbol="AAPL", side=Side.SELL,
                quantity=17, price=101.23456789012345, timestamp=TS, fees=0.0123,
                broker_order_id="SIM3")
    base.update(kw)
    return Fill(**base)


CASES = [
    ExecutionReport("S1-R1", "c-1", ReportKind.ACCEPTED, OrderStatus.ACCEPTED, 0, "SIM3"),
    ExecutionReport("S1-R2", "c-1", ReportKind.FILL, OrderStatus.PARTIALLY_FILLED, 17, "SIM3",
                    _fill()),
    # quotes, backslashes, non-ASCII and control characters in free text are escaped as json does
    ExecutionReport("S1-R3", 'c"2\\', ReportKind.CANCELLED, OrderStatus.CANCELLED, 5, None,
                    None, 'cancel "now" – é\n\t'),
    ExecutionReport("S1-R4", "c-1", ReportKind.FILL, OrderStatus.FILLED, 3, None,
                    _fill(price=1e-7, fees=1e22, broker_order_id=None, side=Side.BUY)),
    # an int fee (not a float) takes the generic encoder: same text
    ExecutionReport("S1-R5", "c-1", ReportKind.FILL, OrderStatus.FILLED, 3, "B",
                    _fill(fees=0)),
]


@pytest.mark.parametrize("report", CASES, ids=[r.report_id for r in CASES])
def test_text_equals_generic_encoding_and_round_trips(report):
    text = report.to_json_text()
    assert text == ENCODE(report.to_json())
    back = ExecutionReport.from_json(json.loads(text))
    assert back.to_json() == report.to_json()


def test_non_finite_price_takes_the_generic_encoder():
    r = ExecutionReport("S1-R8", "c-1", ReportKind.FILL, OrderStatus.FILLED, 3, "B",
                        _fill(price=float("inf")))
    assert r.to_json_text() == ENCODE(r.to_json())
    assert '"price":Infinity' in r.to_json_text()


def test_numpy_numbers_fail_as_the_generic_encoder_does():
    r = ExecutionReport("S1-R9", "c-1", ReportKind.STATUS, OrderStatus.ACCEPTED, np.int64(4), "B")
    with pytest.raises(TypeError, match="int64"):
        r.to_json_text()


def test_non_str_broker_id_takes_the_generic_encoder():
    r = ExecutionReport("S1-R10", "c-1", ReportKind.ACCEPTED, OrderStatus.ACCEPTED, 0, 12345)
    assert r.to_json_text() == ENCODE(r.to_json())
    assert '"broker_order_id":12345' in r.to_json_text()


INTENTS = [
    {"parent_id": "P-1", "slice": 3, "symbol": "AAPL", "side": "buy", "quantity": 120,
     "order_type": "market", "limit_price": None, "mid": 101.23456789012345},
    {"parent_id": 'p"é\\', "slice": 0, "symbol": "BRK.B", "side": "sell", "quantity": 1,
     "order_type": "limit", "limit_price": 99.95, "mid": 1e-7},
    # unexpected types / non-finite numbers take the generic encoder: same text
    {"parent_id": "P", "slice": 1, "symbol": "X", "side": "buy", "quantity": 5,
     "order_type": "market", "limit_price": None, "mid": float("nan")},
    {"parent_id": "P", "slice": 1, "symbol": "X", "side": "buy", "quantity": 5,
     "order_type": "limit", "limit_price": 7, "mid": 1.5},
]


@pytest.mark.parametrize("payload", INTENTS)
def test_intent_text_is_the_journal_encoding(payload):
    from research.execution.engine import intent_json_text

    assert intent_json_text(payload) == ENCODE(payload)
