"""Fixtures for the Tiger adapter tests: throw-away keys, a loopback gateway, a broker.

The real tigeropen client talks HTTP to :class:`FakeTigerGateway` on 127.0.0.1; nothing is
mocked inside the client.
"""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from research.config import TigerSettings

TIGER_ID = "20150001"
ACCOUNT = "20190000000000900"  # 17 digits: tigeropen treats it as a paper account


@pytest.fixture(scope="session")
def client_keys():
    from live.tiger.testing import generate_key_pair

    return generate_key_pair(2048)


@pytest.fixture(scope="session")
def server_keys():
    from live.tiger.testing import generate_key_pair

    return generate_key_pair(1024)


@pytest.fixture(autouse=True)
def _no_tiger_environment(monkeypatch, tmp_path):
    """No TIGEROPEN_* variable and no properties file in the working directory."""
    for key in list(os.environ):
        if key.startswith("TIGEROPEN_") or key.startswith("QLAB_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make_gateway(client_keys, server_keys):
    from live.tiger.testing import FakeTigerGateway

    started = []

    def make(**kw):
        kw.setdefault("client_public_key", client_keys.public_b64)
        gw = FakeTigerGateway(tiger_id=TIGER_ID, account=ACCOUNT, server_key=server_keys, **kw)
        started.append(gw.start())
        return gw

    yield make
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


def tiger_settings(url: str, private_key: str, **kw) -> TigerSettings:
    kw.setdefault("timeout_s", 3.0)
    return TigerSettings(tiger_id=TIGER_ID, account=SecretStr(ACCOUNT),
                         private_key=SecretStr(private_key), server_url=url,
                         quote_server_url=url, **kw)


@pytest.fixture
def settings_for(client_keys):
    """TigerSettings pointing at a gateway, signed with the throw-away client key."""

    def make(gw, **kw):
        return tiger_settings(gw.url, client_keys.private_pem, **kw)

    return make


@pytest.fixture
def make_broker(client_keys, server_keys):
    from live.tiger import TigerBroker, TigerSession

    def make(gw, settings_kw=None, **session_kw):
        settings = tiger_settings(gw.url, client_keys.private_pem, **(settings_kw or {}))
        session_kw.setdefault("tiger_public_key", server_keys.public_b64)
        session_kw.setdefault("max_wait_s", 0.5)
        session_kw.setdefault("rate_limit_cooldown_s", 0.3)
        return TigerBroker(TigerSession(settings, **session_kw))

    return make


@pytest.fixture
def broker(gateway, make_broker):
    return make_broker(gateway)


@pytest.fixture
def settings(gateway, client_keys, tmp_path):
    """Settings of a live run against ``gateway``, with its journal and MLflow in tmp_path."""
    from research.config import ExecutionSettings, Settings, TrackingSettings

    return Settings(
        tiger=tiger_settings(gateway.url, client_keys.private_pem),
        execution=ExecutionSettings(journal_path=tmp_path / "journal"),
        tracking=TrackingSettings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/ml/mlflow.db"),
    )
