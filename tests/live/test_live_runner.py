"""The live entry point end to end against the loopback gateway (real tigeropen client)."""

from __future__ import annotations

import json
import re
import urllib.request

import pandas as pd
import pytest
import yaml

from research.config import RunConfig

DAY = pd.Timestamp("2024-03-05")
SYMBOLS = ["AAPL", "KO", "XOM"]
PRICES = {"AAPL": 170.0, "KO": 60.0, "XOM": 105.0}


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.tz_localize("America/New_York").value // 1_000_000)


def script_market(gw, n_minutes: int = 12) -> None:
    from research.data.calendar import sessions

    days = sessions(DAY - pd.Timedelta(days=120), DAY - pd.Timedelta(days=1)).index
    for k, sym in enumerate(SYMBOLS):
        p0 = PRICES[sym]
        daily = [{"time": _ms(d), "open": p0, "high": p0 * 1.01, "low": p0 * 0.99,
                  "close": p0 * (1 + 0.01 * ((i * (k + 2)) % 5 - 2) / 2), "volume": 1e6}
                 for i, d in enumerate(days)]
        gw.set_bars(sym, "day", daily)
        minutes = [{"time": _ms(DAY + pd.Timedelta(hours=9, minutes=30 + i)), "open": p0,
                    "high": p0 + 0.05, "low": p0 - 0.05, "close": p0, "volume": 50_000.0}
                   for i in range(n_minutes)]
        gw.set_bars(sym, "1min", minutes)
        gw.set_price(sym, p0)


def run_config(**strategy) -> RunConfig:
    return RunConfig(
        name="livetest",
        universe={"symbols": SYMBOLS},
        strategy={"kind": "equal_weight", "rebalance": "daily", "lookback_days": 20,
                  "capital": 1e6, **strategy},
        execution={"algorithm": "twap", "horizon_minutes": 4},
        # 1/3 each, fully invested: 5% of gross and net room, or the pre-trade check (which
        # counts the other names' working orders) trims the last buy by the prices' drift
        risk={"max_position_weight": 0.4, "max_sector_weight": 0.5, "var_budget": 0.5,
              "max_gross_exposure": 1.05, "max_net_exposure": 1.05},
    )


def make_runner(gw, settings, server_keys, *, dry=False, run_id="r1", kill_file=None,
                stream=None, **runner_kw):
    from live.monitoring import make_logger
    from live.runner import LiveRunner
    from live.safety import DryRunBroker, KillSwitch
    from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter, TigerBroker, TigerSession
    from live.tiger.bars import TigerBarSource

    # the feed replays a session's minute bars in milliseconds, not minutes: Tiger's per-minute
    # budgets are scaled by the same compression (60x) so pacing does not dominate the test
    fast = RateLimiter(120 * 60, limits={k: v * 60 for k, v in TIGER_LIMITS_PER_MINUTE.items()})
    session = TigerSession(settings.tiger, tiger_public_key=server_keys.public_b64,
                           max_wait_s=0.5, limiter=fast)
    broker = TigerBroker(session)
    daily = TigerBarSource(session, "daily").load(SYMBOLS, start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    closes = daily.pivot(index="timestamp", columns="symbol", values="close")
    closes.index = closes.index.tz_localize(None).normalize()
    log = make_logger(run_id, secrets=[settings.tiger.private_key.get_secret_value()],
                      stream=stream)
    runner = LiveRunner(run_config(), settings, DryRunBroker(broker) if dry else broker, closes,
                        run_id=run_id, journal_dir=settings.execution.journal_path,
                        mode="dry-run" if dry else "paper", kill_switch=KillSwitch(kill_file),
                        logger=log, **runner_kw)
    return runner, session


def minute_feed(session, since=DAY):
    from live.feed import TigerBarFeed
    from live.tiger.bars import TigerBarSource

    return TigerBarFeed(TigerBarSource(session, "minute"), tuple(SYMBOLS), idle_polls=1,
                        poll_s=0.0, since=since)


def test_live_dry_run_cli_trades_nothing(gateway, client_keys, server_keys, tmp_path,
                                         monkeypatch):
    from typer.testing import CliRunner

    from qlab.cli import app

    script_market(gateway)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(run_config().model_dump(mode="json")))
    key = tmp_path / "key.pem"
    key.write_text(client_keys.private_pem)
    pub = tmp_path / "gw.pub"
    pub.write_text(server_keys.public_b64)
    env = {"QLAB_TIGER__TIGER_ID": "20150001", "QLAB_TIGER__ACCOUNT": "20190000000000900",
           "QLAB_TIGER__PRIVATE_KEY_PATH": str(key), "QLAB_TIGER__SERVER_URL": gateway.url,
           "QLAB_TIGER__QUOTE_SERVER_URL": gateway.url,
           "QLAB_EXECUTION__JOURNAL_PATH": str(tmp_path / "j")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    res = CliRunner().invoke(app, ["live", "--dry-run", "--config", str(cfg), "--bars", "3",
                                   "--since", "2024-03-05", "--idle-polls", "1",
                                   "--tiger-public-key-file", str(pub)])
    assert res.exit_code == 0, res.output
    assert "3 bar(s) processed" in res.output
    assert gateway.calls("place_order") == 0  # dry run: decided, sent nothing
    assert gateway.calls("kline") >= 2


def test_live_refuses_a_config_file_outside_dry_run(settings):
    from live.main import LiveStartError, run_live

    with pytest.raises(LiveStartError, match="only allowed with --dry-run"):
        run_live(paper=True, config_path="run.yaml", settings=settings)


def test_live_dry_run_decides_twap_children_without_sending(gateway, settings, server_keys):
    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys, dry=True)
    assert runner.run(minute_feed(session), max_bars=3) == 3
    e = runner.engine
    # equal weight of $1m over 3 names at the previous close: rint(1e6/3/close) shares each
    assert sorted(p.parent.symbol for p in e.parents.values()) == SYMBOLS
    assert e.stats.submits >= 3
    assert gateway.calls("place_order") == 0


