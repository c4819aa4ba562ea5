"""The live trading loop: the simulator's strategy, risk manager and execution engine, with a
Tiger broker (or a dry-run wrapper) and Tiger bars.

Per bar: kill switch check; on the first bar of a rebalance session, target weights from daily
closes strictly before the session (same :mod:`research.strategies` code and bookkeeping as
the simulator: NAV and shares valued at the previous close) become parent orders with
deterministic ids ``<config>-<YYYYMMDD>-<SYMBOL>``; then ``engine.on_bar``; then metrics and
the bar's log lines (the rebalance decision, the parents, one line for all submits): nothing is
logged or counted between the bar and its last order, that path is the latency budget
(benchmarks/bench_live.py; ``qlab live`` also freezes the start-up heap out of the garbage
collector, :func:`startup_heap_frozen`).

Cost model: given a fitted :class:`research.costs.CostModel` (``cost_model``), each parent's
expected cost (bps of its notional) and timing-risk std are predicted when it is decided, on
the array fast path; when the parent completes, realised implementation shortfall minus that
prediction is observed in ``qlab_slippage_vs_model_bps`` and its z-score in
``qlab_slippage_z``.

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from live.monitoring import InstrumentedBroker, LiveMetrics, MetricsAlertSink
from live.safety import KillSwitch
from research.domain import Side, Strategy
from research.execution import (
    ExecutionEngine,
    Journal,
    MarketSnapshot,
    ParentOrder,
    TradingState,
)
from research.execution.risk_check import RiskManagerCheck
from research.promotion import weight_strategy

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


class LiveRunner:
    """Parameters: ``config`` (RunConfig), ``settings`` (Settings), ``broker`` (Broker
    protocol; wrap in ``DryRunBroker`` for dry runs), ``daily_closes`` (wide frame of daily
    closes, session dates x symbols, covering the strategy and risk lookbacks), ``run_id``
    (part of every client order id; the journal is ``<journal_dir>/<run_id>.sqlite``),
    ``mode``, ``bar_minutes`` (minutes per bar: parent horizons are in bars), ``kill_switch``,
    ``logger`` (structlog), ``metrics`` (LiveMetrics), ``clock`` (Unix seconds, for staleness),
    ``cost_model`` (a fitted ``research.costs.CostModel``, or None: no cost-vs-model metric).
    """

    def __init__(self, config: Any, settings: Any, broker: Any, daily_closes: pd.DataFrame, *,
                 run_id: str, journal_dir: str | Path, mode: str = "dry-run",
                 bar_minutes: float = 1.0, kill_switch: KillSwitch | None = None,
                 logger: Any = None, metrics: LiveMetrics | None = None,
                 clock: Callable[[], float] = time.time, instrument: bool = True,
                 cost_model: Any = None):
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
        # per child: (shares, $) already in the risk manager's book (see prepare_session)
        self._risk_booked: dict[str, tuple[int, float]] = {}
        self._decided: set[str] = set()
        self._day: pd.Timestamp | None = None
        # last traded price per symbol in the current session: becomes its daily close
        self._session_close: np.ndarray | None = None
        # parents decided on a bar that had no price for their symbol, added when one comes
        self._deferred: list[ParentOrder] = []
        self._deferred_logged = 0
        self._symbol_index = {s: i for i, s in enumerate(self.symbols)}
        # start of the current session's last one-minute bar, and the next session's date
        self._last_bar_at: datetime | None = None
        self._next_session: pd.Timestamp | None = None
        self._initial: dict[str, int] = {}
        # session -> (target weights, previous closes, NAV $): prepared before its first bar
        self._session: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray, float]] = {}
        self._rebalance_days: dict[pd.Timestamp, bool] = {}  # prepared with the session
        self._day_cache: tuple[Any, pd.Timestamp | None, str] = (None, None, "")
        self.last_snapshot: MarketSnapshot | None = None
        self.cost_model = cost_model
        self._cost_state = self._cost_inputs(cost_model) if cost_model is not None else None
        self.predicted_cost: dict[str, tuple[float, float]] = {}  # parent -> (bps, std bps)
        self._cost_observed: set[str] = set()

    # ------------------------------------------------------------------ start-up
    def start(self) -> ExecutionEngine:
        """Reconcile with the broker and build the engine; raises before any order on a
        mismatch it cannot explain."""
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        if self.start_state_path.exists():
            initial = json.loads(self.start_state_path.read_text())["positions"]
        else:
            initial = {s: int(p.quantity) for s, p in self.broker.positions().items()}
            # durable before any order: lost after a power loss, a restart would take the
            # broker's positions (which already hold this run's fills) as its start
            write_text_durably(self.start_state_path,
                               json.dumps({"run_id": self.run_id, "positions": initial}))
        unknown = sorted(set(initial) - set(self.symbols))
        if unknown:
            from research.execution import ReconciliationError

            raise ReconciliationError([f"the account holds {s} ({initial[s]} shares), which is "
                                       "outside the config's universe" for s in unknown])
        self._initial = {s: int(q) for s, q in initial.items()}
        # NORMAL by default: survives a process kill; a power loss may drop the last commits,
        # which reconciliation then refuses to trade on (see ExecutionSettings)
        # no WAL checkpoint inside a commit (a bar): prepare_session checkpoints before the open
        journal = Journal(self.journal_path,
                          synchronous=self.settings.execution.journal_synchronous,
                          autocheckpoint=False)
        engine = ExecutionEngine(
            self.run_id, self.symbols, self.broker, journal, self.settings.execution,
            risk_check=RiskManagerCheck(self.risk), initial_positions=initial,
        )
        engine.recover()
        # the run's first events reach the database file now, not at the first WAL checkpoint:
        # a journal an OS crash wiped entirely would look like a fresh run and skip the probes
        journal.checkpoint()
        self.engine = engine
        self._warm_breakers()
        if self.cost_model is not None:  # compile/load the numba kernel before the first bar
            self.cost_model.predict({
                "quantity": np.ones(1), "price": np.full(1, 100.0), "adv": np.full(1, 1e6),
                "daily_vol": np.full(1, 0.02), "spread_bps": np.full(1, 5.0),
                "strategy": np.zeros(1, dtype=np.int64), "is_sell": np.zeros(1, dtype=bool),
                "start_minute": np.zeros(1), "horizon_minutes": np.full(1, 30.0),
                "limit_offset_bps": np.zeros(1)})
        self._decided = {pid.rsplit("-", 1)[0] for pid in engine.parents}
        self.log.info("reconciled", positions=self._book(), parents=len(engine.parents),
                      open_orders=len(engine.open_children()))
        return engine

    def _warm_breakers(self) -> None:
        """Load the market breakers' compiled kernel (~1 s from numba's cache) on a throwaway
        copy, so the first live bar does not pay for it."""
        import copy

        last = self.closes.iloc[-1].to_numpy(float)
        n = len(self.symbols)
        now = datetime(2000, 1, 3, 10, 0)
        snap = MarketSnapshot(0, now, self.symbols, last, last, last, last, np.zeros(n),
                              np.full(n, np.nan), np.full(n, np.nan))
        copy.deepcopy(self.engine.market_breakers).conditions(snap, now)

    def _book(self) -> dict[str, int]:
        e = self.engine
        init = self._initial
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

    def _session_day(self, timestamp: datetime) -> pd.Timestamp:
        """The session date of a bar timestamp (local wall date, midnight, naive), cached for
        the day: ``pd.Timestamp(...).tz_localize(None).normalize()`` costs ~15 us per bar."""
        if timestamp.date() != self._day_cache[0]:
            self._remember_day(pd.Timestamp(timestamp).tz_localize(None).normalize())
        return self._day_cache[1]

    def _remember_day(self, day: pd.Timestamp) -> None:
        """Cache (date, session day, decision key) of ``day``: the key prefixes parent ids."""
        self._day_cache = (day.date(), day, f"{self.config.name}-{day:%Y%m%d}")

    def decide(self, snap: MarketSnapshot) -> list[ParentOrder]:
        """Parent orders of a rebalance on ``snap``'s session (empty if not one, or done)."""
        parents, decided = self._decide(snap)
        if decided:
            self.log.info("rebalance_decided", **decided)
        return parents

    def _decide(self, snap: MarketSnapshot) -> tuple[list[ParentOrder], dict[str, Any]]:
        """``decide`` without its log line: (parents, fields of the ``rebalance_decided`` line,
        empty if nothing was decided). ``on_bar`` logs after the bar's orders are sent."""
        day = self._session_day(snap.timestamp)
        key = self._day_cache[2]
        if key in self._decided:
            return [], {}
        rebalance = self._rebalance_days.get(day)
        if rebalance is None:
            rebalance = self._is_rebalance_session(day)
        if not rebalance:
            return [], {}
        self._decided.add(key)
        weights, price, nav = self.prepare_session(day)
        held = self._book()
        shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
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
        return parents, {"session": f"{day:%Y-%m-%d}", "nav": nav, "parents": len(parents),
                         "algorithm": algo.value, "horizon_bars": horizon}

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

    def prepare_session(self, day: Any) -> tuple[np.ndarray, np.ndarray, float]:
        """Everything of ``day``'s session that depends only on data before it: the risk
        model refit (closes before the day, NAV from the broker), the strategy's target
        weights, the previous closes. Call it before the open (``qlab live`` does after
        start-up) so the first bar does not pay for it (nor for a broker account call);
        otherwise the first bar of the session does. It also checkpoints the journal's WAL
        (disabled inside commits, see Journal). Returns (weights, closes, NAV $)."""
        day = pd.Timestamp(day)
        day = (day.tz_localize(None) if day.tzinfo else day).normalize()
        ready = self._session.get(day)
        if ready is not None:
            return ready
        if self.engine is None:
            raise RuntimeError("LiveRunner.start() first (reconciles before any order)")
        if not self.engine.journal.checkpoint():  # the WAL is folded back here, not in a bar
            self.log.warning("journal_checkpoint_busy", journal=str(self.journal_path),
                             effect="the WAL keeps growing until a checkpoint completes")
        past = self.closes.loc[self.closes.index < day]
        if past.empty:
            raise ValueError(f"no daily close before {day.date()} to decide on")
        price = past.iloc[-1].to_numpy(float)
        nav = float(self.broker.account().equity)
        held = self._book()
        shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
        self._update_risk(past, shares, price, nav, day.to_pydatetime())
        # the refit book holds every fill so far: later fills reach it through _book_fills
        self._risk_booked = {cid: (c.filled_quantity, c.filled_notional)
                             for cid, c in self.engine.children.items()}
        weights = self.strategy.target_weights(past, day).reindex(
            list(self.symbols)).fillna(0.0).to_numpy(float)
        self._session = {day: (weights, price, nav)}  # one session at a time
        self._rebalance_days = {day: self._is_rebalance_session(day)}
        self._remember_day(day)  # the first bar finds its session date ready
        self._last_bar_at, self._next_session = _session_edges(day, self.bar_minutes)
        return self._session[day]

    # ------------------------------------------------------------------ the loop
    def on_bar(self, snap: MarketSnapshot) -> None:
        engine = self.engine
        if engine is None:
            raise RuntimeError("LiveRunner.start() first (reconciles before any order)")
        t0 = time.perf_counter()
        day = self._session_day(snap.timestamp)
        if day != self._day:  # a new session: risk refit (unless prepared before the open)
            self._close_session()
            self._day = day
            self.prepare_session(day)
        # nothing is logged or counted between the bar and its last order (the latency budget)
        parents, decided = self._decide(snap)
        if self._deferred or parents:
            parents, self._deferred = self._priced_now(self._deferred + parents, snap)
        try:
            engine.check_new_parents(parents, snap)  # all or none (after a restart only)
            added = [p for p in parents if engine.add_parent(p, snap)]
            engine.on_bar(snap)
        finally:
            if decided:
                self.log.info("rebalance_decided", **decided)
        self.metrics.loop_seconds.observe(time.perf_counter() - t0)
        self.last_snapshot = snap
        if added:
            self._predict_costs(added, snap)
            self.log.info("parents_added", bar=snap.bar_index, parents=[
                {"parent_id": p.parent_id, "symbol": p.symbol, "side": p.side.value,
                 "quantity": p.quantity} for p in added])
        if hasattr(self.broker, "flush"):
            self.broker.flush(bar=snap.bar_index)
        self._after_bar(snap)

    # ------------------------------------------------------------------ cost model
    def _cost_inputs(self, model: Any) -> dict[str, np.ndarray]:
        """Per-symbol (adv, daily vol, spread) of the fitted model, in universe order; a
        symbol the model never saw is NaN, so a prediction for it raises naming it."""
        def col(series: Any) -> np.ndarray:
            return series.reindex(list(self.symbols)).to_numpy(float)

        return {"adv": col(model.adv_), "daily_vol": col(model.daily_vol_),
                "spread_bps": col(model.spread_bps_)}

    def _predict_costs(self, parents: list[ParentOrder], snap: MarketSnapshot) -> None:
        """Expected cost of ``parents`` at their arrival (the model's array fast path); kept
        until each completes. Runs after the bar's orders were handed to the broker."""
        if self._cost_state is None:
            return
        from research.costs import STRATEGY_CODES, minutes_since_open

        index = self._symbol_index
        rows = np.array([index[p.symbol] for p in parents], dtype=np.int64)
        arrival = np.array([self.engine.parents[p.parent_id].arrival_price for p in parents])
        st = self._cost_state
        minute = max(0.0, float(minutes_since_open([snap.timestamp])[0]))
        # the quote at arrival, rescaled to a session average (the model's spread unit),
        # is fresher than the fitted spread; the fitted one covers a missing quote
        bid, ask = snap.bid[rows], snap.ask[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            quoted = (ask - bid) / (0.5 * (ask + bid)) * 1e4 / float(
                self.cost_model.spread_profile_.at(minute))
        spread = np.where(np.isfinite(quoted) & (quoted >= 0), quoted, st["spread_bps"][rows])
        adv, vol = st["adv"][rows], st["daily_vol"][rows]
        known = np.isfinite(spread) & np.isfinite(adv) & (adv > 0) & np.isfinite(vol) & np.isfinite(
            arrival) & (arrival > 0)
        if not known.all():
            self.log.warning("cost_prediction_unavailable", reason="no spread, adv, volatility "
                             "or arrival price for the symbol in the fitted model or the quote",
                             parents=[p.parent_id for p, k in zip(parents, known, strict=True)
                                      if not k])
        if not known.any():
            return
        parents = [p for p, k in zip(parents, known, strict=True) if k]
        n = len(parents)
        ex = self.config.execution
        est = self.cost_model.predict({
            "quantity": np.array([p.quantity for p in parents], dtype=float),
            "price": arrival[known], "adv": adv[known], "daily_vol": vol[known],
            "spread_bps": spread[known],
            "strategy": np.array([STRATEGY_CODES[p.strategy.value] for p in parents]),
            "is_sell": np.array([p.side is Side.SELL for p in parents]),
            "start_minute": np.full(n, minute),
            "horizon_minutes": np.full(n, float(ex.horizon_minutes)),
            "limit_offset_bps": np.full(n, float(ex.limit_offset_bps)),
            "fees_on": pd.Timestamp(snap.timestamp).date(),
            "order_ids": [p.parent_id for p in parents],
        })
        for p, bps, std in zip(parents, est.total_bps, est.timing_risk_bps, strict=True):
            self.predicted_cost[p.parent_id] = (float(bps), float(std))

    def _cost_predictor(self, parent: ParentOrder, arrival_price: float) -> tuple[float, float]:
        return self.predicted_cost.get(parent.parent_id, (float("nan"), float("nan")))

    def _observe_completed_parents(self) -> None:
        """Realised shortfall minus predicted cost of every parent that completed since the
        last bar (once each; parents without a prediction, e.g. recovered after a restart,
        are skipped)."""
        e = self.engine
        done = [pid for pid in self.predicted_cost
                if pid not in self._cost_observed and e.parents[pid].done]
        if not done:
            return
        from research.execution.quality import execution_quality

        wanted = set(done)
        for q in execution_quality(e, self._cost_predictor):
            if q.parent_id not in wanted:
                continue
            self._cost_observed.add(q.parent_id)
            if q.filled_quantity == 0 or not np.isfinite(q.shortfall_bps):
                continue
            diff = q.shortfall_bps - q.predicted_cost_bps
            self.metrics.slippage_vs_model.observe(diff)
            if np.isfinite(q.slippage_z):
                self.metrics.slippage_z.observe(q.slippage_z)
            self.log.info("parent_cost", parent_id=q.parent_id, symbol=q.symbol,
                          shortfall_bps=round(q.shortfall_bps, 3),
                          predicted_bps=round(q.predicted_cost_bps, 3),
                          predicted_std_bps=round(q.predicted_std_bps, 3),
                          slippage_vs_model_bps=round(diff, 3), fill_rate=q.fill_rate)

    def _close_session(self) -> None:
        """Append the session that just ended to the daily closes (its last traded prices), so
        a process that trades across sessions decides the next one on up-to-date closes, not
        on those it was started with."""
        day, close = self._day, self._session_close
        self._session_close = None
        if day is None or close is None or day in self.closes.index or not np.isfinite(
                close).any():
            return
        # a symbol without a single bar this session (halted, late feed) keeps its previous
        # close: a NaN would read as "unpriced" and the next rebalance would sell it out
        previous = self.closes.loc[self.closes.index < day]
        if not previous.empty:
            close = np.where(np.isfinite(close), close, previous.iloc[-1].to_numpy(float))
        row = pd.DataFrame([close], index=pd.DatetimeIndex([day]), columns=self.closes.columns)
        self.closes = pd.concat([self.closes, row]).sort_index()
        self.log.info("session_closed", day=f"{day:%Y-%m-%d}",
                      closes_from="last traded price of each symbol's last bar")

    def _priced_now(self, parents: list[ParentOrder], snap: MarketSnapshot
                    ) -> tuple[list[ParentOrder], list[ParentOrder]]:
        """(parents whose symbol has a price on this bar, the others). A symbol without one
        (not yet open, halted) cannot get an arrival price: its parent waits for a bar that
        prices it, instead of stopping the run. Kept in memory: a restart re-decides the
        session only if no parent of it was registered."""
        index = self._symbol_index
        ok = np.isfinite(snap.close) | (np.isfinite(snap.bid) & np.isfinite(snap.ask))
        now = [p for p in parents if ok[index[p.symbol]]]
        later = [p for p in parents if not ok[index[p.symbol]]]
        if later and self._deferred_logged != len(later):
            self._deferred_logged = len(later)
            self.log.warning("parents_deferred", reason="no price on this bar",
                             parents=[p.parent_id for p in later])
        return now, later

    def _prepare_next_session_after(self, snap: MarketSnapshot) -> None:
        """After the session's last bar: close it and prepare the next one now, after this
        bar's orders, so the next open's first bar does not pay the risk refit (4-9 ms).
        Skipped when halting; a failure is logged and left to the next session's first bar."""
        last, nxt = self._last_bar_at, self._next_session
        if last is None or nxt is None or self._day is None:
            return
        ts = snap.timestamp
        if ts.tzinfo is None:  # naive bar times are exchange wall time
            last = last.replace(tzinfo=None)
        if ts < last or self.kill.engaged or self.engine.trading_state is TradingState.HALTED:
            return
        try:
            self._close_session()
            self.prepare_session(nxt)
        except Exception as exc:  # noqa: BLE001 - the next open retries; this bar is done
            self.log.warning("next_session_not_prepared", session=f"{nxt:%Y-%m-%d}",
                             error=str(exc))

    def _book_fills(self, snap: MarketSnapshot) -> None:
        """Put the fills since the risk refit into the risk manager's book, so the pre-trade
        check of the next child sees the position its siblings built (one aggregate fill per
        child and bar, at its average price)."""
        booked = self._risk_booked
        for cid, c in self.engine.children.items():
            q0, n0 = booked.get(cid, (0, 0.0))
            dq = c.filled_quantity - q0
            if dq <= 0:
                continue
            booked[cid] = (c.filled_quantity, c.filled_notional)
            self.risk.on_fill(c.symbol, c.side, dq, (c.filled_notional - n0) / dq,
                              when=snap.timestamp)

    def _after_bar(self, snap: MarketSnapshot) -> None:
        close = np.asarray(snap.close, dtype=float)
        prev = self._session_close
        self._session_close = close.copy() if prev is None else np.where(
            np.isfinite(close), close, prev)
        self._prepare_next_session_after(snap)
        e = self.engine
        m = self.metrics
        m.set_trading_state(e.trading_state.value.upper())
        m.symbols_paused.set(float(np.sum(e.market_breakers.paused)))
        ts = pd.Timestamp(snap.timestamp).timestamp()
        m.last_bar.set(ts)
        m.staleness.set(max(0.0, self.clock() - ts))
        self._book_fills(snap)
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
        if self.predicted_cost:
            self._observe_completed_parents()

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


def _session_edges(day: pd.Timestamp, bar_minutes: float = 1.0
                   ) -> tuple[datetime | None, pd.Timestamp | None]:
    """(start of ``day``'s last bar of ``bar_minutes``, tz-aware; the next session's date)
    from the exchange calendar; (None, None) when the calendar does not know ``day``."""
    from research.data.calendar import sessions

    try:
        ahead = sessions(day, day + pd.Timedelta(days=10))
    except Exception:  # noqa: BLE001 - a date outside the calendar: no early preparation
        return None, None
    if len(ahead) < 2 or ahead.index[0] != day:
        return None, None
    last = (ahead["close"].iloc[0] - pd.Timedelta(minutes=bar_minutes)).to_pydatetime()
    return last, ahead.index[1]
