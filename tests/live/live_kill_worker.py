"""Subprocess body of the live runner's SIGKILL test (not a test module: no test_ prefix).

One *life* runs (or resumes) the paper-mode live runner (the real tigeropen client, the real
engine, risk manager and journal) against the loopback Tiger gateway that the test process
serves, through one scripted session of minute bars. It kills itself with SIGKILL at a point
tied to its own progress, never to wall-clock time:

* ``intent:k``  entering this life's k-th place order: its intent is durable, nothing sent;
* ``submit:k``  right after Tiger accepted this life's k-th order (the gateway fills it at
                placement), before the engine journaled the answer: an intent without an
                outcome, and a fill only Tiger knows;
* ``report:k``  right after the broker adapter handed over this life's k-th order report
                (status and cumulative quantity), before the engine journaled it;
* ``fill:k``    right after the adapter fetched this life's k-th fill (transactions), before
                the engine journaled it.

Commands::

    live_kill_worker.py run WORKDIR GATEWAY_URL ENGINE [KIND:K]   one life in this process
    live_kill_worker.py campaign WORKDIR GATEWAY_URL ENGINE N     N lives killed at seeded
                                                                  points, then one to the end

WORKDIR holds ``key.pem`` (the client's private key) and ``gateway.pub`` (the gateway's public
key), written by the test; the journal goes to WORKDIR/journal. ``campaign`` forks every life
from one process (tests/kill_campaign.py): each life is a separate process, sharing nothing
with the next but the journal on disk and Tiger's state. Output: the ``KILLED`` and ``LIFE``
lines of tests/kill_campaign.py, and ``DONE`` when a life finished the session.

ENGINE: ``real`` or a broken variant of tests/broken_engines.py, put in place of the engine
class the runner builds (a test-only injection: production code has no switch for it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import SecretStr

import research.trading.loop
from live.feed import TigerBarFeed
from live.monitoring import make_logger
from live.runner import LiveRunner
from live.tiger import TIGER_LIMITS_PER_MINUTE, RateLimiter, TigerBroker, TigerSession
from live.tiger.bars import TigerBarSource
from research.config import (
    ExecutionSettings,
    RunConfig,
    Settings,
    TigerSettings,
    TrackingSettings,
)
from tests.broken_engines import ENGINES
from tests.kill_campaign import KillPoint
from tests.kill_campaign import campaign as run_campaign

# the session the test scripts on the gateway (tests/live/test_live_runner.py:script_market)
DAY = pd.Timestamp("2024-03-05")
SYMBOLS = ("AAPL", "KO", "XOM")
TIGER_ID, ACCOUNT = "20150001", "20190000000000900"  # as tests/live/conftest.py
RUN_ID = "kill-run"
HORIZON_MINUTES = 20

KILL_KINDS = ("intent", "submit", "report", "fill")
# three TWAP parents send ~3 children a bar for ~20 bars: a life killed within its first 15
# places covers up to five bars, so a campaign's kills spread over the parents' horizon. A
# restart's first poll reports (and fetches the fills of) every order it looked up, hence the
# wider range for those two. A kill can land in start-up itself (``fill`` during the
# reconciliation of a restart): printed as bar -1.
KILL_RANGE = {"intent": 15, "submit": 15, "report": 24, "fill": 24}


class KillableTigerBroker(TigerBroker):
    """The real Tiger adapter; reports places, order reports and fills to the kill point."""

    def __init__(self, session: TigerSession, kill_point: KillPoint):
        super().__init__(session)
        self.kill_point = kill_point

    def submit(self, order):
        self.kill_point.progress("intent")
        broker_order_id = super().submit(order)
        self.kill_point.progress("submit")
        return broker_order_id

    def poll_reports(self):
        reports = super().poll_reports()
        self.kill_point.progress("report", len(reports))
        return reports

    def fills(self, client_order_ids=None, since=None):
        found = super().fills(client_order_ids, since)
        self.kill_point.progress("fill", len(found))
        return found


def run_config() -> RunConfig:
    return RunConfig(
        name="killtest",
        universe={"symbols": list(SYMBOLS)},
        strategy={"kind": "equal_weight", "rebalance": "daily", "lookback_days": 20,
                  "capital": 1e6},
        execution={"algorithm": "twap", "horizon_minutes": HORIZON_MINUTES},
        # 1/3 each, fully invested: 5% of gross and net room, or the pre-trade check (which
        # counts the other names' working orders) trims the last buy by the prices' drift
        risk={"max_position_weight": 0.4, "max_sector_weight": 0.5, "var_budget": 0.5,
              "max_gross_exposure": 1.05, "max_net_exposure": 1.05},
    )


def life(workdir: str, url: str, engine_name: str, kill: str | None) -> None:
    wd = Path(workdir)
    kill_point = KillPoint(kill, KILL_KINDS)
    key = (wd / "key.pem").read_text()
    tiger = TigerSettings(tiger_id=TIGER_ID, account=SecretStr(ACCOUNT),
                          private_key=SecretStr(key), server_url=url, quote_server_url=url,
                          timeout_s=3.0)
    settings = Settings(
        tiger=tiger,
        # a slow call on a loaded machine must not move the breakers (REDUCING would change
        # what the run sends, and the kills would land elsewhere from one run to the next)
        execution=ExecutionSettings(journal_path=wd / "journal",
                                    breaker_max_broker_latency_ms=1e9),
        tracking=TrackingSettings(mlflow_tracking_uri=f"sqlite:///{wd}/ml/mlflow.db"),
    )
    # the session's bars are replayed in milliseconds: Tiger's per-minute budgets are scaled
    # by the same 60x compression as the other live tests do
    limiter = RateLimiter(120 * 60, limits={k: v * 60 for k, v in TIGER_LIMITS_PER_MINUTE.items()})
    session = TigerSession(tiger, tiger_public_key=(wd / "gateway.pub").read_text(),
                           max_wait_s=0.5, limiter=limiter)
    broker = KillableTigerBroker(session, kill_point)
    daily = TigerBarSource(session, "daily").load(list(SYMBOLS), start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    closes = daily.pivot(index="timestamp", columns="symbol", values="close")
    closes.index = closes.index.tz_localize(None).normalize()
    # the engine variant under test, in place of the class the trading loop's start builds
    research.trading.loop.ExecutionEngine = ENGINES[engine_name]
    with open(wd / "runner.log", "a", encoding="utf-8") as log_file:
        log = make_logger(RUN_ID, secrets=[key], stream=log_file)
        runner = LiveRunner(run_config(), settings, broker, closes, run_id=RUN_ID,
                            journal_dir=wd / "journal", mode="paper", logger=log)
        # the bar being traded (-1: in start-up, e.g. a restart's reconciliation)
        kill_point.where = lambda: (runner.engine.last_bar_done + 1
                                    if runner.engine is not None else -1)
        feed = TigerBarFeed(TigerBarSource(session, "minute"), SYMBOLS, idle_polls=1,
                            poll_s=0.0, since=DAY)
        runner.run(feed)
    print("DONE", flush=True)


LAZILY_IMPORTED = (
    "research.costs", "research.data.calendar", "research.execution.quality",
    "research.promotion.validation", "research.risk", "structlog", "prometheus_client",
    "tigeropen.common.util.contract_utils", "tigeropen.common.util.order_utils",
    "tigeropen.quote.quote_client", "tigeropen.tiger_open_config", "tigeropen.trade.trade_client",
)


def warm_up() -> None:
    """Load once, before the lives are forked, what each life would otherwise load itself:
    the modules the runner and the Tiger client import lazily, and the market breakers'
    compiled kernel (reading numba's cache costs ~1 s in every new process)."""
    import importlib
    from datetime import datetime

    from research.execution.breakers import MarketBreakers
    from research.execution.model import MarketSnapshot

    for name in LAZILY_IMPORTED:
        importlib.import_module(name)
    st = ExecutionSettings()
    breakers = MarketBreakers(
        SYMBOLS, price_move_pct=st.breaker_price_move_pct,
        window_minutes=st.breaker_price_move_window_minutes,
        spread_multiple=st.breaker_spread_multiple, day_band_pct=st.breaker_day_band_pct,
        max_staleness_s=st.breaker_max_data_staleness_s, cooldown_s=st.breaker_cooldown_s)
    now, price, nan = datetime(2000, 1, 3, 10, 0), np.full(3, 100.0), np.full(3, np.nan)
    breakers.conditions(MarketSnapshot(0, now, SYMBOLS, price, price, price, price,
                                       np.zeros(3), nan, nan), now)


def campaign(workdir: str, url: str, engine_name: str, n_kills: int) -> None:
    warm_up()
    run_campaign(lambda kill: life(workdir, url, engine_name, kill), n_kills, KILL_RANGE,
                 seed=12)


if __name__ == "__main__":
    command, workdir, url, engine_name, *rest = sys.argv[1:]
    if engine_name not in ENGINES:
        raise SystemExit(f"unknown engine {engine_name!r}; one of {sorted(ENGINES)}")
    if command == "run":
        life(workdir, url, engine_name, rest[0] if rest else None)
    elif command == "campaign":
        campaign(workdir, url, engine_name, int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command!r}; use run or campaign")