def test_live_restart_mid_parent_resumes_without_duplicate_orders(gateway, settings,
                                                                  server_keys):
    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys)
    runner.run(minute_feed(session), max_bars=2)
    placed = gateway.calls("place_order")
    marks = [o.user_mark for o in gateway.orders.values()]
    assert placed >= 3 and len(marks) == len(set(marks))
    parents_before = {pid: ps.parent.quantity for pid, ps in runner.engine.parents.items()}
    # a new process: same run id and journal; the feed replays the day from its first bar
    runner2, session2 = make_runner(gateway, settings, server_keys)
    runner2.run(minute_feed(session2), max_bars=10)
    marks = [o.user_mark for o in gateway.orders.values()]
    assert len(marks) == len(set(marks)), "a client order id reached Tiger twice"
    assert {pid: ps.parent.quantity for pid, ps in runner2.engine.parents.items()} \
        == parents_before  # no second rebalance decision on the same session
    for pid, ps in runner2.engine.parents.items():  # the parents finished their work
        assert ps.filled == ps.parent.quantity, pid
    held = {s: int(p[0]) for s, p in gateway.positions.items()}
    assert held == {p.symbol: p.quantity for p in (ps.parent for ps in
                                                   runner2.engine.parents.values())}


def test_one_throttled_report_poll_does_not_stop_the_run(gateway, settings, server_keys):
    from live.tiger.testing import Fault

    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys)

    def feed():  # Tiger throttles the poll of the second bar, after start-up
        for snap in minute_feed(session):
            if snap.bar_index == 1:
                polls_before.append(gateway.calls("active_orders"))
                # Tiger's own throttle (code 4): the session then refuses active_orders for
                # its 10 s cool-down, longer than the engine's retries of the poll
                gateway.fail_next("active_orders", Fault("code", code=4, message=(
                    "rate limit error(current limiting interface:active_orders, up to 120 "
                    "times per minute)")))
            yield snap

    polls_before: list[int] = []
    assert runner.run(feed(), max_bars=4) == 4
    # one throttled poll, then none sent inside the cool-down: no hammering, no crash
    assert gateway.calls("active_orders") == polls_before[0] + 1
    assert gateway.calls("place_order") == 12  # trading went on: 3 TWAP children a bar


def test_a_fractional_holding_outside_the_universe_is_ignored(gateway, settings, server_keys):
    import io

    script_market(gateway)
    gateway.set_position("NVDA", 0.00773, 129.45, scale=5)  # as Tiger sends it
    gateway.set_position("KO", 100, 59.0)
    out = io.StringIO()
    runner, session = make_runner(gateway, settings, server_keys, stream=out)
    assert runner.run(minute_feed(session), max_bars=1) == 1
    assert json.loads(runner.start_state_path.read_text())["positions"] == {"KO": 100}
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()
               if "fractional_positions_ignored" in x]
    assert line["positions"] == {"NVDA": 0.00773} and line["level"] == "warning"


