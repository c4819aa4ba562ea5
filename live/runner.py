"""The live trading loop: the simulator's strategy, risk manager and execution engine, with a
Tiger broker (or a dry-run wrapper) and Tiger bars.

Per bar: kill switch check; on the first bar of a rebalance session, target weights from daily
closes strictly before the session (same :mod:`research.strategies` code and bookkeeping as
the simulator: NAV and shares valued at the previous close) become parent orders with
deterministic ids ``<config>-<YYYYMMDD>-<SYMBOL>``; then ``engine.on_bar``; then metrics.

Start-up (:meth:`LiveRunner.start`): the broker's positions at the first start of a run are
saved beside the journal, and every start replays the journal and reconciles orders, fills and
positions with the broker (``ExecutionEngine.recover`` with those initial positions) before
anything is sent; an open order the journal does not know, or a position the journal cannot
explain, raises ``ReconciliationError`` and nothing trades.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from live.monitoring import InstrumentedBroker, LiveMetrics, MetricsAlertSink
from live.safety import KillSwitch
from research.domain import Side, Strategy
from research.execution import ExecutionEngine, Journal, MarketSnapshot, ParentOrder
from research.execution.risk_check import RiskManagerCheck
from research.promotion import weight_strategy

MODES = ("dry-run", "paper", "live")


class LiveRunner:
    """Parameters: ``config`` (RunConfig), ``settings`` (Settings), ``broker`` (Broker
    protocol; wrap in ``DryRunBroker`` for dry runs), ``daily_closes`` (wide frame of daily
    closes, session dates x symbols, covering the strategy and risk lookbacks), ``run_id``
    (part of every client order id; the journal is ``<journal_dir>/<run_id>.sqlite``),
    ``mode``, ``bar_minutes`` (minutes per bar: parent horizons are in bars), ``kill_switch``,
    ``logger`` (structlog), ``metrics`` (LiveMetrics), ``clock`` (Unix seconds, for staleness).
    """

    def __init__(self, config: Any, settings: Any, broker: Any, daily_closes: pd.DataFrame, *,
                 run_id: str, journal_dir: str | Path, mode: str = "dry-run",
                 bar_minutes: float = 1.0, kill_switch: KillSwitch | None = None,
                 logger: Any = None, metrics: LiveMetrics | None = None,
                 clock: Callable[[], float] = time.time, instrument: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        from research.promotion.validation import _risk_settings
        from research.risk import AlertManager, RiskManager

        self.config = config
        self.settings = settings
        self.mode = mode
        self.run_id = run_id
        self.clock = clock
        self.bar_minutes = float(bar_minutes)
        self.symbols = tuple(config.universe.symbols or daily_closes.columns)
        missing = [s for s in self.symbols if s not in daily_closes.columns]
        if missing:
            raise ValueError(f"daily closes lack universe symbol(s) {missing}")
        self.closes = daily_closes[list(self.symbols)]
        self.kill = kill_switch or KillSwitch()
        if logger is None:
            from live.monitoring import make_logger

            logger = make_logger(run_id, mode=mode, config=config.name)
        self.log = logger
        self.metrics = metrics or LiveMetrics()
        self.alert_sink = MetricsAlertSink(self.metrics, self.log)
        self.broker = InstrumentedBroker(broker, self.metrics, self.log) if instrument else broker
        risk = _risk_settings(config, settings)
        self.risk = RiskManager(risk, alerts=AlertManager(
            [self.alert_sink], cooldown_seconds=risk.alert_cooldown_seconds))
        self.strategy = weight_strategy(config)
        self.journal_path = Path(journal_dir) / f"{run_id}.sqlite"
        self.start_state_path = self.journal_path.with_suffix(".start.json")
        self.engine: ExecutionEngine | None = None
        self.halted_reason = ""
        self._seen_fills: set[str] = set()
        self._decided: set[str] = set()
        self._day: pd.Timestamp | None = None
        self.last_snapshot: MarketSnapshot | None = None

    # ------------------------------------------------------------------ start-up
    def start(self) -> ExecutionEngine:
        """Reconcile with the broker and build the engine; raises before any order on a
        mismatch it cannot explain."""
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        if self.start_state_path.exists():
            initial = json.loads(self.start_state_path.read_text())["positions"]
        else:
            initial = {s: int(p.quantity) for s, p in self.broker.positions().items()}
            tmp = self.start_state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"run_id": self.run_id, "positions": initial}))
            os.replace(tmp, self.start_state_path)
        unknown = sorted(set(initial) - set(self.symbols))
        if unknown:
            from research.execution import ReconciliationError

            raise ReconciliationError([f"the account holds {s} ({initial[s]} shares), which is "
                                       "outside the config's universe" for s in unknown])
        journal = Journal(self.journal_path)
        engine = ExecutionEngine(
            self.run_id, self.symbols, self.broker, journal, self.settings.execution,
            risk_check=RiskManagerCheck(self.risk), initial_positions=initial,
        )
        engine.recover()
        self.engine = engine
        self._decided = {pid.rsplit("-", 1)[0] for pid in engine.parents}
        self.log.info("reconciled", positions=self._book(), parents=len(engine.parents),
                      open_orders=len(engine.open_children()))
        return engine

    def _book(self) -> dict[str, int]:
        e = self.engine
        init = json.loads(self.start_state_path.read_text())["positions"]
        out = {s: int(init.get(s, 0)) + int(e.positions.get(s, 0)) for s in self.symbols}
        return {s: q for s, q in out.items() if q}

    # ------------------------------------------------------------------ decisions
    def _is_rebalance_session(self, day: pd.Timestamp) -> bool:
        freq = self.config.strategy.rebalance
        before = self.closes.index[self.closes.index < day]
        if len(before) == 0:
            raise ValueError(f"no daily close before {day.date()} to decide on")
        prev = before[-1]
        if freq == "daily":
            return True
        if freq == "weekly":
            return day.isocalendar()[:2] != prev.isocalendar()[:2]
        return (day.year, day.month) != (prev.year, prev.month)

    def decide(self, snap: MarketSnapshot) -> list[ParentOrder]:
        """Parent orders of a rebalance on ``snap``'s session (empty if not one, or done)."""
        day = pd.Timestamp(snap.timestamp).tz_localize(None).normalize()
        key = f"{self.config.name}-{day:%Y%m%d}"
        if key in self._decided or not self._is_rebalance_session(day):
            return []
        self._decided.add(key)
        past = self.closes.loc[self.closes.index < day]
        weights = self.strategy.target_weights(past, day).reindex(
            list(self.symbols)).fillna(0.0).to_numpy(float)
        price = past.iloc[-1].to_numpy(float)
        held = self._book()
        shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
        nav = float(self.broker.account().equity)
        priced = np.isfinite(price) & (price > 0)
        target = np.zeros(len(self.symbols), dtype=np.int64)
        target[priced] = np.rint(weights[priced] * nav / price[priced]).astype(np.int64)
        trade = target - shares
        algo = Strategy(self.config.execution.algorithm)
        horizon = max(1, int(round(self.config.execution.horizon_minutes / self.bar_minutes)))
        params = self._algo_params(algo)
        parents = [ParentOrder(f"{key}-{s}", s, Side.BUY if q > 0 else Side.SELL, int(abs(q)),
                               strategy=algo, horizon_bars=horizon, params=params)
                   for s, q in zip(self.symbols, trade, strict=True) if q != 0]
        self.log.info("rebalance_decided", session=f"{day:%Y-%m-%d}", nav=nav,
                      parents=len(parents), algorithm=algo.value, horizon_bars=horizon)
        return parents

    def _algo_params(self, algo: Strategy) -> dict:
        ex = self.config.execution
        if algo is Strategy.LIMIT:
            return {"offset_bps": ex.limit_offset_bps,
                    "fallback_to_market": ex.limit_fallback_to_market}
        if algo is Strategy.POV:
            return {"rate": ex.pov_rate}
        if algo is Strategy.IS:
            return {"risk_aversion": ex.risk_aversion}
        return {}

    def _update_risk(self, past: pd.DataFrame, shares: np.ndarray, price: np.ndarray,
                     nav: float, when: datetime) -> None:
        lookback = int(self.risk.lookback)
        returns = past.pct_change().iloc[1:].dropna(how="any").iloc[-lookback:]
        weights = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0) / nav
        snap = self.risk.update(returns, dict(zip(self.symbols, weights, strict=True)), nav=nav,
                                as_of=when)
        self.metrics.var_usage.set(snap.var / self.risk.settings.var_budget
                                   if self.risk.settings.var_budget else float("nan"))
        self.metrics.gross_exposure.set(float(np.abs(weights).sum()))
        self.metrics.net_exposure.set(float(weights.sum()))
        self.metrics.nav.set(nav)

    # ------------------------------------------------------------------ the loop
    def on_bar(self, snap: MarketSnapshot) -> None:
        engine = self.engine
        if engine is None:
            raise RuntimeError("LiveRunner.start() first (reconciles before any order)")
        t0 = time.perf_counter()
        day = pd.Timestamp(snap.timestamp).tz_localize(None).normalize()
        if day != self._day:  # a new session: refit the risk model on closes before it
            self._day = day
            past = self.closes.loc[self.closes.index < day]
            held = self._book()
            shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
            self._update_risk(past, shares, past.iloc[-1].to_numpy(float),
                              float(self.broker.account().equity), snap.timestamp)
        for parent in self.decide(snap):
            if engine.add_parent(parent, snap):
                self.log.info("parent_added", parent_id=parent.parent_id, symbol=parent.symbol,
                              side=parent.side.value, quantity=parent.quantity)
        engine.on_bar(snap)
        self.metrics.loop_seconds.observe(time.perf_counter() - t0)
        self.last_snapshot = snap
        self._after_bar(snap)

    def _after_bar(self, snap: MarketSnapshot) -> None:
        e = self.engine
        m = self.metrics
        m.set_trading_state(e.trading_state.value.upper())
        m.symbols_paused.set(float(np.sum(e.market_breakers.paused)))
        ts = pd.Timestamp(snap.timestamp).timestamp()
        m.last_bar.set(ts)
        m.staleness.set(max(0.0, self.clock() - ts))
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

    def run(self, bars: Iterable[MarketSnapshot], max_bars: int | None = None) -> int:
        """Trade ``bars`` until they end, ``max_bars`` were processed or the kill switch fires.
        Returns the number of bars processed. The journal is committed and closed on exit."""
        if self.engine is None:
            self.start()
        self.kill.install()
        done = 0
        try:
            for snap in bars:
                if self.kill.engaged:
                    break
                if snap.bar_index <= self.engine.last_bar_done:
                    continue  # processed before a restart
                self.on_bar(snap)
                done += 1
                if max_bars is not None and done >= max_bars:
                    break
            if self.kill.engaged:
                self.halt(self.kill.reason)
        finally:
            self.kill.uninstall()
            self.shutdown()
        return done

    def halt(self, reason: str) -> None:
        """Kill switch: HALTED, every open parent closed and its open children cancelled."""
        e = self.engine
        self.halted_reason = reason
        self.metrics.kill_switch.set(1.0)
        e.halt(f"kill switch: {reason}")
        for pid, ps in e.parents.items():
            if not ps.done:
                e.cancel_parent(pid, f"kill switch: {reason}")
        self.metrics.set_trading_state(e.trading_state.value.upper())
        self.log.error("kill_switch", reason=reason, open_orders=len(e.open_children()))

    def shutdown(self) -> None:
        if self.engine is not None and self.engine.journal is not None:
            self.engine.journal.commit()
            self.engine.journal.close()
            self.log.info("shutdown", bars_done=self.engine.last_bar_done,
                          submits=self.engine.stats.submits, fills=self.engine.stats.fills)

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """JSON-ready view for the status endpoint (read-only)."""
        e = self.engine
        risk = None
        try:
            risk = self.risk.snapshot().as_dict()
        except Exception:  # noqa: BLE001 - no risk model yet
            risk = None
        return {
            "run_id": self.run_id, "mode": self.mode, "config": self.config.name,
            "state": {"trading_state": e.trading_state.value if e else None,
                      "kill_switch": self.kill.engaged, "halted_reason": self.halted_reason,
                      "last_bar": e.last_bar_done if e else None},
            "risk": risk,
            "positions": self._book() if e else {},
            "orders": [{"client_order_id": c.client_order_id, "symbol": c.symbol,
                        "side": c.side.value, "quantity": c.quantity,
                        "filled": c.filled_quantity, "status": c.status.value}
                       for c in (e.open_children() if e else [])],
            "alerts": list(self.alert_sink.recent),
        }
