"""The replay driver of the trading loop: a run config traded bar by bar through the very loop
``qlab live`` runs (:class:`research.trading.TradingLoop`), with the simulated broker in
Tiger's place and recorded bars as the feed.

What differs from live is only what the broker and the feed are: the simulated broker fills
from the bars with its own market-response model (``settings.simulation``) and charges the
run config's fee schedule (per order, as Tiger bills); the account starts with
``strategy.capital`` in cash. Decisions, sizing, parent ids, algorithm parameters, the risk
manager's checks and the engine are the loop's, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from research.data.schema import EXCHANGE_TZ
from research.execution import MarketSnapshot
from research.trading import TradingLoop
from sim.broker import SimulatedBroker
from sim.fees import DatedFeeFn
from sim.replay import BarReplay, bar_minutes_of
from sim.runner import run_trading_loop


def daily_closes_of(bars: pd.DataFrame) -> pd.DataFrame:
    """Wide daily closes (session dates x symbols): each symbol's last close of each day."""
    frame = bars[["timestamp", "symbol", "close"]].copy()
    frame["day"] = pd.DatetimeIndex(frame["timestamp"]).tz_convert(
        EXCHANGE_TZ).tz_localize(None).normalize()
    last = frame.sort_values("timestamp").groupby(["day", "symbol"])["close"].last()
    return last.unstack("symbol").sort_index()


class ReplayDriver:
    """Trades ``config`` over ``bars`` (the long bar frame, or a :class:`BarReplay`) through the
    trading loop and a :class:`SimulatedBroker`.

    ``daily_closes``: wide daily closes (session dates x symbols) covering the strategy's and
    the risk model's lookbacks before the first replayed session (each decision reads only the
    closes before its session; :func:`daily_closes_of` turns earlier bars into them);
    ``cost_model``: a
    cost model fitted on bars **before** the replay (VWAP and IS need it); ``run_id``;
    ``journal_path`` (``":memory:"``: a replay that is rerun, not recovered); ``logger``;
    ``broker_options`` (the simulated broker's keywords); ``fees_before_first`` (fills dated
    before the fee schedule's first version: "refuse", or "earliest" to charge that version,
    see :class:`sim.fees.DatedFeeFn`); ``alert_sinks``: the risk manager's alert sinks (the
    loop's ``alert_sinks``; a sink with ``suppressed(event)`` also sees what the cool-down held
    back).
    """

    def __init__(self, config: Any, settings: Any, bars: pd.DataFrame | BarReplay, *,
                 daily_closes: pd.DataFrame, cost_model: Any = None,
                 run_id: str | None = None, journal_path: str | Path = ":memory:",
                 logger: Any = None, broker_options: dict[str, Any] | None = None,
                 fees_before_first: str = "refuse", alert_sinks: Iterable[Any] = ()):
        from research.costs import fee_schedule

        symbols = tuple(config.universe.symbols) or None
        replay = bars if isinstance(bars, BarReplay) else BarReplay.from_frame(bars, symbols)
        if symbols is not None and tuple(replay.symbols) != symbols:
            raise ValueError(f"ReplayDriver: the bars' symbols {list(replay.symbols)} are not "
                             f"the config's universe {list(symbols)}")
        self.replay = replay
        schedule = fee_schedule(config.cost_model.fee_schedule,
                                flat_bps=settings.costs.flat_fee_bps)
        fee_fn = self.fee_fn = DatedFeeFn(schedule, before_first=fees_before_first)
        self.broker = SimulatedBroker(replay, settings.simulation,
                                      latency_bars=settings.execution.latency_bars,
                                      fee_fn=fee_fn, initial_cash=config.strategy.capital,
                                      **(broker_options or {}))
        fee_fn.bind(self.broker)
        in_memory = str(journal_path) == ":memory:"
        self.loop = TradingLoop(
            config, settings, self.broker, daily_closes,
            run_id=run_id or f"replay-{config.name}", journal_path=journal_path,
            # one bar a session (daily bars): a bar is the 390-minute session
            bar_minutes=bar_minutes_of(replay.timestamps) or 390.0, cost_model=cost_model,
            logger=logger, alert_sinks=alert_sinks,
            sleep=lambda seconds: None,  # simulated time: a retry back-off costs no wall time
            commit_every_bar=not in_memory)

    def run(self, stop: int | None = None,
            seen: Callable[[MarketSnapshot], None] | None = None) -> TradingLoop:
        """Replay up to bar ``stop`` (exclusive; default all) and return the loop (its engine,
        decisions, risk manager); ``seen(snapshot)`` is shown each bar as the run sees it.
        Resumes where a previous run on the same journal stopped."""
        loop = self.loop
        if loop.engine is None:
            loop.start()
            if self.replay.n_bars and self.broker.last_bar < 0:
                # as qlab live does before the open: the first session is decided on the
                # previous close and the starting cash, not on the first bar's prices
                first = pd.Timestamp(self.replay.timestamps[0])
                loop.prepare_session(first.tz_localize(None).normalize())
        try:
            run_trading_loop(loop, self.broker, stop=stop, seen=seen)
        finally:
            loop.engine.journal.commit()
        return loop

    def close(self) -> None:
        self.loop.shutdown()
