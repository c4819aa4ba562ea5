"""`qlab live` refuses to start, with one clear line and a non-zero exit, when what it was
asked to do does not match the account, or when Tiger refuses the credentials — and nothing is
sent, and no secret is printed."""

from __future__ import annotations

import pytest

from tests.live.conftest import ACCOUNT, TIGER_ID

REAL_ACCOUNT = "8765432"  # 7 digits: not a paper account by tigeropen's rule


@pytest.fixture
def live_env(gateway, client_keys, server_keys, tmp_path, monkeypatch):
    """The environment of `qlab live` against ``gateway``; returns a function that runs the
    command with extra variables and arguments."""
    from typer.testing import CliRunner

    from qlab.cli import app

    key = tmp_path / "key.pem"
    key.write_text(client_keys.private_pem)
    pub = tmp_path / "gw.pub"
    pub.write_text(server_keys.public_b64)
    base = {"QLAB_TIGER__TIGER_ID": TIGER_ID, "QLAB_TIGER__ACCOUNT": ACCOUNT,
            "QLAB_TIGER__PRIVATE_KEY_PATH": str(key), "QLAB_TIGER__SERVER_URL": gateway.url,
            "QLAB_TIGER__QUOTE_SERVER_URL": gateway.url,
            "QLAB_EXECUTION__JOURNAL_PATH": str(tmp_path / "j"),
            "QLAB_TRACKING__MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/ml/mlflow.db"}

    def run(*args: str, **env: str):
        for k, v in {**base, **env}.items():
            monkeypatch.setenv(k, v)
        return CliRunner().invoke(app, ["live", *args, "--tiger-public-key-file", str(pub)])

    return run


def test_paper_flag_with_a_real_account_is_refused_before_anything_is_sent(live_env, gateway):
    res = live_env("--paper", QLAB_TIGER__ACCOUNT=REAL_ACCOUNT, QLAB_TIGER__PAPER="true")
    assert res.exit_code == 1
    assert "is not a Tiger paper account" in res.output
    assert "Traceback" not in res.output and REAL_ACCOUNT not in res.output
    assert gateway.requests == []


def test_a_live_run_with_a_paper_account_is_refused(live_env, gateway):
    res = live_env(QLAB_TIGER__ACCOUNT=ACCOUNT, QLAB_TIGER__PAPER="false")
    assert res.exit_code == 1
    assert "is a Tiger paper account" in res.output and "--paper" in res.output
    assert ACCOUNT not in res.output
    assert gateway.requests == []


def test_paper_account_rule_is_tigeropens():
    from tigeropen.common.util.account_util import AccountUtil

    from live.tiger.config import is_paper_account

    for account in (ACCOUNT, REAL_ACCOUNT, "U1234567890123456789", "2019000000000090"):
        assert is_paper_account(account) == bool(AccountUtil.is_paper_account(account))
    assert is_paper_account(ACCOUNT) and not is_paper_account(REAL_ACCOUNT)
