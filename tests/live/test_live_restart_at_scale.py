"""Issue 12 acceptance: a paper run of a full session with hundreds of filled children,
against a loopback gateway that enforces Tiger's published rate limits, restarts, reconciles
and resumes — with fills from ``order_transactions`` and, for accounts without it, from the
order records.

Time is compressed as in the other live tests, but on both sides: the gateway's 60 s window
lasts ``60 / SCALE`` real seconds and the client's limiter runs on a clock ``SCALE`` times
faster, so the client must pace within the same published limits the gateway enforces.
"""

from __future__ import annotations

import time
from collections import Counter

import pandas as pd
import pytest

from live.tiger.testing import Fault
from live.tiger.testing.gateway import RATE_LIMIT_MSG
from research.config import ExecutionSettings, RunConfig, Settings, TrackingSettings
from tests.live.conftest import tiger_settings
from tests.live.test_live_runner import DAY, SYMBOLS, minute_feed, script_market

SCALE = 30.0
SESSION_BARS = 390
HORIZON = 100  # TWAP over 100 minutes: about one child a minute per symbol
CRASH_AFTER = 80  # bars the first process trades before it dies


def run_config() -> RunConfig:
    return RunConfig(
        name="restart-at-scale",
        universe={"symbols": SYMBOLS},
        strategy={"kind": "equal_weight", "rebalance": "daily", "lookback_days": 20,
                  "capital": 1e6},
        execution={"algorithm": "twap", "horizon_minutes": HORIZON},
        # 1/3 each, fully invested: 5% of gross and net room, or the pre-trade check (which
        # counts the other names' working orders) trims the last buy by the prices' drift
        risk={"max_position_weight": 0.4, "max_sector_weight": 0.5, "var_budget": 0.5,
              "max_gross_exposure": 1.05, "max_net_exposure": 1.05},
    )


