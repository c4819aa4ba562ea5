"""A planted private key appears in no log line, exception, repr or report of the adapter."""

from __future__ import annotations

import logging
import time

import pytest

from live.tiger.testing import Fault
from research.domain import Order, Side
from research.execution.errors import BrokerError

ACCOUNT = "20190000000000900"


def _texts_of(exc: BaseException) -> list[str]:
    out = []
    while exc is not None:
        out += [str(exc), repr(exc)]
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return out


@pytest.mark.slow
def test_planted_key_never_leaks(make_gateway, make_broker, client_keys, caplog):
    caplog.set_level(logging.DEBUG)  # tigeropen logs whole requests at DEBUG
    gw = make_gateway()
    broker = make_broker(gw, settings_kw={"timeout_s": 0.3})
    gw.set_price("AAPL", 150.0)
    texts = [repr(broker), repr(broker.session), repr(broker.session.config),
             str(broker.session.__dict__.get("config"))]
    faults = [
        Fault("code", code=1200, message="standard account response error(rejected)"),
        Fault("code", code=1010, message=f"account '{ACCOUNT}' is not authorized to the api user"),
        Fault("code", code=4, message="rate limit error(current limiting interface:place_order)"),
        Fault("http", http_status=500),
        Fault("slow", delay_s=0.6, create_first=False),
    ]
    for i, fault in enumerate(faults):
        gw.fail_next("place_order", fault)
        time.sleep(0.31)  # past the rate-limit cool-down
        with pytest.raises(BrokerError) as err:
            broker.submit(Order(f"Q9{i:03d}", "AAPL", Side.BUY, 1))
        texts += _texts_of(err.value)
    broker.submit(Order("Q9100", "AAPL", Side.BUY, 1))
    texts += [repr(r) for r in broker.poll_reports()] + [repr(f) for f in broker.fills()]
    texts.append(caplog.text)
    assert "DEBUG" in caplog.text or caplog.records  # the SDK did log
    blob = "\n".join(texts)
    body = broker.session.config.private_key
    assert len(body) > 500
    assert body not in blob
    for line in client_keys.private_pem.splitlines()[1:-1]:
        assert line not in blob
    # the account id is secret too: redacted from everything the adapter emits
    assert ACCOUNT not in "\n".join(texts[:-1])
    assert ACCOUNT not in caplog.text


def test_redactor_masks_pem_lines(client_keys):
    from live.tiger import SecretRedactor

    redact = SecretRedactor([client_keys.private_b64])
    line = client_keys.private_b64[64:128]
    assert redact(f"oops {line} oops") == "oops <redacted> oops"
