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


@pytest.fixture
def dry_run(live_env, gateway, tmp_path):
    """`qlab live --dry-run` of the runner tests' config over their scripted market: it
    connects to Tiger as paper and live do (credentials, account, bars), and sends nothing."""
    import yaml

    from tests.live.test_live_runner import run_config, script_market

    script_market(gateway)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(run_config().model_dump(mode="json")))

    def run(**env: str):
        return live_env("--dry-run", "--config", str(cfg), "--bars", "1", "--since",
                        "2024-03-05", "--idle-polls", "1", **env)

    return run


def _assert_one_clean_line(res, *secrets: str) -> str:
    assert res.exit_code == 1
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    (line,) = [x for x in res.output.splitlines() if x.startswith("qlab live:")]
    for secret in secrets:
        assert secret not in res.output
    return line


def _key_lines(pem: str) -> list[str]:
    return [x for x in pem.splitlines() if not x.startswith("-----")]


def test_a_key_tiger_does_not_know_is_one_clear_line(dry_run, tmp_path, server_keys,
                                                      client_keys):
    # a well-formed key, but not the one registered for this tiger_id: Tiger's code 1000
    (tmp_path / "key.pem").write_text(server_keys.private_pem)
    res = dry_run()
    line = _assert_one_clean_line(res, ACCOUNT, *_key_lines(server_keys.private_pem))
    assert "Tiger refused the credentials (code 1000)" in line
    assert "QLAB_TIGER__TIGER_ID" in line and "private key" in line


def test_an_unknown_tiger_id_is_one_clear_line(dry_run, client_keys):
    res = dry_run(QLAB_TIGER__TIGER_ID="20159999")
    line = _assert_one_clean_line(res, ACCOUNT, *_key_lines(client_keys.private_pem))
    assert "Tiger refused the credentials (code 1000)" in line
    assert "developer information" in line


def test_an_account_tiger_does_not_authorise_is_one_clear_line(dry_run, gateway,
                                                               client_keys):
    other = "20190000000000901"  # a paper account, but not this tiger_id's
    res = dry_run(QLAB_TIGER__ACCOUNT=other)
    line = _assert_one_clean_line(res, other, *_key_lines(client_keys.private_pem))
    assert "Tiger refused the request (code 1010)" in line
    assert "QLAB_TIGER__ACCOUNT" in line and "<redacted>" in line
    assert gateway.calls("place_order") == 0