def test_a_fractional_holding_in_the_universe_refuses_the_start(gateway, settings, server_keys):
    from research.execution import ReconciliationError

    script_market(gateway)
    gateway.set_position("KO", 10.5, 59.0, scale=1)
    runner, _ = make_runner(gateway, settings, server_keys)
    with pytest.raises(ReconciliationError, match=r"holds 10\.5 shares of KO, a fractional"):
        runner.start()
    assert gateway.calls("place_order") == 0


def test_paced_fill_queries_are_not_read_as_broker_latency(gateway, settings, server_keys):
    from live.tiger import WallClockBucket

    script_market(gateway)
    # a 200 ms latency limit, and order_transactions paced at 4 a second from a burst of 1:
    # a bar's fills (3 symbols, 3 queries) wait ~0.5 s for tokens, on a gateway that answers
    # in milliseconds. The engine must not reduce trading for the adapter's own queue.
    strict = settings.model_copy(update={"execution": settings.execution.model_copy(
        update={"breaker_max_broker_latency_ms": 200.0})})
    runner, session = make_runner(gateway, strict, server_keys)
    session.limiter.set_bucket("order_transactions", WallClockBucket(4.0, 1))
    assert runner.run(minute_feed(session), max_bars=3) == 3
    assert runner.engine.stats.fills == 6 and gateway.calls("order_transactions") == 6
    assert runner.engine.trading_state.value == "active", runner.engine.system_breaker.reason
    paced = runner.metrics.broker_pacing.labels(method="fills")._value.get()
    assert paced > 0.3  # the waits are counted, apart from the latency


def test_live_refuses_to_start_on_a_foreign_open_order(gateway, settings, server_keys):
    from research.execution import ReconciliationError

    script_market(gateway)
    gateway.fill_on_place = False
    runner, session = make_runner(gateway, settings, server_keys)
    from tigeropen.common.util.contract_utils import stock_contract
    from tigeropen.common.util.order_utils import limit_order

    o = limit_order(session.account, stock_contract("KO", currency="USD"), "BUY", 10, 1.0)
    session.trade.place_order(o)  # placed by someone else: the journal cannot explain it
    with pytest.raises(ReconciliationError, match="does not know"):
        runner.start()
    assert gateway.calls("place_order") == 1


def test_live_kill_file_halts_and_cancels_open_orders(gateway, settings, server_keys,
                                                      tmp_path):
    script_market(gateway)
    for s in SYMBOLS:  # nothing fills: the children stay open at Tiger
        gateway.prices.pop(s)
    kill = tmp_path / "KILL"
    runner, session = make_runner(gateway, settings, server_keys, kill_file=kill)
    feed = iter(minute_feed(session))
    runner.start()
    runner.on_bar(next(feed))
    open_at_tiger = [o for o in gateway.orders.values() if o.is_open]
    assert len(open_at_tiger) == 3
    kill.write_text("stop")
    assert runner.run(feed) == 0
    assert runner.engine.trading_state.value == "halted"
    assert gateway.calls("cancel_order") == 3
    assert all(not o.is_open for o in gateway.orders.values())
    assert runner.metrics.kill_switch._value.get() == 1.0


def test_live_metrics_and_status_endpoints_answer_on_loopback(gateway, settings, server_keys):
    from live.monitoring import StatusEndpoint

    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys)
    runner.run(minute_feed(session), max_bars=3)
    server, _ = runner.metrics.serve(0)
    ep = StatusEndpoint(runner.status).start()
    try:
        assert server.server_address[0] == "127.0.0.1"
        port = server.server_address[1]
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        text = text.decode()
        m = re.search(r'qlab_orders_submitted_total\{order_type="market",side="buy"\} (\S+)',
                      text)
        assert m and float(m.group(1)) == runner.engine.stats.submits
        assert 'qlab_trading_state{state="ACTIVE"} 1.0' in text
        assert "qlab_broker_request_duration_seconds_bucket" in text
        assert ep.url.startswith("http://127.0.0.1:")
        status = json.loads(urllib.request.urlopen(ep.url + "/status", timeout=5).read())
        assert status["state"]["trading_state"] == "active"
        # the engine's book: fills it has ingested (the last bar's fills arrive next bar)
        book: dict[str, int] = {}
        for c in runner.engine.children.values():
            book[c.symbol] = book.get(c.symbol, 0) + c.filled_quantity
        assert status["positions"] == {k: v for k, v in book.items() if v}
        assert len(status["positions"]) == 3
        assert status["risk"]["nav"] > 0
        only = json.loads(urllib.request.urlopen(ep.url + "/orders", timeout=5).read())
        assert set(only) == {"orders"}
        req = urllib.request.Request(ep.url + "/status", method="POST", data=b"{}")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 405
    finally:
        server.shutdown()
        ep.stop()


