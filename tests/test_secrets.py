"""A planted private key must never surface in output, logs or error text."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from qlab.cli import app
from research.config import load_settings, masked_settings

FAKE_KEY = "MIIEowIBAAKCAQEA-PLANTED-FAKE-PRIVATE-KEY-" + "Zq9" * 20
FAKE_ACCOUNT = "PLANTED-ACCOUNT-20190101"


@pytest.fixture
def planted(isolated_env, monkeypatch):
    monkeypatch.setenv("QLAB_TIGER__PRIVATE_KEY", FAKE_KEY)
    monkeypatch.setenv("QLAB_TIGER__ACCOUNT", FAKE_ACCOUNT)
    return isolated_env


def _assert_clean(text: str) -> None:
    assert FAKE_KEY not in text and FAKE_KEY[:24] not in text
    assert FAKE_ACCOUNT not in text


def test_key_is_loaded_but_masked(planted, caplog):
    s = load_settings(None)
    assert s.tiger.private_key.get_secret_value() == FAKE_KEY
    _assert_clean(repr(s) + str(s) + str(masked_settings(s)) + s.model_dump_json())
    logging.getLogger("qlab").warning("settings: %s", s)
    _assert_clean(caplog.text)


def test_cli_config_show_masks_secrets(planted):
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0
    assert "tiger" in result.output
    _assert_clean(result.output)
    result = CliRunner().invoke(app, ["config", "show", "--json"])
    _assert_clean(result.output)


def test_validation_errors_do_not_echo_the_secret(planted, monkeypatch):
    monkeypatch.setenv("QLAB_TIGER__PAPER", FAKE_KEY)  # a secret pasted into the wrong field
    with pytest.raises(ValidationError) as err:
        load_settings(None)
    # What qlab prints: the message and the (path, reason) list it builds without inputs.
    from research.config import _error_list

    _assert_clean(str(err.value) + repr(err.value) + repr(_error_list(err.value)))
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code != 0
    _assert_clean(result.output + str(result.exception or ""))
