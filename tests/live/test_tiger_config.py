"""Client configuration comes from qlab settings only; the SDK's side doors stay shut."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from live.tiger import TigerConfigError, build_client_config, private_key_body
from research.config import TigerSettings


def test_stray_properties_file_and_environment_are_ignored(
    tmp_path, monkeypatch, gateway, settings_for, client_keys
):
    stray_key = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"
    (tmp_path / "tiger_openapi_config.properties").write_text(
        "tiger_id=99999999\naccount=11111111111111111\nlicense=TBSG\nenv=SANDBOX\n"
        f"private_key_pk1={stray_key}\nserver_url=https://stray.example/gateway\n"
        "token=stray-token\n"
    )
    (tmp_path / "tiger_openapi_token.properties").write_text("token=stray-token\n")
    monkeypatch.setenv("TIGEROPEN_PROPS_PATH", str(tmp_path))
    monkeypatch.setenv("TIGEROPEN_SERVER_URL", "https://env.example/gateway")
    monkeypatch.setenv("TIGEROPEN_ACCOUNT", "22222222222222222")
    monkeypatch.setenv("TIGEROPEN_TIGER_ID", "88888888")
    monkeypatch.setenv("TIGEROPEN_TOKEN", "env-token")
    monkeypatch.chdir(tmp_path)

    settings = settings_for(gateway)
    cfg = build_client_config(settings)
    assert cfg.tiger_id == "20150001"
    assert cfg.account == "20190000000000900"
    assert cfg.license == "TBNZ"
    assert cfg.server_url == gateway.url and cfg.quote_server_url == gateway.url
    assert cfg.private_key == private_key_body(settings) and stray_key not in cfg.private_key
    assert not cfg.token and cfg.enable_dynamic_domain is False and cfg.props_path is None
    from tigeropen.tiger_open_config import TIGER_PUBLIC_KEY

    assert cfg.tiger_public_key == TIGER_PUBLIC_KEY  # production key kept, not the sandbox's
    assert cfg.retry_max_tries == 0 and cfg.timeout == settings.timeout_s


def test_session_makes_no_call_until_used_and_grabs_quotes_once(gateway, make_broker):
    broker = make_broker(gateway)
    assert gateway.requests == []  # no licence query, no domain query, no permission grab
    gateway.set_price("AAPL", 150.0)
    broker.quotes(["AAPL"])
    broker.quotes(["AAPL"])
    assert gateway.calls("grab_quote_permission") == 1
    assert gateway.calls("quote_real_time") == 2


def test_private_key_from_a_file(tmp_path, gateway, client_keys):
    path = tmp_path / "key.pem"
    path.write_text(client_keys.private_pem)
    settings = TigerSettings(tiger_id="20150001", account=SecretStr("20190000000000900"),
                             private_key_path=path, server_url=gateway.url,
                             quote_server_url=gateway.url)
    from live.tiger import TigerBroker

    broker = TigerBroker.from_settings(settings, tiger_public_key=None)
    assert broker.positions() == {}  # the gateway accepted the signature


def test_bare_base64_pkcs8_key_works(gateway, client_keys, server_keys):
    from live.tiger import TigerBroker

    settings = TigerSettings(tiger_id="20150001", account=SecretStr("20190000000000900"),
                             private_key=SecretStr(client_keys.private_b64),
                             server_url=gateway.url, quote_server_url=gateway.url)
    broker = TigerBroker.from_settings(settings, tiger_public_key=server_keys.public_b64)
    assert broker.account().cash == pytest.approx(1_000_000.0)


@pytest.mark.parametrize(("kw", "message"), [
    ({}, "private key missing"),
    ({"private_key": SecretStr("bm90IGEga2V5IGF0IGFsbA==")}, "not a usable RSA private key"),
    ({"private_key_path": "/nonexistent/key.pem"}, "cannot read the key file"),
])
def test_bad_keys_fail_clearly(kw, message):
    settings = TigerSettings(tiger_id="1", account=SecretStr("2"), **kw)
    with pytest.raises(TigerConfigError, match=message) as err:
        build_client_config(settings)
    assert "bm90IGEga2V5" not in str(err.value)


def test_missing_ids_fail_clearly(client_keys):
    with pytest.raises(TigerConfigError, match="tiger_id"):
        build_client_config(TigerSettings(private_key=SecretStr(client_keys.private_pem)))
    with pytest.raises(TigerConfigError, match="account"):
        build_client_config(TigerSettings(tiger_id="1",
                                          private_key=SecretStr(client_keys.private_pem)))


def test_package_import_does_not_import_tigeropen():
    import subprocess
    import sys

    code = "import sys, live.tiger; print(any(m.startswith('tigeropen') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.stdout.strip() == "False"