def test_a_run_across_sessions_decides_the_next_on_the_closes_it_saw(gateway, settings,
                                                                     server_keys):
    """The daily closes are loaded once at start; a process still running the next day must
    add the session it traded (its last prices) before deciding on the next one."""
    import numpy as np

    from research.execution.model import MarketSnapshot

    script_market(gateway)
    runner, _ = make_runner(gateway, settings, server_keys, dry=True)
    runner.start()
    n = len(SYMBOLS)

    def snap(i, ts, last):
        c = np.array(last, dtype=float)
        return MarketSnapshot(i, ts.tz_localize("America/New_York").to_pydatetime(),
                              tuple(SYMBOLS), c, c * 1.001, c * 0.999, c, np.full(n, 5e4),
                              c - 0.01, c + 0.01)

    day2 = pd.Timestamp("2024-03-06")
    runner.on_bar(snap(0, DAY + pd.Timedelta(hours=15, minutes=59), [171.0, 61.0, 106.0]))
    assert DAY not in runner.closes.index
    # the session's last bar (15:59-16:00, stamped at its close): the session is closed and
    # the next one prepared right after it, so the next open's first bar finds the refit done
    runner.on_bar(snap(1, DAY + pd.Timedelta(hours=16),
                       [172.0, np.nan, 107.0]))  # KO did not trade in the last minute
    assert runner.closes.index[-1] == DAY
    assert runner.closes.loc[DAY].tolist() == [172.0, 61.0, 107.0]
    assert day2 in runner._session
    prepared = runner.prepare_session(day2)
    runner.on_bar(snap(2, day2 + pd.Timedelta(hours=9, minutes=31), [173.0, 62.0, 108.0]))
    weights, price, nav = runner.prepare_session(day2)
    assert price.tolist() == [172.0, 61.0, 107.0]  # day 2 is decided on day 1's closes
    assert runner.prepare_session(day2)[0] is prepared[0]  # not refitted on its first bar
    runner.shutdown()


def _snap(i, ts, last):
    import numpy as np

    from research.execution.model import MarketSnapshot

    c = np.array(last, dtype=float)
    n = len(c)
    if ts.tzinfo is None:
        ts = ts.tz_localize("America/New_York")
    return MarketSnapshot(i, ts.to_pydatetime(), tuple(SYMBOLS), c, c * 1.001, c * 0.999, c,
                          np.full(n, 5e4), c - 0.01, c + 0.01)


def test_a_symbol_without_a_bar_all_session_keeps_its_previous_close(gateway, settings,
                                                                     server_keys):
    script_market(gateway)
    runner, _ = make_runner(gateway, settings, server_keys, dry=True)
    runner.start()
    previous = runner.closes.iloc[-1]["KO"]
    # KO has no price on the rebalance bar: its parent waits instead of stopping the run
    runner.on_bar(_snap(0, DAY + pd.Timedelta(hours=15, minutes=59), [171.0, float("nan"),
                                                                       106.0]))
    assert [p.symbol for p in runner._deferred] == ["KO"]
    assert sorted(p.parent.symbol for p in runner.engine.parents.values()) == ["AAPL", "XOM"]
    runner.on_bar(_snap(1, DAY + pd.Timedelta(hours=16), [172.0, float("nan"),
                                                                107.0]))
    assert runner.closes.loc[DAY].tolist() == [172.0, previous, 107.0]  # not NaN: not sold
    runner.shutdown()


def test_preparing_the_next_session_never_breaks_the_last_bar(gateway, settings, server_keys,
                                                              monkeypatch):
    import io

    script_market(gateway)
    stream = io.StringIO()
    runner, _ = make_runner(gateway, settings, server_keys, dry=True, stream=stream)
    runner.start()
    runner.on_bar(_snap(0, DAY + pd.Timedelta(hours=15, minutes=59), [171.0, 61.0, 106.0]))
    real = runner.prepare_session

    def failing(day):
        if day > DAY:
            raise ConnectionError("Tiger unreachable")
        return real(day)

    monkeypatch.setattr(runner, "prepare_session", failing)
    runner.on_bar(_snap(1, DAY + pd.Timedelta(hours=16), [172.0, 61.0, 107.0]))
    assert "next_session_not_prepared" in stream.getvalue()
    assert runner.closes.index[-1] == DAY
    runner.shutdown()