def new_process(gw, settings, server_keys):
    """What a (re)started paper process builds: its own session, limiter, broker, runner."""
    from live.runner import LiveRunner
    from live.tiger import RateLimiter, TigerBroker, TigerSession
    from live.tiger.bars import TigerBarSource

    limiter = RateLimiter(clock=lambda: time.monotonic() * SCALE,
                          sleep=lambda s: time.sleep(s / SCALE))
    session = TigerSession(settings.tiger, tiger_public_key=server_keys.public_b64,
                           limiter=limiter)  # the default wait for a token: 1 s
    broker = TigerBroker(session)
    daily = TigerBarSource(session, "daily").load(SYMBOLS, start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    closes = daily.pivot(index="timestamp", columns="symbol", values="close")
    closes.index = closes.index.tz_localize(None).normalize()
    runner = LiveRunner(run_config(), settings, broker, closes, run_id="day1",
                        journal_dir=settings.execution.journal_path, mode="paper")
    return runner, session, broker


def executions_at_tiger(gw) -> dict[str, tuple]:
    """user_mark -> (shares, notional $, commission $) as the gateway executed them."""
    return {o.user_mark: (o.filled, pytest.approx(o.filled * o.avg_price),
                          pytest.approx(o.commission))
            for o in gw.orders.values() if o.filled}


def executions_in_engine(engine) -> dict[str, tuple]:
    """client id -> (shares, notional $, fees $) as the engine booked its fills."""
    return {cid: (c.filled_quantity, c.filled_notional, c.fees)
            for cid, c in engine.children.items() if c.filled_quantity}


@pytest.mark.slow
@pytest.mark.parametrize("transactions_supported", [True, False],
                         ids=["order_transactions", "order_records"])
def test_restart_after_a_full_session_of_children_reconciles_and_resumes(
        make_gateway, client_keys, server_keys, tmp_path, transactions_supported):
    gw = make_gateway(transactions_supported=transactions_supported)
    script_market(gw, n_minutes=SESSION_BARS)
    gw.enforce_published_limits(time_scale=SCALE)
    settings = Settings(
        tiger=tiger_settings(gw.url, client_keys.private_pem),
        # the engine's retry backoff runs on the compressed clock too (defaults / SCALE):
        # otherwise each real-time backoff would hand the limiter a minute of fresh tokens
        execution=ExecutionSettings(journal_path=tmp_path / "journal",
                                    retry_initial_backoff_s=0.5 / SCALE,
                                    retry_max_backoff_s=30.0 / SCALE,
                                    retry_jitter_s=0.25 / SCALE),
        tracking=TrackingSettings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/ml/mlflow.db"),
    )

    # the first process trades 80 minutes, then dies: the children it placed on its last bar
    # filled at Tiger after its last journal write
    runner1, session1, _ = new_process(gw, settings, server_keys)
    assert runner1.run(minute_feed(session1), max_bars=CRASH_AFTER) == CRASH_AFTER
    journaled = set(executions_in_engine(runner1.engine))
    filled_at_tiger = executions_at_tiger(gw)
    assert len(filled_at_tiger) >= 200
    unjournaled = set(filled_at_tiger) - journaled
    assert unjournaled, "the crash should leave fills the journal never saw"

    # the restart: a new process reconciles every child with Tiger, pacing its queries; Tiger
    # throttles its first order query and its first transactions query (another client on
    # the account, say): waited out, not a failed restart
    gw.requests.clear()
    for method in ("orders", "order_transactions"):
        gw.fail_next(method, Fault("code", code=4, message=RATE_LIMIT_MSG.format(m=method,
                                                                                 n=60)))
    runner2, session2, broker2 = new_process(gw, settings, server_keys)
    t0 = time.monotonic()
    engine2 = runner2.start()
    reconcile_s = time.monotonic() - t0
    reconcile_calls = Counter(m for m, _ in gw.requests)
    # every execution Tiger made is in the engine's book: shares, notional and commission,
    # including the ones that happened after the first process's last journal write
    assert executions_in_engine(engine2) == filled_at_tiger
    assert engine2.stats.recovered_fills >= len(unjournaled)
    # batched: a handful of queries for hundreds of children, not one each
    assert reconcile_calls["order_transactions"] <= (6 if transactions_supported else 1) + 1
    assert reconcile_calls["orders"] <= 10 + 1
    expected_source = "order_transactions" if transactions_supported else "order_records"
    assert broker2.fill_source == expected_source

    # ... and resumes the session to its close: the parents finish, nothing is sent twice
    runner2.run(minute_feed(session2))
    marks = [o.user_mark for o in gw.orders.values()]
    assert len(marks) == len(set(marks)), "a client order id reached Tiger twice"
    for pid, ps in runner2.engine.parents.items():
        assert ps.filled == ps.parent.quantity, pid
    held = {s: int(p[0]) for s, p in gw.positions.items()}
    assert held == {ps.parent.symbol: ps.parent.quantity
                    for ps in runner2.engine.parents.values()}
    all_filled = executions_at_tiger(gw)
    assert len(all_filled) >= 250
    assert executions_in_engine(runner2.engine) == all_filled

    # a clean restart after the full session reconciles every child again, and sends nothing
    placed = len(gw.orders)
    runner3, _, _ = new_process(gw, settings, server_keys)
    gw.requests.clear()
    engine3 = runner3.start()
    clean_calls = Counter(m for m, _ in gw.requests)
    assert executions_in_engine(engine3) == all_filled
    assert engine3.stats.recovered_fills == 0  # the journal already had every fill
    runner3.shutdown()
    assert len(gw.orders) == placed and clean_calls["place_order"] == 0
    # paced within the published limits: the client's buckets hold them on its own clock;
    # the gateway counts arrivals, which scheduling jitter on a loaded machine can bunch by a
    # call or two (each one is waited out and re-sent, never dropped)
    assert len(gw.throttled) <= 2, Counter(gw.throttled)
    print(f"\n[{expected_source}] children filled: {len(filled_at_tiger)} at the crash, "
          f"{len(all_filled)} at the close; restart reconcile {reconcile_s:.2f} s real "
          f"(x{SCALE:g} = {reconcile_s * SCALE:.0f} s on the scaled clock), calls {dict(reconcile_calls)}; "
          f"clean restart calls {dict(clean_calls)}; gateway throttles {len(gw.throttled)} "
          f"{Counter(gw.throttled)}")


def test_order_records_refuse_a_restart_while_a_child_is_partly_filled_and_working(
        make_gateway, client_keys, server_keys, tmp_path):
    """Known limit of fills from order records: a working order's partial fills have no
    per-execution record, so they are booked when it finishes. A restart in between finds
    Tiger's position ahead of the journal and refuses to trade, naming the position, rather
    than guessing (cancel the order or let it finish, then restart)."""
    from research.execution import ReconciliationError

    gw = make_gateway(transactions_supported=False, fill_on_place=False)
    script_market(gw, n_minutes=3)
    settings = Settings(
        tiger=tiger_settings(gw.url, client_keys.private_pem),
        execution=ExecutionSettings(journal_path=tmp_path / "journal"),
        tracking=TrackingSettings(mlflow_tracking_uri=f"sqlite:///{tmp_path}/ml/mlflow.db"),
    )
    runner1, session1, _ = new_process(gw, settings, server_keys)
    runner1.run(minute_feed(session1), max_bars=1)
    (working,) = [o for o in gw.orders.values() if o.symbol == "KO"]
    gw.fill(working.id, 3, 60.01)  # partly filled, still working, after the last journal write
    runner2, _, broker2 = new_process(gw, settings, server_keys)
    with pytest.raises(ReconciliationError, match="position KO: broker 3 shares"):
        runner2.start()
    assert broker2.fill_source == "order_records"
    working.status = "Cancelled"  # the user cancels it in Tiger's app: the restart goes ahead
    runner3, _, _ = new_process(gw, settings, server_keys)
    engine3 = runner3.start()
    assert engine3.positions["KO"] == 3
    runner3.shutdown()
