"""The live driver of the trading loop: Tiger (or a dry-run wrapper) as the broker, Tiger's
minute bars as the bar source, and what only live has — durable start state, reconciliation at
start, the kill switch, Prometheus metrics, the status endpoint, heap freezing.

Every decision (rebalance schedule, sizing, parent orders, algorithm parameters, risk refit,
fills booked into the risk manager, cost predictions, session close and next-session
preparation) is :class:`research.trading.TradingLoop`'s, the same loop ``sim`` replays.

Start-up (:meth:`LiveRunner.start`): the broker's positions at the first start of a run are
saved beside the journal, and every start replays the journal and reconciles orders, fills and
positions with the broker (``ExecutionEngine.recover`` with those initial positions) before
anything is sent; an open order the journal does not know, or a position the journal cannot
explain, raises ``ReconciliationError`` and nothing trades.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from live.monitoring import InstrumentedBroker, LiveMetrics, MetricsAlertSink
from live.safety import KillSwitch
from research.domain import Side
from research.execution import ExecutionEngine, MarketSnapshot
from research.trading import TradingLoop

MODES = ("dry-run", "paper", "live")


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """Run the trading loop with everything allocated at start-up frozen out of the cyclic
    garbage collector (``gc.freeze``), and thawed on exit.

    Why: start-up leaves ~200k long-lived container objects (pandas, numba, the Tiger client,
    the daily history, the risk model); a full collection walks all of them, 85-135 ms on the
    benchmark box, and lands in whichever bar happens to allocate past the threshold. Frozen,
    a full collection only sees what the loop allocated (microseconds). Nothing else changes:
    frozen objects are never collected, and they live as long as the process anyway.
    """
    gc.collect()  # leave garbage out of the frozen set
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def write_text_durably(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that after a crash or a power loss it holds either
    the old content or the new one, never nothing: the temporary file is fsynced before the
    rename (else the rename can reach the disk before the data) and the directory after it
    (else the rename itself can be lost). Two fsyncs: meant for small, rare writes."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    if os.name == "posix":  # a directory cannot be opened for fsync on Windows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class LiveRunner(TradingLoop):
    """Parameters: ``config`` (RunConfig), ``settings`` (Settings), ``broker`` (Broker
    protocol; wrap in ``DryRunBroker`` for dry runs), ``daily_closes`` (wide frame of daily
    closes, session dates x symbols, covering the strategy and risk lookbacks), ``run_id``
    (part of every client order id; the journal is ``<journal_dir>/<run_id>.sqlite``),
    ``mode``, ``bar_minutes`` (minutes per bar: parent horizons are in bars), ``kill_switch``,
    ``logger`` (structlog), ``metrics`` (LiveMetrics), ``clock`` (Unix seconds, for staleness),
    ``real_time`` (the bars are today's, as they close: once the feed has caught up with the
    wall clock, the engine's "now" is ``clock``, so its staleness breaker halts on a feed that
    falls behind; until then — a restart's catch-up bars — and with False — a replay of
    recorded or past bars — "now" is the bar's own stamp),
    ``cost_model`` (a fitted ``research.costs.CostModel``: cost-vs-model metrics, and the
    inputs of VWAP and IS; None: those two algorithms are refused at construction).
    """

    def __init__(self, config: Any, settings: Any, broker: Any, daily_closes: pd.DataFrame, *,
                 run_id: str, journal_dir: str | Path, mode: str = "dry-run",
                 bar_minutes: float = 1.0, kill_switch: KillSwitch | None = None,
                 logger: Any = None, metrics: LiveMetrics | None = None,
                 clock: Callable[[], float] = time.time, instrument: bool = True,
                 cost_model: Any = None, real_time: bool = False):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.kill = kill_switch or KillSwitch()
        if logger is None:
            from live.monitoring import make_logger

            logger = make_logger(run_id, mode=mode, config=config.name)
        self.metrics = metrics or LiveMetrics()
        self.alert_sink = MetricsAlertSink(self.metrics, logger)
        if instrument:
            broker = InstrumentedBroker(broker, self.metrics, logger)
        super().__init__(config, settings, broker, daily_closes, run_id=run_id,
                         journal_path=Path(journal_dir) / f"{run_id}.sqlite",
                         bar_minutes=bar_minutes, cost_model=cost_model, logger=logger,
                         alert_sinks=[self.alert_sink], risk_event_limit=1000,
                         clock=self._engine_now if real_time else None)
        self.wall_clock = clock
        self._caught_up = False
        self.start_state_path = self.journal_path.with_suffix(".start.json")
        self.halted_reason = ""
        self._seen_fills: set[str] = set()

    # ------------------------------------------------------------------ start-up
    def start(self, initial_positions: dict[str, int] | None = None) -> ExecutionEngine:
        """Reconcile with the broker and build the engine; raises before any order on a
        mismatch it cannot explain. The positions at the run's first start are the broker's,
        kept durably beside the journal (a live run takes no positions from its caller)."""
        if initial_positions is not None:
            raise ValueError("a live run's initial positions are the broker's; pass none")
        from research.execution import ReconciliationError

        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        held = self.broker.positions()
        fractional = self._fractional_holdings(held)
        if self.start_state_path.exists():
            initial = json.loads(self.start_state_path.read_text())["positions"]
        else:
            initial = {s: int(p.quantity) for s, p in held.items() if p.quantity}
            # durable before any order: lost after a power loss, a restart would take the
            # broker's positions (which already hold this run's fills) as its start
            write_text_durably(self.start_state_path,
                               json.dumps({"run_id": self.run_id, "positions": initial}))
        unknown = sorted(set(initial) - set(self.symbols))
        if unknown:
            raise ReconciliationError([
                f"the account holds {s} ({fractional.get(s, initial[s]):g} shares), which is "
                "outside the config's universe" for s in unknown])
        return super().start(initial)

    def _fractional_holdings(self, held: dict[str, Any]) -> dict[str, float]:
        """Holdings that are not a whole number of shares (Tiger's fractional shares), by
        symbol; raises if one is in the universe, logs the others as ignored.

        Why refuse: the engine trades whole shares, so a fraction in a traded symbol could
        never be reached by its targets or closed, and every fill and reconciliation would be
        off by it. Why ignore outside the universe: below one share it is no exposure worth
        stopping for (a whole-share holding there is refused as before, fraction included)."""
        from live.tiger.mapping import FRACTIONAL_QUANTITY
        from research.execution import ReconciliationError

        fractional = {s: float(p.extra[FRACTIONAL_QUANTITY]) for s, p in held.items()
                      if FRACTIONAL_QUANTITY in getattr(p, "extra", {})}
        traded = sorted(s for s in fractional if s in self.symbols)
        if traded:
            raise ReconciliationError([
                f"the account holds {fractional[s]:g} shares of {s}, a fractional quantity, "
                "and the engine trades whole shares: sell the fraction (or round the holding "
                "to whole shares) before starting" for s in traded])
        ignored = {s: q for s, q in fractional.items() if int(q) == 0}
        if ignored:
            self.log.warning("fractional_positions_ignored", positions=ignored,
                             reason="fractional holdings below one share outside the "
                                    "config's universe: not traded, not reconciled")
        return fractional

    # ------------------------------------------------------------------ driver hooks
    def stop_reason(self) -> str:
        return self.kill.reason if self.kill.engaged else ""

    def on_risk_refit(self, snapshot: Any, weights: np.ndarray, nav: float) -> None:
        m = self.metrics
        m.var_usage.set(snapshot.var / self.risk.settings.var_budget
                        if self.risk.settings.var_budget else float("nan"))
        m.gross_exposure.set(float(np.abs(weights).sum()))
        m.net_exposure.set(float(weights.sum()))
        m.nav.set(nav)

    def _engine_now(self) -> datetime:
        """The engine's "now" trading in real time: the wall clock once a bar has arrived
        within the staleness limit of its close. Before that — the bars since the open that a
        restart catches up on — each bar's own stamp, as in a replay: on the wall clock every
        one of them would be stale, halt trading and run its parents' horizons out."""
        wall = datetime.fromtimestamp(self.wall_clock(), UTC)
        bar = self._bar_time
        if self._caught_up or bar is None:
            return wall
        limit = self.settings.execution.breaker_max_data_staleness_s
        if (wall - bar).total_seconds() <= limit:
            self._caught_up = True
            return wall
        return bar

    def bar_is_current(self, snap: MarketSnapshot) -> bool:
        """Only once the feed has caught up: Tiger marks the account at the prices of now,
        not at those of the bars since the open a restart replays."""
        return self._caught_up

    def on_orders_sent(self, snap: MarketSnapshot, seconds: float) -> None:
        self.metrics.loop_seconds.observe(seconds)
        if hasattr(self.broker, "flush"):
            self.broker.flush(bar=snap.bar_index)

    def on_bar_done(self, snap: MarketSnapshot) -> None:
        e = self.engine
        m = self.metrics
        m.set_trading_state(e.trading_state.value.upper())
        m.symbols_paused.set(float(np.sum(e.market_breakers.paused)))
        ts = pd.Timestamp(snap.timestamp).timestamp()
        m.last_bar.set(ts)
        m.staleness.set(max(0.0, self.wall_clock() - ts))
        if e.stats.fills + e.stats.recovered_fills == len(self._seen_fills):
            return
        for c in e.children.values():
            new = c.fill_ids - self._seen_fills
            if not new:
                continue
            self._seen_fills |= new
            m.fills.labels(side=c.side.value).inc(len(new))
            ps = e.parents.get(c.parent_id)
            if ps is not None and ps.arrival_price and c.filled_quantity:
                sign = 1.0 if c.side is Side.BUY else -1.0
                m.slippage.observe(sign * (c.average_price / ps.arrival_price - 1.0) * 1e4)

    def on_parent_cost(self, quality: Any, slippage_vs_model_bps: float) -> None:
        self.metrics.slippage_vs_model.observe(slippage_vs_model_bps)
        if np.isfinite(quality.slippage_z):
            self.metrics.slippage_z.observe(quality.slippage_z)

    # ------------------------------------------------------------------ driving
    def run(self, bars, max_bars: int | None = None) -> int:
        """Trade ``bars`` with the kill switch armed (SIGTERM/SIGINT and the kill file)."""
        self.kill.install()
        try:
            return super().run(bars, max_bars=max_bars)
        finally:
            self.kill.uninstall()

    def halt(self, reason: str) -> None:
        """Kill switch: HALTED, every open parent closed and its open children cancelled."""
        self.halted_reason = reason
        self.metrics.kill_switch.set(1.0)
        super().halt(reason)
        self.metrics.set_trading_state(self.engine.trading_state.value.upper())

    def status(self) -> dict[str, Any]:
        """JSON-ready view for the status endpoint (read-only)."""
        out = super().status()
        out["mode"] = self.mode
        out["state"].update(kill_switch=self.kill.engaged, halted_reason=self.halted_reason)
        out["alerts"] = list(self.alert_sink.recent)
        return out