def test_the_run_is_on_disk_before_any_order(gateway, settings, server_keys):
    script_market(gateway)
    runner, _ = make_runner(gateway, settings, server_keys)
    runner.start()
    wal = runner.journal_path.with_name(runner.journal_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed into the database
    runner.shutdown()


def test_fills_reach_the_risk_managers_book_once(gateway, settings, server_keys):
    """Pre-trade checks of later children see the position earlier fills built: each fill
    is booked once, after the refit that already holds everything filled before it."""
    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys)
    runner.run(minute_feed(session), max_bars=6)
    nav = runner.risk.nav  # marked to market at the last bar
    book = dict(zip(runner.risk.symbols, runner.risk.snapshot().weights, strict=True))
    for sym in SYMBOLS:
        shares = sum(c.filled_quantity * (1 if c.side.value == "buy" else -1)
                     for c in runner.engine.children.values() if c.symbol == sym)
        assert shares > 0
        # every filled share in the book once, valued at the last bar's price (the script's
        # bars close at PRICES), as a fraction of the marked NAV
        assert book[sym] == pytest.approx(shares * PRICES[sym] / nav, rel=1e-9)


def test_a_restart_on_a_later_day_trades_that_day(gateway, settings, server_keys):
    """The feed numbers its bars from 0 in every process: a run restarted the next day (same
    run id, same journal) must trade the new day's bars, not skip as many of them as the
    journal holds, and must skip by time the bars it did process."""
    script_market(gateway)
    day2 = pd.Timestamp("2024-03-06")
    runner, _ = make_runner(gateway, settings, server_keys)
    first = [_snap(i, DAY + pd.Timedelta(hours=9, minutes=31 + i), [171.0, 61.0, 106.0])
             for i in range(5)]
    assert runner.run(first) == 5
    again, _ = make_runner(gateway, settings, server_keys)
    second = [_snap(i, day2 + pd.Timedelta(hours=9, minutes=31 + i), [172.0, 62.0, 107.0])
              for i in range(3)]
    assert again.run(first + second) == 3  # day 1 by time: skipped; day 2: traded
    assert again.engine.last_bar_done == 7
    assert {d["session"] for d in again.decisions} == {"2024-03-06"}
    assert any(pid.startswith("livetest-20240306-") for pid in again.engine.parents)


def test_in_real_time_catch_up_bars_trade_on_their_stamps_then_a_lagging_feed_halts(
        gateway, settings, server_keys):
    """A restart at 10:31 replays the session's bars since the open: each is older than the
    staleness limit, yet they are the feed catching up, not a feed falling behind — they
    run on their own stamps (no halt, the rebalance's parents work). Once a bar arrives on
    time the engine's clock is the wall clock, and a bar 10 minutes late halts trading."""
    from research.execution import TradingState

    script_market(gateway, n_minutes=8)
    open_ = DAY.tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
    seen = []

    def clock():  # Unix seconds: 10:31 for the first 3 bars, then 2 s after each close,
        bar = runner._bar_time  # then 10 minutes late from the 6th bar on
        k = -1 if bar is None else int((pd.Timestamp(bar) - open_) / pd.Timedelta(minutes=1))
        if bar is None or k <= 3:
            return (open_ + pd.Timedelta(minutes=61)).timestamp()
        return pd.Timestamp(bar).timestamp() + (2.0 if k <= 5 else 600.0)

    def state_after(snap):
        seen.append(runner.engine.trading_state)

    runner, session = make_runner(gateway, settings, server_keys, dry=True, real_time=True,
                                  clock=clock)
    runner.on_bar_done = lambda snap, f=runner.on_bar_done: (f(snap), state_after(snap))
    runner.run(minute_feed(session), max_bars=7)
    assert seen[:5] == [TradingState.ACTIVE] * 5  # catch-up, then on time
    assert runner.engine.stats.submits >= 3
    assert seen[-1] is TradingState.HALTED
    assert "market data is 600s old" in runner.engine.system_breaker.reason


