"""`qlab data fetch --source tiger` end to end: the real `qlab` app (typer's CliRunner), the real
tigeropen client, the loopback gateway, and a Parquet store in a temporary folder."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.live.conftest import ACCOUNT, TIGER_ID

# 2022-06-01 (Wed) .. 2022-06-03 (Fri): three sessions; the gateway also holds the sessions
# around them so that the date range is seen to be applied.
DAYS = ["2022-05-31", "2022-06-01", "2022-06-02", "2022-06-03", "2022-06-06"]


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").value // 1_000_000)


def _daily(base: float) -> list[dict]:
    return [{"time": _ms(d), "open": base + i, "high": base + i + 2, "low": base + i - 1,
             "close": base + i + 1, "volume": 1e6 + i} for i, d in enumerate(DAYS)]


@pytest.fixture
def fetch_env(gateway, client_keys, server_keys, tmp_path, monkeypatch):
    """Settings pointing at the gateway through QLAB_* variables, as a user would set them."""
    key = tmp_path / "tiger_key.pem"
    key.write_text(client_keys.private_pem)
    pub = tmp_path / "gateway.pub"
    pub.write_text(server_keys.public_b64)
    env = {"QLAB_DATA__STORE_PATH": str(tmp_path / "store"),
           "QLAB_TIGER__TIGER_ID": TIGER_ID, "QLAB_TIGER__ACCOUNT": ACCOUNT,
           "QLAB_TIGER__PRIVATE_KEY_PATH": str(key), "QLAB_TIGER__SERVER_URL": gateway.url,
           "QLAB_TIGER__QUOTE_SERVER_URL": gateway.url, "QLAB_TIGER__TIMEOUT_S": "3"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    gateway.set_bars("AAPL", "day", _daily(150.0))
    gateway.set_bars("MSFT", "day", _daily(250.0))
    return {"store": tmp_path / "store", "key": key, "pub": pub}


def _fetch(fetch_env, *args: str, public_key: bool = True):
    from typer.testing import CliRunner

    from qlab.cli import app

    argv = ["data", "fetch", *args]
    if public_key:
        argv += ["--tiger-public-key-file", str(fetch_env["pub"])]
    return CliRunner().invoke(app, argv)


def _assert_no_secret(text: str, client_keys) -> None:
    body = "".join(client_keys.private_pem.splitlines()[1:-1])
    assert body[:64] not in text and body[-64:] not in text and ACCOUNT not in text


def test_fetch_writes_validated_daily_bars_to_the_store(gateway, fetch_env, client_keys):
    from research.data import BarStore, validate_bars

    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "aapl, MSFT,AAPL",
                 "--start", "2022-06-01", "--end", "2022-06-03", "--name", "tiger_june",
                 "--adjust", "nr")
    assert res.exit_code == 0, res.output
    assert ("fetched 6 rows, 2 symbol(s) from Tiger as dataset 'tiger_june' (daily, "
            "2022-06-01T16:00:00-04:00 .. 2022-06-03T16:00:00-04:00)") in res.output
    _assert_no_secret(res.output, client_keys)

    store = BarStore(fetch_env["store"])
    info = store.info("tiger_june")
    assert info.symbols == ["AAPL", "MSFT"] and not info.synthetic
    assert info.source == "tiger kline daily raw (right=nr) 2022-06-01..2022-06-03"
    bars = store.read("tiger_june")
    assert validate_bars(bars, "daily").ok
    aapl = bars[bars["symbol"] == "AAPL"]
    # the gateway's 05-31 and 06-06 bars are outside the range asked for
    assert list(aapl["close"]) == [152.0, 153.0, 154.0]
    assert [t.strftime("%Y-%m-%d %H:%M") for t in aapl["timestamp"]] == [
        "2022-06-01 16:00", "2022-06-02 16:00", "2022-06-03 16:00"]
    assert list(bars.loc[bars["symbol"] == "MSFT", "close"]) == [252.0, 253.0, 254.0]
    # one k-line request per symbol (deduplicated), all daily and raw (as asked)
    kline = [biz for m, biz in gateway.requests if m == "kline"]
    assert [b["symbols"] for b in kline] == [["AAPL"], ["MSFT"]]
    assert {b["period"] for b in kline} == {"day"} and {b["right"] for b in kline} == {"nr"}

    # the dataset exists now: a second fetch refuses before spending any k-line budget
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03", "--name", "tiger_june")
    assert res.exit_code == 1 and "exists" in res.output and "--replace" in res.output
    assert gateway.calls("kline") == 2


def test_fetch_minute_bars_under_the_default_name(gateway, fetch_env):
    from research.data import BarStore

    items = [{"time": _ms(f"2022-06-02 09:{30 + i}"), "open": 100.0, "high": 100.5 + i,
              "low": 99.5, "close": 100.0 + i, "volume": 500.0} for i in range(4)]
    gateway.set_bars("JPM", "1min", items)
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "JPM", "--start", "2022-06-02",
                 "--end", "2022-06-02", "--frequency", "1min")
    assert res.exit_code == 0, res.output
    assert "fetched 4 rows, 1 symbol(s) from Tiger as dataset 'tiger_minute' (minute" \
        in res.output
    bars = BarStore(fetch_env["store"]).read("tiger_minute")
    assert [t.strftime("%H:%M") for t in bars["timestamp"]] == ["09:31", "09:32", "09:33",
                                                                "09:34"]
    assert list(bars["close"]) == [100.0, 101.0, 102.0, 103.0]
    kline = [biz for m, biz in gateway.requests if m == "kline"]
    assert {b["period"] for b in kline} == {"1min"} and {b["right"] for b in kline} == {"nr"}


def test_daily_bars_default_to_forward_adjusted_and_record_the_fetch_day(gateway, fetch_env):
    from datetime import date

    from research.data import BarStore

    before = date.today()
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")  # daily bars: forward-adjusted unless asked otherwise
    assert res.exit_code == 0, res.output
    assert {biz["right"] for m, biz in gateway.requests if m == "kline"} == {"br"}
    # forward-adjusted history changes with later splits/dividends: the fetch day is recorded
    assert BarStore(fetch_env["store"]).info("tiger_daily").source in {
        f"tiger kline daily forward-adjusted (right=br) as of {day.isoformat()} "
        "2022-06-01..2022-06-03" for day in (before, date.today())}  # midnight may pass


def test_adjust_values_are_tigeropens_quote_rights():
    from tigeropen.common.consts import QuoteRight

    assert {r.value for r in QuoteRight} == {"nr", "br"}


def test_bars_that_fail_validation_are_named_and_nothing_is_written(gateway, fetch_env):
    bad = _daily(50.0)
    bad[2]["high"] = bad[2]["low"] - 1.0  # 2022-06-02
    gateway.set_bars("JPM", "day", bad)
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL,JPM",
                 "--start", "2022-06-01", "--end", "2022-06-03")
    assert res.exit_code == 1
    assert "symbol JPM, at 2022-06-02T16:00:00-04:00" in res.output
    assert "nothing written" in res.output
    assert not fetch_env["store"].exists() or not any(fetch_env["store"].iterdir())


def test_unknown_symbols_are_named_and_nothing_is_written(gateway, fetch_env):
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL,NOPE,ZZZZ",
                 "--start", "2022-06-01", "--end", "2022-06-03")
    assert res.exit_code == 1
    assert "Tiger returned no daily bars for NOPE, ZZZZ between 2022-06-01 and 2022-06-03" \
        in res.output
    assert "unknown symbol" in res.output and "nothing written" in res.output
    assert not fetch_env["store"].exists() or not any(fetch_env["store"].iterdir())


def test_unknown_source_is_refused_before_anything_is_asked(gateway, fetch_env):
    res = _fetch(fetch_env, "--source", "yahoo", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 2
    assert "unknown source 'yahoo'; known sources: tiger" in res.output
    assert gateway.requests == []


def test_missing_credentials_name_the_environment_variables(gateway, fetch_env, monkeypatch):
    monkeypatch.delenv("QLAB_TIGER__TIGER_ID")
    monkeypatch.delenv("QLAB_TIGER__PRIVATE_KEY_PATH")
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 2
    assert ("Tiger credentials missing: set QLAB_TIGER__TIGER_ID, "
            "QLAB_TIGER__PRIVATE_KEY_PATH (or QLAB_TIGER__PRIVATE_KEY)") in res.output
    assert "QLAB_TIGER__ACCOUNT" in res.output  # the full list of what is needed
    assert ACCOUNT not in res.output
    assert gateway.requests == []


def test_a_mangled_key_names_the_setting_not_the_key(gateway, fetch_env, client_keys):
    pem = client_keys.private_pem.splitlines()
    fetch_env["key"].write_text("\n".join(pem[:3] + pem[5:]))  # two lines of the body lost
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 2
    assert "tiger.private_key_path" in res.output and "not a usable RSA private key" \
        in res.output
    _assert_no_secret(res.output, client_keys)
    assert gateway.requests == []


def test_a_key_tiger_does_not_know_is_a_clear_credential_error(gateway, fetch_env,
                                                                server_keys, client_keys):
    # a well-formed RSA key, but not the one registered for this tiger_id: Tiger's code 1000
    fetch_env["key"].write_text(server_keys.private_pem)
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 1
    assert "Tiger refused the credentials (code 1000)" in res.output
    assert "QLAB_TIGER__TIGER_ID" in res.output
    _assert_no_secret(res.output, client_keys)
    _assert_no_secret(res.output, server_keys)
    assert gateway.calls("kline") == 0


def test_tiger_error_codes_are_reported_with_the_code(gateway, fetch_env):
    from live.tiger.testing import Fault

    gateway.fail_next("kline", Fault("code", code=4000, message="permission denied"))
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 1
    assert "Tiger denied market data (code 4000)" in res.output

    gateway.fail_next("kline", Fault("code", code=1010, message="biz param error(symbol)"))
    res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", "--start", "2022-06-01",
                 "--end", "2022-06-03")
    assert res.exit_code == 1
    assert "Tiger rejected the k-line request for AAPL (code 1010)" in res.output
    assert "biz param error(symbol)" in res.output


def test_bad_dates_and_frequencies_are_refused(gateway, fetch_env):
    for args, message in [
        (["--start", "2022-06-03", "--end", "2022-06-01"], "--start 2022-06-03 is after --end"),
        (["--start", "June 1", "--end", "2022-06-03"], "--start must be a date YYYY-MM-DD"),
        (["--start", "2022-06-01", "--end", "2022-06-03", "--frequency", "5min"],
         "--frequency must be 1d or 1min"),
        (["--start", "2022-06-01", "--end", "2022-06-03", "--adjust", "fr"],
         "--adjust must be nr (raw) or br (forward-adjusted)"),
    ]:
        res = _fetch(fetch_env, "--source", "tiger", "--symbols", "AAPL", *args)
        assert res.exit_code == 2 and message in res.output, res.output
    assert gateway.requests == []


# ------------------------------------------------------------------ rate limits (the source)
def _session(gateway, make_broker, cooldown_s: float):
    from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter

    # a throttle empties the k-line bucket; a generous budget keeps its refill (1 s at the
    # real 60/min) out of these tests, which measure the back-off itself
    limiter = RateLimiter(limits={**TIGER_LIMITS_PER_MINUTE, "kline": 600})
    return make_broker(gateway, rate_limit_cooldown_s=cooldown_s, limiter=limiter).session


class _FakeClock:
    """The rate limiter's clock: sleeping advances it at once and is recorded."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_throttled_kline_requests_back_off_and_are_re_asked(gateway, make_broker):
    from live.tiger import RateLimiter, TigerBarSource
    from live.tiger.testing import Fault

    gateway.set_bars("AAPL", "day", _daily(150.0))
    gateway.fail_next("kline", Fault("http", http_status=429))
    gateway.fail_next("kline", Fault("code", code=4, message="rate limit error(kline)"))
    fake = _FakeClock()
    session = make_broker(gateway, rate_limit_cooldown_s=10.0,
                          limiter=RateLimiter(clock=fake.clock, sleep=fake.sleep)).session
    bars = TigerBarSource(session, rate_limit_retries=3).load(["AAPL"], "2022-06-01",
                                                                "2022-06-03")
    assert list(bars["close"]) == [152.0, 153.0, 154.0]
    assert gateway.calls("kline") == 3  # two throttled, then the answer
    # silent for the session's cool-down after the first throttle, twice that after the second
    assert fake.slept == [10.0, 20.0]


def test_a_throttle_that_persists_reaches_the_caller(gateway, make_broker):
    from live.tiger import TigerBarSource
    from live.tiger.testing import Fault
    from research.execution.errors import RateLimited

    gateway.set_bars("AAPL", "day", _daily(150.0))
    gateway.fail_next("kline", Fault("http", http_status=429), times=3)
    session = _session(gateway, make_broker, cooldown_s=0.01)
    with pytest.raises(RateLimited):
        TigerBarSource(session, rate_limit_retries=2).load(["AAPL"], "2022-06-01", "2022-06-03")
    assert gateway.calls("kline") == 3
    # without retries (the live feed's default) the first throttle is the caller's to handle
    gateway.fail_next("kline", Fault("http", http_status=429))
    with pytest.raises(RateLimited):
        TigerBarSource(session).load(["AAPL"], "2022-06-01", "2022-06-03")
    assert gateway.calls("kline") == 4