def test_a_restart_mid_session_marks_tigers_nav_and_the_sessions_opening_loss(
        gateway, settings, server_keys, monkeypatch):
    """The account holds KO overnight; the first process, started before the open, rebalances
    at 09:31 and stops at 09:38. Prices move; a new process starts at 10:05:30 and catches up
    on the bars since 09:38. Tiger's NAV is marked at the prices of now, so on the catch-up
    bars the book is marked at that NAV (not at the old bars' prices, nor with the day's move
    counted again from the previous close); from the first bar on time, at each bar's prices.
    The day's loss is measured against the session's opening NAV — the first process's — and
    the log says what it was rebuilt from."""
    import io
    import time

    import live.tiger.testing.gateway as fake_tiger

    script_market(gateway)
    open_ = DAY.tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
    restart = open_ + pd.Timedelta(minutes=35, seconds=30)
    # Tiger's clock and the client's run in the session: the executions are stamped on DAY
    # (the opening NAV is rebuilt from the session's fills) and the client asks for those
    shift = time.time() - (open_ + pd.Timedelta(minutes=1)).timestamp()
    monkeypatch.setattr(fake_tiger, "_now_ms", lambda: int((time.time() - shift) * 1000))
    gateway.set_position("KO", 1000, 58.0)
    wall = {"before_bars": open_ - pd.Timedelta(minutes=30)}

    def clock():  # Unix seconds: "before_bars" until a bar arrives, then 2 s after its close
        bar = runner._bar_time
        now = wall["before_bars"] if bar is None else max(
            wall["before_bars"], pd.Timestamp(bar) + pd.Timedelta(seconds=2))
        return now.timestamp()

    def minute(k, prices):
        return _snap(k, open_ + pd.Timedelta(minutes=k + 1), [prices[s] for s in SYMBOLS])

    runner, session = make_runner(gateway, settings, server_keys, real_time=True, clock=clock)
    session.clock = lambda: time.time() - shift
    previous = runner.closes.iloc[-1].to_dict()
    for s in SYMBOLS:  # before the open Tiger marks the account at the previous close
        gateway.set_price(s, previous[s], match=False)
    runner.start()
    runner.prepare_session(DAY)
    opening_nav = runner.risk.day_start_nav
    assert opening_nav == pytest.approx(gateway.net_liquidation(), rel=1e-12)
    for s in SYMBOLS:
        gateway.set_price(s, PRICES[s])
    assert runner.run([minute(k, PRICES) for k in range(8)]) == 8  # 09:31 to 09:38
    assert all(ps.filled == ps.parent.quantity for ps in runner.engine.parents.values())
    assert runner.risk.nav == pytest.approx(gateway.net_liquidation(), rel=1e-9)

    later = {"AAPL": 176.0, "KO": 57.5, "XOM": 109.0}  # Tiger's prices from the restart on
    for s in SYMBOLS:
        gateway.set_price(s, later[s])
    stream = io.StringIO()
    wall["before_bars"] = restart
    runner, session = make_runner(gateway, settings, server_keys, real_time=True, clock=clock,
                                  stream=stream)
    session.clock = lambda: time.time() - shift
    runner.start()
    runner.prepare_session(DAY)  # as `qlab live` does, at 10:05:30
    marks = []
    runner.on_bar_done = lambda snap, f=runner.on_bar_done: (f(snap), marks.append(
        (snap.timestamp, runner._caught_up, runner.risk.nav, runner.risk.day_start_nav)))
    ramp = [{s: PRICES[s] + (later[s] - PRICES[s]) * (k - 7) / 26 for s in SYMBOLS}
            for k in range(8, 34)]  # 09:39 to 10:04, the last one at Tiger's marks
    assert runner.run([minute(k, PRICES) for k in range(8)]
                      + [minute(k, p) for k, p in zip(range(8, 34), ramp, strict=True)]
                      + [minute(k, later) for k in range(34, 37)]) == 29
    nav = gateway.net_liquidation()
    caught_up = [m for m in marks if m[1]]
    assert len(caught_up) == 4 and caught_up[0][0].minute == 4  # 10:03: 150 s old
    assert [m[2] for m in marks] == pytest.approx([nav] * len(marks), rel=1e-9)
    # the opening NAV rests on the catch-up bars' prices until a bar is at Tiger's marks
    assert [m[3] for m in caught_up] == pytest.approx([opening_nav] * 4, rel=1e-9)
    log = stream.getvalue()
    assert "session_prepared_after_open" in log and "opening_nav_rebuilt" in log
    runner.shutdown()
