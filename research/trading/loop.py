"""The trading loop: a run config turned into orders, bar by bar — one kernel for replays and
live trading. It knows a :class:`~research.execution.Broker`, a bar source (any iterable of
:class:`~research.execution.MarketSnapshot`) and a clock, nothing else: ``sim`` drives it over
the simulated broker, ``live`` over Tiger.

Per bar (:meth:`TradingLoop.on_bar`):

1. a new session: the previous one is closed (its last prices join the daily closes) and this
   one prepared, unless that was done after the previous session's last bar —
   :meth:`prepare_session`: risk refit on closes strictly before the day, NAV from the broker,
   the portfolio strategy's target weights;
2. on the first bar of a rebalance session: target shares at NAV and the previous close,
   parent orders with deterministic ids ``<config>-<YYYYMMDD>-<SYMBOL>``, each with its
   execution algorithm and all its parameters (:class:`~research.trading.AlgorithmPlanner`);
   a parent whose symbol has no price yet waits for one; a parent whose algorithm cannot be
   built is refused (logged) before anything is journaled;
3. ``engine.on_bar`` — the execution engine with the risk manager's pre-trade check;
4. fills booked into the risk manager as the engine applies them (inside step 3, so the next
   child's check sees them); each parent's cost predicted at arrival and its
   realised shortfall compared when it completes; parents that sent nothing for
   ``execution.parent_idle_bars`` bars logged with the reason;
5. after the session's last bar (exchange calendar, early closes included): the session is
   closed and the next one prepared, so the next open does not pay for it.

Nothing is logged between the bar and its last order: that path is live's latency budget
(benchmarks/bench_live.py). Drivers add what only they have by overriding the driver hooks —
``on_risk_refit``, ``on_orders_sent``, ``on_bar_done``, ``on_parent_cost`` (no-ops here; live
feeds its metrics from them), :meth:`stop_reason` (live's kill switch) and
:meth:`bar_is_current` (whether the broker's marks are at a bar's prices, which those a
restart catches up on are not).

A session prepared after it opened (a restart mid-session, a late start; only a loop with a
clock can tell) does not take its opening book from the broker's NAV then, which holds the
session's move and fills already: it is rebuilt from that NAV, the journal's fills of the
session and a bar's prices, and the daily-loss limit is measured against the rebuilt opening
NAV (:meth:`TradingLoop._reopen_after_the_open`).
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.data.sectors import sector_map
from research.domain import Algorithm, Side
from research.execution import (
    BrokerError,
    EventKind,
    ExecutionEngine,
    Journal,
    MarketSnapshot,
    ParentOrder,
    ReconciliationError,
    TradingState,
)
from research.execution.model import fill_from_json
from research.execution.risk_check import RiskManagerCheck
from research.risk.errors import UnknownSectorError
from research.strategies import portfolio_strategy
from research.trading.algorithm_params import AlgorithmInputError, AlgorithmPlanner
from research.trading.closes import SessionCloses
from research.trading.cost_watch import CostWatch
from research.trading.rebalance import (
    cost_aware_trade,
    is_rebalance_session,
    rebalance_parents,
    target_shares,
    within_exposure_limits,
)
from research.trading.sessions import (
    exchange_date,
    minutes_after_open,
    session_edges,
    session_opened_by,
)

# A symbol joins the risk model (and so the strategy's universe) once it has a return on this
# share of the sessions the best-covered symbol has one in the risk model's window: a name that
# begins trading inside the replay would otherwise cut every name's window to its own short
# history (the fit keeps the sessions where all covered names have a return). 0.9: a name that
# begins a few sessions after the others, or misses a few closes, is in from the start.
JOIN_COVERAGE = 0.9

# A symbol without a bar on this many sessions in a row has stopped trading (a delisting, a long
# halt, a feed that lost it): it is no longer sized; a position in it is kept at its last close
# (what a cash-out at that price would be worth) and the others are sized on the rest of NAV.
# Shorter gaps (a halt of a day or two) are carried: the name keeps its last close and weight.
STALE_SESSIONS = 5


def risk_settings_for(config: Any, settings: Any) -> Any:
    """The process's risk settings with the run config's limits in force (``RiskSettings``
    extends ``RiskLimits``: the same fields, no mapping)."""
    return settings.risk.model_copy(update=config.risk.model_dump())


def _reducing_only(held: np.ndarray, pending: np.ndarray) -> np.ndarray:
    """Of the shares open parents still have to trade, those that shrink the held position:
    what a drift reduction can count on. A working buy of a long position is left out — its
    children may all be refused (a VaR budget in breach) and the parent expire unfilled, and a
    reduction sized as if it would fill sold the position past flat, a long book short."""
    return np.where(np.sign(pending) == -np.sign(held), pending, 0)


def _towards_flat(position: np.ndarray, trade: np.ndarray) -> np.ndarray:
    """``trade`` cut to what reduces ``position`` (the book once the working reductions fill)
    without passing flat: a reduce-only order never opens or flips a position."""
    return np.where(position > 0, np.clip(trade, -position, 0),
                    np.where(position < 0, np.clip(trade, 0, -position), 0))


def _run_fee_schedule(config: Any, settings: Any) -> Any:
    """The fee schedule of the run config (what fee-aware slicing prices children with), or
    None when the policy does not slice by fees."""
    if getattr(config.execution, "max_child_fee_bps", None) is None:
        return None
    from research.costs import fee_schedule

    return fee_schedule(config.cost_model.fee_schedule, flat_bps=settings.costs.flat_fee_bps)


class _NullLog:
    """Logger used when none is given: drops every line."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *a, **k: None


class TradingLoop:
    """Parameters: ``config`` (RunConfig), ``settings`` (Settings: risk, execution), ``broker``
    (Broker protocol), ``daily_closes`` (wide frame of daily closes, session dates x symbols,
    covering the strategy and risk lookbacks), ``run_id`` (part of every client order id),
    ``journal_path`` (the engine's SQLite journal; ``":memory:"`` for a replay that is rerun,
    not recovered), ``bar_minutes`` (minutes per bar: horizons are in bars), ``cost_model`` (a
    fitted ``research.costs.CostModel``: cost predictions, and VWAP's and IS's inputs),
    ``logger`` (structlog-style), ``alert_sinks`` (risk alert sinks), ``risk_event_limit`` (the
    risk trims and rejects kept in :attr:`risk_events`; None: all, for a replay), ``sleep``
    (the engine's retry back-off; a replay passes a no-op), ``commit_every_bar`` (the engine's:
    False for an in-memory journal, whose commits buy nothing), ``clock`` (the engine's "now":
    None, the bar's own stamp, for replays; a wall clock for trading in real time, so that the
    market-data staleness breaker can see a feed that fell behind).

    The loop keeps its copy of ``cost_model`` current: at each decision its per-symbol ADV
    and volatility are refreshed (``CostModel.refresh_state``) from the closes and the
    complete sessions' volumes the loop holds, so a run of many sessions does not price its
    orders with the market of its first day.
    """

    def __init__(self, config: Any, settings: Any, broker: Any, daily_closes: pd.DataFrame, *,
                 run_id: str, journal_path: str | Path, bar_minutes: float = 1.0,
                 cost_model: Any = None, logger: Any = None, alert_sinks: Iterable[Any] = (),
                 sleep: Callable[[float], None] = time.sleep, commit_every_bar: bool = True,
                 risk_event_limit: int | None = None,
                 clock: Callable[[], datetime] | None = None):
        from research.risk import AlertManager, RiskManager

        self.config = config
        self.settings = settings
        self.broker = broker
        self.run_id = run_id
        self.journal_path = journal_path if journal_path == ":memory:" else Path(journal_path)
        self.bar_minutes = float(bar_minutes)
        self._sleep = sleep
        self._commit_every_bar = commit_every_bar
        self._clock = clock
        self.log = logger if logger is not None else _NullLog()
        self.symbols = tuple(config.universe.symbols or daily_closes.columns)
        missing = [s for s in self.symbols if s not in daily_closes.columns]
        if missing:
            raise ValueError(f"daily closes lack universe symbol(s) {missing}")
        self._closes = SessionCloses(daily_closes[list(self.symbols)])
        # sessions in a row each symbol has had no bar (see STALE_SESSIONS), and each time one
        # stopped or resumed trading
        self._without_bar = self._closes.sessions_without_close()
        # whether each symbol has had a bar yet: a name's first bar is a listing, not a resumption
        self._had_bar = np.isfinite(
            self._closes.values_before(pd.Timestamp.max.normalize())).any(axis=0)
        self.trading_changes: list[dict[str, Any]] = []
        risk = risk_settings_for(config, settings)
        self.risk = RiskManager(risk, sector_map(config.universe.sectors), alerts=AlertManager(
            list(alert_sinks), cooldown_seconds=risk.alert_cooldown_seconds))
        # every symbol's sector now, not when it first joins the risk model (_risk_coverage):
        # a name listed inside the replay would otherwise stop the run the session it joins,
        # or, if it never joins, only the attribution at the end
        unknown = [s for s in self.symbols if s not in self.risk.sectors]
        if unknown:
            raise UnknownSectorError(
                f"no sector known for symbol(s) {unknown}: name them in the run config's "
                "universe.sectors (symbol: sector); the embedded map "
                "(research.data.sectors.GICS_SECTOR) covers the 20 embedded names only")
        self.strategy = portfolio_strategy(config)
        # the loop's own copy: refresh_state replaces the per-symbol series at each decision,
        # and the caller's fitted model must not change under it (a shallow copy suffices)
        cost_model = copy.copy(cost_model)
        if config.strategy.no_trade_band == "cost_aware" and cost_model is None:
            raise ValueError("strategy.no_trade_band 'cost_aware' needs a fitted cost model "
                             "(it compares each trade's predicted cost with its benefit)")
        # closes a session reads: the strategy's lookback (all history when it does not say)
        # and the risk model's returns window
        need = getattr(self.strategy, "history_sessions", None)
        self._history_rows = None if need is None else max(int(need), risk.var_lookback_days + 1)
        self.planner = AlgorithmPlanner(config.execution, bar_minutes=self.bar_minutes,
                                        cost_model=cost_model,
                                        fee_schedule=_run_fee_schedule(config, settings))
        self.planner.check()  # an algorithm that can never be built fails before any order
        self.engine: ExecutionEngine | None = None
        self.initial_positions: dict[str, int] = {}
        self._decided: set[str] = set()
        self._day: pd.Timestamp | None = None
        # last traded price per symbol in the current session: becomes its daily close
        self._session_close: np.ndarray | None = None
        # the current session's volume so far, whether the loop saw its open, and the volumes
        # of the last complete sessions: what keeps the cost model's ADV current
        self._session_volume = np.zeros(len(self.symbols))
        self._session_from_open = False
        self._volumes: deque[tuple[pd.Timestamp, np.ndarray]] = deque(
            maxlen=int(getattr(cost_model, "adv_lookback_days", 0) or 0))
        # parents decided on a bar that had no price for their symbol, added when one comes
        self._deferred: list[ParentOrder] = []
        self._deferred_logged = 0
        self.refused: dict[str, str] = {}  # parent id -> why its algorithm could not be built
        self.dropped: dict[str, str] = {}  # parent id -> why it was never registered
        self._symbol_index = {s: i for i, s in enumerate(self.symbols)}
        # stamp (close) of the current session's last bar, and the next session's date
        self._last_bar_at: datetime | None = None
        self._next_session: pd.Timestamp | None = None
        # session -> (target weights, previous closes, NAV $): prepared before its first bar
        self._session: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray, float]] = {}
        self._rebalance_days: dict[pd.Timestamp, bool] = {}  # prepared with the session
        self._day_cache: tuple[Any, pd.Timestamp | None, str] = (None, None, "")
        self.last_snapshot: MarketSnapshot | None = None
        self._bar_time: datetime | None = None
        self.decisions: list[dict[str, Any]] = []  # every rebalance decision, in order
        self.cost_model = cost_model
        self.costs = (CostWatch(cost_model, self.symbols, config.execution, self.log,
                                lambda q, diff: self.on_parent_cost(q, diff))
                      if cost_model is not None else None)
        # idle watch: parent -> (children sent when last seen, open-market bars without one)
        self._open_parents: dict[str, tuple[int, int]] = {}
        self.idle: dict[str, str] = {}  # parent id -> why it has sent nothing lately
        # every pre-trade trim or reject by the risk limits (a process trading for weeks keeps
        # the last ``risk_event_limit``: the status shows them, the log has them all)
        self.risk_events: list[dict[str, Any]] | deque = (
            [] if risk_event_limit is None else deque(maxlen=risk_event_limit))
        self._strategy_weights = np.zeros(len(self.symbols))  # before the breach policy
        # intraday mark: the session's opening book (shares, previous closes, NAV) and the
        # signed shares and dollars of the fills since
        self._open_book: tuple[np.ndarray, np.ndarray, float] | None = None
        self._today_shares = np.zeros(len(self.symbols))
        self._today_dollars = np.zeros(len(self.symbols))
        # a session prepared after its open (a restart, a late start): the broker's NAV then
        # and the session's fills it holds (signed shares, dollars), from which the opening
        # NAV is rebuilt at each mark until a bar's prices are the broker's marks (see
        # _reopen_after_the_open); None once the opening book is settled
        self._reopening: tuple[float, np.ndarray, np.ndarray] | None = None
        self._halted_for_loss = False
        # each session's limits as the book stood at its close (measured, and what they were
        # measured on), and each session's risk forecast from the refit before it: a replay's
        # record of how close the book ran to its limits and what VaR it expected
        self.limit_usage: list[dict[str, Any]] = []
        self.risk_forecasts: list[dict[str, Any]] = []
        # the symbols the risk model is fitted on (see _risk_coverage) and each change of them
        self._risk_covered: np.ndarray | None = None
        self._risk_rows = np.arange(len(self.symbols))
        self._risk_names: tuple[str, ...] = tuple(self.symbols)
        self.coverage_changes: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ start-up
    def start(self, initial_positions: dict[str, int] | None = None) -> ExecutionEngine:
        """Open the journal, replay it and reconcile with the broker (``initial_positions``:
        the account's holdings when the run first started); raises before any order on a
        mismatch it cannot explain."""
        self.initial_positions = {s: int(q) for s, q in (initial_positions or {}).items()}
        ex = self.settings.execution
        if isinstance(self.journal_path, Path):
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        # no WAL checkpoint inside a commit (a bar): prepare_session checkpoints before the open
        journal = Journal(self.journal_path, synchronous=ex.journal_synchronous,
                          autocheckpoint=False)
        engine = ExecutionEngine(
            self.run_id, self.symbols, self.broker, journal, ex,
            risk_check=RiskManagerCheck(self.risk, on_limited=self._record_risk_event),
            initial_positions=self.initial_positions,
            sleep=self._sleep, commit_every_bar=self._commit_every_bar, clock=self._clock,
            on_fill=self._book_fill, before_orders=self._mark_to_market,
        )
        engine.recover()
        # the run's first events reach the database file now, not at the first WAL checkpoint:
        # a journal an OS crash wiped entirely would look like a fresh run and skip the probes
        journal.checkpoint()
        self.engine = engine
        self._warm_up()
        # no session counts as decided after a restart: the first bar re-decides, and parents
        # registered before the crash are skipped by id (add_parent is idempotent), so a parent
        # that was deferred or refused in memory when the process died is decided again
        self._decided = set()
        self._open_parents = {pid: (len(ps.children), 0) for pid, ps in engine.parents.items()
                              if not ps.done}
        self.log.info("reconciled", positions=self.book(), parents=len(engine.parents),
                      open_orders=len(engine.open_children()))
        return engine

    def _warm_up(self) -> None:
        """Load the compiled kernels (market breakers, cost model; ~1 s from numba's cache) on
        throwaway inputs, so the first bar does not pay for them."""
        last = self._closes.last_row()
        n = len(self.symbols)
        now = datetime(2000, 1, 3, 10, 0)
        snap = MarketSnapshot(0, now, self.symbols, last, last, last, last, np.zeros(n),
                              np.full(n, np.nan), np.full(n, np.nan))
        copy.deepcopy(self.engine.market_breakers).conditions(snap, now)
        if self.cost_model is not None:
            self.cost_model.predict({
                "quantity": np.ones(1), "price": np.full(1, 100.0), "adv": np.full(1, 1e6),
                "daily_vol": np.full(1, 0.02), "spread_bps": np.full(1, 5.0),
                "algorithm": np.zeros(1, dtype=np.int64), "is_sell": np.zeros(1, dtype=bool),
                "start_minute": np.zeros(1), "horizon_minutes": np.full(1, 30.0),
                "limit_offset_bps": np.zeros(1)})

    @property
    def closes(self) -> pd.DataFrame:
        """The daily closes the loop holds: those it started with and each session it closed
        since (a copy; the loop reads them through :class:`SessionCloses`)."""
        return self._closes.frame

    def book(self) -> dict[str, int]:
        """Shares held per symbol: the initial positions plus this run's fills."""
        e = self.engine
        init = self.initial_positions
        out = {s: int(init.get(s, 0)) + int(e.positions.get(s, 0)) for s in self.symbols}
        return {s: q for s, q in out.items() if q}

    # ------------------------------------------------------------------ decisions
    def _is_rebalance_session(self, day: pd.Timestamp) -> bool:
        previous = self._closes.previous_session(day)
        if previous is None:
            raise ValueError(f"no daily close before {day.date()} to decide on")
        strategy = self.config.strategy
        return is_rebalance_session(strategy.rebalance, day, previous,
                                    strategy.rebalance_every_sessions, self.config.universe.start)

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
        """Parent orders of a rebalance on ``snap``'s session (empty if not one, or done),
        before their algorithm parameters are planned."""
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
        held = self.book()
        shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
        pending = self._still_to_trade()
        if rebalance == "reduce":
            pending = _reducing_only(shares, pending)
        # shares that parents still working (from an earlier session) will still trade: the new
        # trade is what is left to do, not the gap again
        shares += pending
        # a position in a name that stopped trading cannot be sold: kept at its last close. The
        # weights are fractions of NAV with it in (_kept_not_trading: the strategy's sized on
        # the rest of NAV), as are a breach policy's and a drift reduction's, which start from
        # the book: sized on all of NAV here, none of them borrows it or sells the others
        frozen = self._not_trading & (shares != 0)
        frozen_value = float(np.sum(shares[frozen] * np.nan_to_num(price[frozen])))
        target = target_shares(weights, nav, price)
        if frozen.any():
            self.log.warning("positions_not_trading", session=f"{day:%Y-%m-%d}",
                             symbols=[s for s, f in zip(self.symbols, frozen, strict=True) if f],
                             value=frozen_value, effect="kept at the last close; the others "
                             "are sized on NAV less their value")
            target[frozen] = shares[frozen]
        unpriced = [s for s, px, w, q in zip(self.symbols, price, weights, shares, strict=True)
                    if not (np.isfinite(px) and px > 0) and (w != 0 or q != 0)]
        if unpriced:  # neither sized nor sold out on a missing close: left as they are
            self.log.error("symbols_unpriced", session=f"{day:%Y-%m-%d}", symbols=unpriced,
                           effect="no close before the session: not traded this rebalance")
            keep = np.isin(np.asarray(self.symbols, dtype=object), unpriced)
            target[keep] = shares[keep]
        trade = target - shares
        if rebalance == "reduce":
            trade = _towards_flat(shares, trade)
        skipped = 0
        if rebalance is True and self.config.strategy.no_trade_band == "cost_aware":
            banded = cost_aware_trade(trade, price, self.costs.trade_cost_usd(trade, price, day),
                                      self.config.strategy.no_trade_benefit_bps)
            skipped = int(np.count_nonzero(banded != trade))
            trade = banded
        algo = Algorithm(self.config.execution.algorithm)
        horizon = self.planner.horizon_bars
        parents = rebalance_parents(key, self.symbols, trade, algo, horizon,
                                    reduce_only=rebalance == "reduce")
        decided = {"session": f"{day:%Y-%m-%d}", "nav": nav, "parents": len(parents),
                   "algorithm": algo.value, "horizon_bars": horizon,
                   "kind": "drift reduction" if rebalance == "reduce" else "rebalance",
                   "skipped_by_no_trade_band": skipped}
        self.decisions.append({**decided, "bar": snap.bar_index,
                               "weights": dict(zip(self.symbols, weights.tolist(), strict=True)),
                               "strategy_weights": dict(zip(
                                   self.symbols, self._strategy_weights.tolist(), strict=True))})
        return parents, decided

    def _within_limits(self, day: pd.Timestamp, weights: np.ndarray, shares: np.ndarray,
                       price: np.ndarray, nav: float) -> np.ndarray:
        """The session's target weights under ``risk.on_target_breach`` (see RiskLimits): as
        given ('trim': each child is cut pre-trade), moved the largest compliant fraction of
        the way ('rescale'), or the book as it is when the target breaches ('reject')."""
        held = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0) / nav
        weights = self._without_correlated_opens(day, weights, held)
        policy = self.risk.settings.on_target_breach
        if policy == "trim":
            return weights
        decision = self.risk.check_target(dict(zip(
            self._risk_names, weights[self._risk_rows].tolist(), strict=True)))
        if decision.decision.value == "approved":
            return weights
        limits = ",".join(r.value for r in decision.reasons)
        if policy == "reject":
            out = held
            self.log.warning("rebalance_rejected", session=f"{day:%Y-%m-%d}", limits=limits,
                             reason=decision.message)
        else:
            out = held + decision.fraction * (weights - held)
            self.log.warning("rebalance_rescaled", session=f"{day:%Y-%m-%d}", limits=limits,
                             fraction=round(decision.fraction, 6), reason=decision.message)
        self.risk_events.append({
            "time": f"{day:%Y-%m-%d}", "symbol": "*", "side": "target",
            "requested": 1.0, "allowed": 0.0 if policy == "reject" else decision.fraction,
            "decision": "rejected" if policy == "reject" else "rescaled", "limits": limits,
            "message": decision.message})
        return out

    def _without_correlated_opens(self, day: pd.Timestamp, weights: np.ndarray,
                                  held: np.ndarray) -> np.ndarray:
        """The pairwise-correlation limit at a rebalance: a position the target opens is
        refused (weight 0) when its P&L would correlate above the limit with a position held or
        kept before it. Held positions come first, then new ones by target weight, largest
        first (ties: universe order) — so of a correlated pair opened together, the smaller
        target is the one refused. (The pre-trade check alone would let both through: when
        their first children are checked neither is held yet.)"""
        limit = self.risk.settings.max_pairwise_correlation
        index = {s: i for i, s in enumerate(self.risk.symbols)}
        rows = np.array([index.get(s, -1) for s in self.symbols])
        corr = self.risk.correlation
        kept = [k for k in range(len(weights)) if held[k] != 0 and weights[k] != 0]
        opening = [k for k in range(len(weights)) if held[k] == 0 and weights[k] != 0]
        opening.sort(key=lambda k: -abs(weights[k]))  # stable: ties keep universe order
        out = weights.copy()
        for k in opening:
            if rows[k] < 0:
                kept.append(k)
                continue
            partners = [j for j in kept if rows[j] >= 0 and np.sign(weights[k]) * np.sign(
                weights[j]) * corr[rows[k], rows[j]] > limit]
            if not partners:
                kept.append(k)
                continue
            j = partners[0]
            rho = float(corr[rows[k], rows[j]])
            out[k] = 0.0
            why = (f"{self.symbols[k]} not opened: its correlation with {self.symbols[j]} "
                   f"({rho:.2f}) is over the limit {limit:.2f}, and {self.symbols[j]} is held "
                   "or has the larger target")
            self.log.warning("correlated_open_refused", session=f"{day:%Y-%m-%d}",
                             symbol=self.symbols[k], partner=self.symbols[j],
                             correlation=round(rho, 4), limit=limit)
            self.risk_events.append({
                "time": f"{day:%Y-%m-%d}", "symbol": self.symbols[k], "side": "target",
                "requested": float(weights[k]), "allowed": 0.0, "working": 0,
                "decision": "rejected", "limits": "pairwise_correlation", "message": why})
        return out

    def _kept_not_trading(self, weights: np.ndarray, shares: np.ndarray, price: np.ndarray,
                          nav: float) -> np.ndarray:
        """The strategy's ``weights`` (fractions of what it sizes) as fractions of NAV: a held
        name that stopped trading keeps its weight (its position at its last close), the
        others share the rest. The breach policies then compare them with the book's weights
        and the target check measures the book as it will be, the kept position in it."""
        frozen = self._not_trading & (shares != 0)
        if not frozen.any():
            return weights
        held = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0) / nav
        out = weights * max(0.0, 1.0 - float(held[frozen].sum()))
        out[frozen] = held[frozen]
        return out

    def _drift_reduced(self, day: pd.Timestamp, shares: np.ndarray, price: np.ndarray,
                       nav: float) -> np.ndarray | None:
        """The book brought back within its exposure limits, or None if it is within them. A
        position in a name that stopped trading cannot be reduced: it is kept as it is (one over
        a limit on its own is not a drift the book can trade back)."""
        held = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0) / nav
        sectors = [self.risk.sectors.get(s, s) for s in self.symbols]
        target = within_exposure_limits(held, sectors, self.risk.settings)
        frozen = self._not_trading & (shares != 0)
        target[frozen] = held[frozen]
        if np.allclose(target, held, rtol=0.0, atol=1e-12):
            return None
        over = [s for s, a, b in zip(self.symbols, held, target, strict=True) if a != b]
        self.log.warning("drift_reduced", session=f"{day:%Y-%m-%d}", symbols=over,
                         effect="reduce-only orders at the open bring the book to the limits")
        self.risk_events.append({
            "time": f"{day:%Y-%m-%d}", "symbol": ",".join(over), "side": "target",
            "requested": 1.0, "allowed": 1.0, "decision": "reduced",
            "limits": "drift", "message": "positions over their limits after price moves"})
        return target

    def _still_to_trade(self) -> np.ndarray:
        """Signed shares that registered, unfinished parents have still to fill, per symbol."""
        out = np.zeros(len(self.symbols), dtype=np.int64)
        for pid in self._open_parents:
            ps = self.engine.parents[pid]
            if not ps.done:
                out[ps.symbol_index] += ps.parent.side.sign * (ps.parent.quantity - ps.filled)
        return out

    def _planned(self, parents: list[ParentOrder], snap: MarketSnapshot
                 ) -> list[tuple[ParentOrder, Any]]:
        """(parent with its algorithm parameters, its algorithm) of each of ``parents``; a
        parent whose algorithm cannot be built is refused here (never journaled) and named in
        the log and the status."""
        if not parents:
            return parents
        index = self._symbol_index
        rows = [index[p.symbol] for p in parents]
        mid = snap.mid()[rows]
        minute = minutes_after_open(snap.timestamp)
        out = []
        for p, px in zip(parents, mid.tolist(), strict=True):
            try:
                out += self.planner.plan([p], [px], minute, snap.timestamp)
            except AlgorithmInputError as exc:
                self.refused[p.parent_id] = str(exc)
                self.log.error("parent_refused", parent_id=p.parent_id, symbol=p.symbol,
                               algorithm=p.algorithm.value, reason=str(exc))
        return out

    def _update_risk(self, values: np.ndarray, shares: np.ndarray, price: np.ndarray,
                     nav: float, when: datetime) -> None:
        lookback = int(self.risk.lookback)
        values = self._held_through_gaps(values, shares, price, when)
        # simple daily returns (numpy: the pandas form cost ~1 ms a session)
        with np.errstate(invalid="ignore", divide="ignore"):
            returns = values[1:] / values[:-1] - 1.0
        covered = self._risk_coverage(returns[-lookback:], shares)
        # the sessions where every covered symbol has two closes
        returns = returns[:, covered]
        complete = np.isfinite(returns).all(axis=1)
        returns = returns[complete][-lookback:]
        need = max(int(covered.sum()) + 1,
                   math.ceil(1.0 / (1.0 - self.risk.confidence) - 1e-9))
        if len(returns) < need:
            self._refuse_short_history(values[:, covered], int(complete.sum()), need, when,
                                       [s for s, c in zip(self.symbols, covered,
                                                          strict=True) if c])
        weights = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0) / nav
        snap = self.risk.update(returns, weights[covered], nav=nav,
                                symbols=[s for s, c in zip(self.symbols, covered, strict=True)
                                         if c], as_of=when)
        # after the update: a refit that fails (and the next open retries) leaves the marks and
        # target checks aligned to the names the risk manager still has
        self._note_coverage(covered, when)
        one_day = self.risk.one_day_risk()  # what a daily VaR backtest tests
        self.risk_forecasts.append({
            "session": f"{when:%Y-%m-%d}", "nav": nav, "var": snap.var, "cvar": snap.cvar,
            "var_1d": one_day.var, "cvar_1d": one_day.cvar,
            "var_gaussian": snap.var_gaussian, "volatility": snap.volatility,
            "horizon_days": snap.horizon, "confidence": snap.confidence,
            "observations": snap.n_observations})
        self.on_risk_refit(snap, weights, nav)

    def _held_through_gaps(self, values: np.ndarray, shares: np.ndarray, price: np.ndarray,
                           day: datetime) -> np.ndarray:
        """``values`` (the closes before ``day``'s session) with each held symbol (or still
        being traded), and each that stopped trading, at its last close over the sessions it
        had none (a halt, a stop; the loop clears a stop's carried closes, and a data
        source's history never had them), from before the window where a gap begins it. A
        held name is always in the risk fit,
        which keeps only the sessions where every fitted name has a return: without this, a
        halt of a held name would take its sessions out of every name's fit — a VaR window that
        shrinks for the whole book, then, once the gap outgrows the window's slack, a refit
        refused for too little history. A position that cannot trade has a flat price: zero
        returns are what the book held."""
        keep = (shares != 0) | (self._not_trading & np.isfinite(price))
        if self.engine is not None and self._open_parents:  # always fitted too
            keep |= self._still_to_trade() != 0
        keep &= ~np.isfinite(values).all(axis=0)
        if not keep.any():
            return values
        before = self._closes.last_prices_before_window(pd.Timestamp(day), len(values))
        values = values.copy()
        rows = np.arange(len(values))
        for k in np.flatnonzero(keep):
            col = values[:, k]
            finite = np.isfinite(col)
            if finite.any():  # the last close before each gap
                col = col[np.maximum.accumulate(np.where(finite, rows, 0))]
            # a gap from the window's start: the close before it (none before a listing)
            values[:, k] = np.where(np.isfinite(col), col, before[k])
        return values

    def _risk_coverage(self, window: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """Which symbols the risk model is fitted on, from the returns ``window`` it fits on:
        those with a return on at least ``JOIN_COVERAGE`` of the sessions the best-covered
        symbol has one — so a name listed late (an IPO inside the replay, a dataset whose
        names begin on different dates) joins once it has that much history, instead of
        cutting every name's window to its own or stopping the run — and always the symbols
        held or still being traded, whose orders the pre-trade check must measure."""
        counts = np.isfinite(window).sum(axis=0)
        covered = counts >= JOIN_COVERAGE * counts.max(initial=0)
        covered &= (counts > 0) & ~self._not_trading  # a carried close's returns are no data
        covered |= shares != 0
        if self.engine is not None and self._open_parents:
            covered |= self._still_to_trade() != 0
        return covered

    def _note_coverage(self, covered: np.ndarray, when: datetime) -> None:
        """Keep the covered symbols (the risk model's names, in universe order) and log and
        record each symbol's joining: the strategy trades only what the risk model covers."""
        if self._risk_covered is not None and np.array_equal(covered, self._risk_covered):
            return
        before = self._risk_covered
        self._risk_covered = covered
        self._risk_rows = np.flatnonzero(covered)
        self._risk_names = tuple(self.symbols[k] for k in self._risk_rows)
        out = [s for s, c in zip(self.symbols, covered, strict=True) if not c]
        joined = ([] if before is None else
                  [s for s, c, b in zip(self.symbols, covered, before, strict=True) if c and not b])
        left = ([] if before is None else
                [s for s, c, b in zip(self.symbols, covered, before, strict=True) if b and not c])
        if before is None and out or joined or left:
            self.coverage_changes.append({"session": f"{when:%Y-%m-%d}", "joined": joined,
                                          "left": left, "not_covered": out})
            self.log.info("risk_coverage", session=f"{when:%Y-%m-%d}", joined=joined,
                          left=left, not_covered=out,
                          effect="the strategy sizes only the names the risk model covers")

    def _refuse_short_history(self, values: np.ndarray, complete: int, need: int,
                              when: datetime, names: list[str]) -> None:
        """A clear error instead of the risk model's: which names lack the history and from
        when, what the risk model needs, what to change."""
        lookback = int(self.risk.lookback)
        if lookback < need:  # the setting, not the data, is what is short
            raise ValueError(
                f"{when:%Y-%m-%d}: risk.var_lookback_days is {lookback}, but the risk model "
                f"needs at least {need} returns (more than the {len(names)} symbols it "
                f"covers, and a {1 - self.risk.confidence:.0%} VaR tail of one): raise it")
        closes = np.isfinite(values).sum(axis=0)
        short = sorted(zip(closes.tolist(), names, strict=True))[:3]
        fewest = ", ".join(f"{s} ({n} close(s))" for n, s in short)
        raise ValueError(
            f"{when:%Y-%m-%d}: {complete} session(s) before it have a return for every symbol "
            f"the risk model covers; it needs at least {need} (more than the {len(names)} "
            f"symbols, and a {1 - self.risk.confidence:.0%} VaR tail of one). Fewest closes: "
            f"{fewest}. Start later, or leave out the names with gaps in their closes (a "
            "session where a covered name has no close is left out of the fit)")

    def prepare_session(self, day: Any) -> tuple[np.ndarray, np.ndarray, float]:
        """Everything of ``day``'s session that depends only on data before it: the risk
        model refit (closes before the day, NAV from the broker), the portfolio strategy's
        target weights, the previous closes. Call it before the open (``qlab live`` does after
        start-up) so the first bar does not pay for it (nor for a broker account call);
        otherwise the first bar of the session does. It also checkpoints the journal's WAL
        (disabled inside commits, see Journal). Prepared after the session opened (a restart,
        a late start: the loop's clock says so; a replay has none), the opening book the
        intraday marks and the daily-loss limit start from is rebuilt instead of taken from
        the broker's NAV now (:meth:`_reopen_after_the_open`). Returns (weights, closes,
        NAV $)."""
        day = pd.Timestamp(day)
        day = (day.tz_localize(None) if day.tzinfo else day).normalize()
        ready = self._session.get(day)
        if ready is not None:
            return ready
        if self.engine is None:
            raise RuntimeError("start() first (reconciles before any order)")
        if not self.engine.journal.checkpoint():  # the WAL is folded back here, not in a bar
            self.log.warning("journal_checkpoint_busy", journal=str(self.journal_path),
                             effect="the WAL keeps growing until a checkpoint completes")
        values = self._closes.values_before(day, self._history_rows)
        if not len(values):
            raise ValueError(f"no daily close before {day.date()} to decide on")
        # each symbol's last close (a symbol without a bar on the last day keeps its previous
        # one: a NaN would read as "unpriced" and the book would value it at nothing)
        price = self._closes.last_prices_before(day)
        nav = float(self.broker.account().equity)
        held = self.book()
        shares = np.array([held.get(s, 0) for s in self.symbols], dtype=np.int64)
        # the refit book holds every fill so far; later ones reach it through _book_fill
        self._update_risk(values, shares, price, nav, day.to_pydatetime())
        self._open_book = (shares.astype(float), price, nav)
        self._today_shares[:] = 0.0
        self._today_dollars[:] = 0.0
        self._reopening = None
        # only a loop trading in real time has a clock to tell; a replay's accounting is left
        # as it is (one resumed mid-session included)
        if self._clock is not None and session_opened_by(day, self._clock()):
            self._reopen_after_the_open(day, shares, price, nav)
        rebalance = self._is_rebalance_session(day)
        # the strategy is asked on rebalance sessions only: its weights trade nowhere else
        # (an optimiser's solve would otherwise run every session of a long replay)
        weights = self._strategy_weights
        if rebalance:  # before the open: the breach policy costs the first bar nothing
            self._refresh_cost_model(day)
            past = self._closes.before(day, self._history_rows)  # a frame only when asked
            weights = self._strategy_target(past, day, shares, price, nav)
            self._strategy_weights = weights
            weights = self._kept_not_trading(weights, shares, price, nav)
            weights = self._within_limits(day, weights, shares, price, nav)
        elif self.risk.settings.on_drift == "reduce":
            reduced = self._drift_reduced(day, shares, price, nav)
            if reduced is not None:  # the session trades back to the limits, reduce-only
                weights, rebalance = reduced, "reduce"
                self._refresh_cost_model(day)
        self._session = {day: (weights, price, nav)}  # one session at a time
        self._rebalance_days = {day: rebalance}
        self._remember_day(day)  # the first bar finds its session date ready
        self._last_bar_at, self._next_session = session_edges(day)
        return self._session[day]

    def _reopen_after_the_open(self, day: pd.Timestamp, shares: np.ndarray, price: np.ndarray,
                               nav: float) -> None:
        """The opening book of a session prepared after its open. The broker's NAV then holds
        the session's move up to now and its fills so far, so marking it from the previous
        closes would count that move twice; and the daily-loss limit would be measured from
        a mid-session NAV. So the session's fills the journal holds become today's fills
        (the opening shares are the book without them), and the opening NAV is rebuilt, at
        each mark, as that broker NAV less the opening shares' move from the previous close
        and the fills marked, both at the bar's prices — until a bar the broker's marks are
        at (:meth:`bar_is_current`), where the broker's NAV is read again and the opening
        book settles (:meth:`_settle_opening_book`)."""
        fill_shares, fill_dollars, fills = self._journaled_fills_of(day)
        self._open_book = (shares - fill_shares, price, nav)
        self._today_shares[:] = fill_shares
        self._today_dollars[:] = fill_dollars
        self._reopening = (nav, fill_shares, fill_dollars)
        self.log.warning("session_prepared_after_open", session=f"{day:%Y-%m-%d}",
                         broker_nav=nav, fills_before=fills,
                         effect="the opening NAV, which the daily-loss limit is measured "
                                "against, is rebuilt from the broker's NAV at a bar's prices: "
                                "NAV - opening shares x (price - previous close) - the "
                                "session's fills marked at the price, net of fees")

    def _journaled_fills_of(self, day: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, int]:
        """(signed shares, signed dollars paid with fees, count) per symbol of the fills the
        journal holds for ``day``'s session: those of a previous process of this run, and
        those its reconciliation fetched from the broker."""
        shares = np.zeros(len(self.symbols))
        dollars = np.zeros(len(self.symbols))
        seen: set[tuple[str, str]] = set()
        for ev in self.engine.journal.events(kinds=(EventKind.REPORT, EventKind.FILL)):
            payload = ev.payload["fill"] if ev.kind is EventKind.REPORT else ev.payload
            if payload is None:
                continue
            fill = fill_from_json(payload)
            key = (fill.client_order_id, fill.fill_id)  # one fill, reported then queried
            if key in seen or exchange_date(fill.timestamp) != day.date():
                continue
            seen.add(key)
            i = self._symbol_index[fill.symbol]
            shares[i] += fill.side.sign * fill.quantity
            dollars[i] += fill.side.sign * fill.quantity * fill.price + fill.fees
        return shares, dollars, len(seen)

    def _reopened_nav(self, held_move: float, price: np.ndarray) -> float:
        """The session's opening NAV rebuilt from the broker's NAV of ``_reopening`` marked at
        ``price``: less the opening shares' move (``held_move``) and the fills it holds
        marked, net of their cost. The daily-loss limit is measured against it."""
        nav, fill_shares, fill_dollars = self._reopening
        nav_open = nav - held_move - float(np.nansum(fill_shares * price - fill_dollars))
        if nav_open > 0:
            self.risk.set_day_start_nav(nav_open)
        return nav_open

    def _settle_opening_book(self, snap: MarketSnapshot) -> None:
        """On a bar the broker's marks are at: the opening NAV rebuilt from the broker's NAV
        now and every fill of the session so far, then kept for the session, so the marked
        NAV is the broker's at this bar. If the broker cannot be asked, the rebuild from the
        NAV read at the session's preparation is kept instead (said once)."""
        shares, previous, _ = self._open_book
        price, moved = self._marks(previous)
        try:
            self._reopening = (float(self.broker.account().equity), self._today_shares.copy(),
                               self._today_dollars.copy())
            source = "broker NAV at this bar"
        except BrokerError as exc:
            source = "broker NAV when the session was prepared"
            self.log.warning("opening_nav_from_preparation", error=str(exc),
                             effect="the opening NAV rests on the broker's NAV read before "
                                    "this bar: the marked NAV drifts from the broker's by the "
                                    "move in between")
        nav_open = self._reopened_nav(float(shares @ moved), price)
        self._open_book = (shares, previous, nav_open)
        self._reopening = None
        self.log.info("opening_nav_rebuilt", session=f"{self._day:%Y-%m-%d}",
                      bar=snap.bar_index, opening_nav=nav_open, source=source,
                      daily_loss_measured_against=self.risk.day_start_nav)

    def _refresh_cost_model(self, day: pd.Timestamp) -> None:
        """The cost model's ADV and volatility from the sessions before ``day`` (its fit
        windows), before a decision prices anything with it: the no-trade band, the
        optimiser's turnover penalty, each parent's prediction and IS's inputs."""
        model = self.cost_model
        if self.costs is None or not hasattr(model, "refresh_state"):
            return
        closes = self._closes.before(day, int(model.vol_lookback_days) + 1)
        past = [(d, v) for d, v in self._volumes if d < day]
        volume = (pd.DataFrame(np.array([v for _, v in past]), index=[d for d, _ in past],
                               columns=list(self.symbols)) if past else None)
        model.refresh_state(closes, volume)
        self.costs.reload()

    def _strategy_target(self, past: pd.DataFrame, day: pd.Timestamp, shares: np.ndarray,
                         price: np.ndarray, nav: float) -> np.ndarray:
        """The portfolio strategy's weights for ``day``. A strategy with a turnover penalty
        (``takes_current_weights``) is also given the book's weights and, with a cost model,
        each name's predicted cost (bps) of an order of one full position (NAV / N)."""
        kwargs: dict[str, Any] = {}
        # a name the risk model cannot measure is not sized: the strategy sees it without
        # closes (every strategy weighs a name without data 0), not without its column — a
        # strategy may check its parameters against the universe (risk budgets by name)
        outside = self._not_trading.copy()  # a held name that stopped trading is covered
        outside[np.setdiff1d(np.arange(len(self.symbols)), self._risk_rows)] = True
        if getattr(self.strategy, "takes_current_weights", False):
            value = np.where(np.isfinite(price), shares * np.nan_to_num(price), 0.0)
            kwargs["current_weights"] = pd.Series(value / nav, index=list(self.symbols))
            if self.costs is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    size = np.rint(nav / len(self._risk_rows) / price)
                    usd = self.costs.trade_cost_usd(np.nan_to_num(size), price, day)
                    bps = usd / (np.nan_to_num(size) * price) * 1e4
                kwargs["trade_cost_bps"] = pd.Series(bps, index=list(self.symbols))
        if outside.any():
            past = past.copy()
            past.iloc[:, np.flatnonzero(outside)] = np.nan
        weights = np.array(self.strategy.target_weights(past, day, **kwargs).reindex(
            list(self.symbols)).fillna(0.0), dtype=float)
        sized = outside & (weights != 0)
        if sized.any():  # its orders would reach a pre-trade check that cannot measure them
            names = [s for s, x in zip(self.symbols, sized, strict=True) if x]
            self.log.warning("uncovered_names_not_sized", session=f"{day:%Y-%m-%d}",
                             symbols=names, effect="weight 0: the risk model does not cover them")
            weights[sized] = 0.0
        return weights

    # ------------------------------------------------------------------ the loop
    def on_bar(self, snap: MarketSnapshot) -> None:
        engine = self.engine
        if engine is None:
            raise RuntimeError("start() first (reconciles before any order)")
        t0 = time.perf_counter()
        self._bar_time = snap.timestamp  # the loop's clock (a fill's own stamp is the broker's)
        day = self._session_day(snap.timestamp)
        if day != self._day:  # a new session: risk refit (unless prepared before the open)
            self._close_session()
            self._day = day
            self.prepare_session(day)
            if self._halted_for_loss:  # a daily-loss halt lasts the session it happened in
                self._halted_for_loss = False
                engine.reset_trading_state("new session after a daily-loss halt")
        self._take_bar_prices(snap)
        # nothing is logged or counted between the bar and its last order (the latency budget)
        parents, decided = self._decide(snap)
        added: list[ParentOrder] = []
        planned: list[tuple[ParentOrder, Any]] = []
        if self._deferred or parents:
            parents, self._deferred = self._priced_now(self._deferred + parents, snap)
            planned = self._planned(parents, snap)
        try:
            engine.check_new_parents([p for p, _ in planned], snap)  # all or none (restarts)
            added = [p for p, algo in planned if engine.add_parent(p, snap, algorithm=algo)]
            engine.on_bar(snap)
        finally:
            if decided:
                self.log.info("rebalance_decided", **decided)
        seconds = time.perf_counter() - t0
        self.last_snapshot = snap
        if added:
            for p in added:
                self._open_parents[p.parent_id] = (0, 0)
            if self.costs is not None:
                self.costs.predict(added, snap, engine)
            self.log.info("parents_added", bar=snap.bar_index, parents=[
                {"parent_id": p.parent_id, "symbol": p.symbol, "side": p.side.value,
                 "quantity": p.quantity} for p in added])
        self.on_orders_sent(snap, seconds)
        self._after_bar(snap)

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

    def _take_bar_prices(self, snap: MarketSnapshot) -> None:
        """The session's volume so far and each symbol's last traded price, with this bar's."""
        close = np.asarray(snap.close, dtype=float)
        prev = self._session_close
        if prev is None:  # the session's first bar: is it the open's?
            self._session_volume = np.zeros(len(self.symbols))
            self._session_from_open = minutes_after_open(snap.timestamp) <= self.bar_minutes
        volume = snap.volume
        self._session_volume += volume if np.isfinite(volume).all() else np.nan_to_num(volume)
        self._session_close = close.copy() if prev is None else np.where(
            np.isfinite(close), close, prev)

    def _after_bar(self, snap: MarketSnapshot) -> None:
        if self._reopening is not None and self.bar_is_current(snap):
            self._settle_opening_book(snap)  # after the bar's orders: a broker call
        self._mark_to_market()  # with the bar's fills
        self._prepare_next_session_after(snap)
        self._watch_idle(snap)
        self.on_bar_done(snap)
        if self.costs is not None and self.costs.pending:
            self.costs.observe_completed(self.engine)

    def _book_fill(self, symbol: str, side: Side, shares: int, price: float,
                   when: datetime, fees: float = 0.0) -> None:
        """Put a fill into the risk manager's book the moment the engine applies it, so the
        pre-trade check of the next child — on this very bar — sees the position its siblings
        built; its fees leave the marked NAV with it. Fills before the first risk refit are in
        the refit's book already."""
        if self.risk.as_of is None:
            return
        i = self._symbol_index[symbol]
        self._today_shares[i] += side.sign * shares
        self._today_dollars[i] += side.sign * shares * price + fees  # cash out: fees too
        try:  # dated by the bar: the risk manager's days are the loop's sessions
            self.risk.on_fill(symbol, side, shares, price, when=self._bar_time or when)
        except ValueError as exc:  # never inside the engine's ingest: logged, the refit heals
            self.log.error("risk_book_fill_failed", symbol=symbol, shares=shares, price=price,
                           error=str(exc), effect="the risk manager's book misses this fill "
                           "until the next session's refit")

    def _mark_to_market(self) -> None:
        """The risk manager's book and NAV at this bar's prices, so the daily-loss limit acts
        within the session and the pre-trade checks read current weights: NAV = the opening
        NAV + the opening positions' move from the previous close + today's fills marked from
        their prices, less their fees. Run after each bar's orders and, on a bar with parents to
        work, by the engine before they are worked (after the bar's fills were booked): the
        pre-trade checks then read the book at this bar's prices, not at the last bar's (a
        session old on daily bars). With ``on_daily_loss="halt"`` a loss past the
        limit halts trading until the next session."""
        if self._open_book is None or self.risk.as_of is None or self._session_close is None:
            return
        shares, previous, nav_open = self._open_book
        price, moved = self._marks(previous)
        if self._reopening is not None:  # prepared after the open, not settled yet
            nav_open = self._reopened_nav(float(shares @ moved), price)
        nav = nav_open + float(shares @ moved) + float(
            np.nansum(self._today_shares * price - self._today_dollars))
        if not nav > 0:
            return
        held = (shares + self._today_shares) * np.nan_to_num(price)
        self.risk.mark(held[self._risk_rows] / nav, nav)
        limits = self.risk.settings
        start = self.risk.day_start_nav
        loss = 1.0 - nav / start if start else 0.0
        if (limits.on_daily_loss == "halt" and loss > limits.daily_loss_limit
                and not self._halted_for_loss):
            self._halted_for_loss = True
            reason = (f"daily loss {loss:.2%} > limit {limits.daily_loss_limit:.2%}: halted "
                      "for the rest of the session")
            self.engine.halt(reason, until_reset=True)  # not lifted by a breaker's cool-down
            self.log.error("daily_loss_halt", loss=round(loss, 6),
                           limit=limits.daily_loss_limit, effect="open orders cancelled; "
                           "trading resumes at the next session")
            self.risk_events.append({
                "time": self._bar_time.isoformat() if self._bar_time else None, "symbol": "*",
                "side": "book", "requested": 0, "allowed": 0, "working": 0,
                "decision": "halted", "limits": "daily_loss", "message": reason})

    def _marks(self, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(each symbol's price the book is marked at: its last this session, else its
        previous close; its move from the previous close, 0 where either is unknown)."""
        price = np.where(np.isfinite(self._session_close), self._session_close, previous)
        moved = np.where(np.isfinite(price) & np.isfinite(previous), price - previous, 0.0)
        return price, moved

    def _record_risk_event(self, symbol: str, side: Side, requested: int, allowed: int,
                           working: int, limits: str, message: str) -> None:
        """A child the risk limits trimmed or refused (its own shares; ``working``: the same
        symbol and side's shares already on their way, which the check counted as filled)."""
        self.risk_events.append({
            "time": self._bar_time.isoformat() if self._bar_time else None, "symbol": symbol,
            "side": side.value, "requested": requested, "allowed": allowed,
            "working": working, "decision": "rejected" if allowed == 0 else "trimmed",
            "limits": limits, "message": message})

    def _watch_idle(self, snap: MarketSnapshot) -> None:
        """Nothing silent: a parent that sent no child for ``parent_idle_bars`` bars of an open
        market is logged once per idle spell with the reason, and listed in :meth:`status`."""
        if not self._open_parents:
            return
        limit = int(self.settings.execution.parent_idle_bars)
        e = self.engine
        for pid, (sent, idle) in list(self._open_parents.items()):
            ps = e.parents[pid]
            if ps.done:
                del self._open_parents[pid]
                self.idle.pop(pid, None)
                continue
            i = ps.symbol_index
            if len(ps.children) != sent:
                self._open_parents[pid] = (len(ps.children), 0)
                self.idle.pop(pid, None)
                continue
            if not np.isfinite(snap.close[i]):
                continue  # no bar for the symbol: its market is not open
            idle += 1
            self._open_parents[pid] = (sent, idle)
            if idle >= limit and pid not in self.idle:
                why, blocked = self._idle_reason(ps, snap)
                self.idle[pid] = why
                # a sparse schedule (fewer shares than bars) is idle by design: info, not a
                # warning; a parent something stops is a warning
                (self.log.warning if blocked else self.log.info)(
                    "parent_idle", parent_id=pid, symbol=ps.parent.symbol,
                    algorithm=ps.parent.algorithm.value, bars=idle, reason=why)

    def _idle_reason(self, ps: Any, snap: MarketSnapshot) -> tuple[str, bool]:
        """(why a parent sends nothing, whether something stops it)."""
        e, i, par = self.engine, ps.symbol_index, ps.parent
        if e.trading_state is not TradingState.ACTIVE:
            return f"engine {e.trading_state.value}: {e.system_breaker.reason}", True
        if e.market_breakers.paused[i]:
            return f"symbol paused by a market breaker: {e.market_breakers.reasons[i]}", True
        working = [c for c in e.open_children() if c.parent_id == par.parent_id]
        if working:
            c = working[0]
            if c.limit_price is not None:
                return (f"waiting for its limit at {c.limit_price} to fill "
                        f"({c.leaves_quantity} shares working)"), False
            return f"waiting for its working order ({c.leaves_quantity} shares) to fill", True
        if ps.local_rejects:
            code, n = ps.local_rejects.most_common(1)[0]
            return f"children refused before sending: {code} ({n} time(s))", True
        if par.algorithm is Algorithm.POV and not snap.volume[i] > 0:
            return ("participation at zero volume: no market volume since arrival to follow",
                    True)
        return "the algorithm scheduled no child yet (waiting for its next slice)", False

    # ------------------------------------------------------------------ sessions
    def _record_limit_usage(self, day: pd.Timestamp) -> None:
        """Each limit measured on the book as it closed ``day`` (the last bar's mark): the
        largest position and sector weights, the largest correlation among holdings, the
        pre-trade VaR, the day's loss, gross and net exposure — and what each was measured on."""
        row: dict[str, Any] = {"session": f"{day:%Y-%m-%d}"}
        for status in self.risk.limit_statuses():
            row[str(status.kind)] = float(status.measured)
            row[f"{status.kind}_subject"] = status.subject
        self.limit_usage.append(row)

    def _close_session(self, complete: bool = False) -> None:
        """Append the session that just ended to the daily closes (its last traded prices), so
        a process that trades across sessions decides the next one on up-to-date closes, not
        on those it was started with. ``complete``: its last bar was seen (with its first,
        its volume is the session's and joins the ADV window)."""
        day, close = self._day, self._session_close
        self._session_close = None
        if day is not None and close is not None and self.risk.as_of is not None:
            self._record_limit_usage(day)  # once: the session's first close
        if (day is not None and close is not None and complete and self._session_from_open
                and self._volumes.maxlen):
            self._volumes.append((day, self._session_volume.copy()))
        if self._deferred:  # a session's decision is for that session only
            self.log.warning("parents_dropped", reason="no price for their symbol all session",
                             parents=[p.parent_id for p in self._deferred])
            for p in self._deferred:
                self.dropped[p.parent_id] = "no price for its symbol all session"
            self._deferred = []
            self._deferred_logged = 0
        if day is None or close is None or day in self._closes or not np.isfinite(
                close).any():
            return
        # a symbol without a single bar this session (halted, late feed) keeps the previous
        # session's close: a NaN would read as "unpriced" and the next rebalance would sell it
        # out. Only the previous session's: a name with no close then (not listed yet) stays
        # without one, not priced at a close from years before (history borrowed for the
        # lookback ends where the data begins)
        self._count_sessions_without_bar(day, np.isfinite(close))
        previous = self._closes.values_before(day, 1)
        if len(previous):
            close = np.where(np.isfinite(close), close, previous[-1])
        self._closes.append(day, close)
        # once a halt is long enough to be a stop, its carried closes go: zero returns would
        # read as a name with no volatility when it trades again (risk parity and inverse
        # volatility would overweight it for a lookback), and a loop started on the data's
        # history has none there either. Positions are still marked at the last close.
        stopped = self._without_bar == STALE_SESSIONS
        if stopped.any():
            self._closes.forget_last(STALE_SESSIONS, stopped)
        self.log.info("session_closed", day=f"{day:%Y-%m-%d}",
                      closes_from="last traded price of each symbol's last bar")

    def _count_sessions_without_bar(self, day: pd.Timestamp, traded: np.ndarray) -> None:
        """Count the sessions in a row each symbol had no bar; log and record a symbol that
        has stopped trading (``STALE_SESSIONS``), trades again, or has its first bar (a name
        listed inside the run: it never stopped)."""
        before = self._without_bar
        self._without_bar = np.where(traded, 0, before + 1)
        stopped = [s for s, n, h in zip(self.symbols, self._without_bar, self._had_bar,
                                        strict=True) if n == STALE_SESSIONS and h]
        resumed = [s for s, n, b, h in zip(self.symbols, self._without_bar, before,
                                           self._had_bar, strict=True)
                   if n == 0 and b >= STALE_SESSIONS and h]
        listed = [s for s, t, h in zip(self.symbols, traded, self._had_bar, strict=True)
                  if t and not h]
        self._had_bar = self._had_bar | traded
        if stopped or resumed or listed:
            self.trading_changes.append({"session": f"{day:%Y-%m-%d}", "stopped": stopped,
                                         "resumed": resumed, "listed": listed})
            self.log.warning("symbols_trading_changed", session=f"{day:%Y-%m-%d}",
                             stopped=stopped, resumed=resumed, listed=listed, effect=(
                                 f"no bar on {STALE_SESSIONS} sessions in a row: not sized, a "
                                 "position kept at its last close" if stopped else
                                 "trading (again, or for the first time): sized once the risk "
                                 "model covers it"))

    @property
    def _not_trading(self) -> np.ndarray:
        """Symbols without a bar on the last ``STALE_SESSIONS`` sessions or more."""
        return self._without_bar >= STALE_SESSIONS

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
        if ts < last or self.stop_reason() or self.engine.trading_state is TradingState.HALTED:
            return
        try:
            self._close_session(complete=True)
            self.prepare_session(nxt)
        except ReconciliationError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next open retries; this bar is done
            self.log.warning("next_session_not_prepared", session=f"{nxt:%Y-%m-%d}",
                             error=str(exc))

    # ------------------------------------------------------------------ driving
    def stop_reason(self) -> str:
        """Why the loop must stop now ('' to go on): a driver's kill switch."""
        return ""

    def bar_is_current(self, snap: MarketSnapshot) -> bool:
        """Whether the broker's NAV is marked at ``snap``'s prices now: where the opening book
        of a session prepared after its open settles. Here every bar is (the broker has
        seen it when the loop does); live says no to the old bars a restart catches up on."""
        return True

    def run(self, bars: Iterable[MarketSnapshot], max_bars: int | None = None) -> int:
        """Trade ``bars`` until they end, ``max_bars`` were processed or :meth:`stop_reason`
        says stop (then :meth:`halt`). Returns the number of bars processed. The journal is
        committed and closed on exit."""
        if self.engine is None:
            self.start()
        done = 0
        try:
            for snap in bars:
                if self.stop_reason():
                    break
                snap = self._in_sequence(snap)
                if snap is None:
                    continue  # processed before a restart
                self.on_bar(snap)
                done += 1
                if max_bars is not None and done >= max_bars:
                    break
            if self.stop_reason():
                self.halt(self.stop_reason())
        finally:
            self.shutdown()
        return done

    def _in_sequence(self, snap: MarketSnapshot) -> MarketSnapshot | None:
        """``snap`` numbered after the last bar the journal holds, or None if that bar (by its
        time) was processed before: a feed numbers its bars from 0 in every process, so after a
        restart on a later day its indices would collide with the journal's."""
        e = self.engine
        done_at = e.last_bar_time
        if done_at is None:  # a fresh run, or a journal from before bar times were kept
            return None if snap.bar_index <= e.last_bar_done else snap
        if snap.timestamp <= done_at:
            return None
        if snap.bar_index <= e.last_bar_done:
            return replace(snap, bar_index=e.last_bar_done + 1)
        return snap

    def halt(self, reason: str) -> None:
        """HALTED, every open parent closed and its open children cancelled."""
        e = self.engine
        e.halt(f"kill switch: {reason}")
        for pid, ps in e.parents.items():
            if not ps.done:
                e.cancel_parent(pid, f"kill switch: {reason}")
        self.log.error("kill_switch", reason=reason, open_orders=len(e.open_children()))

    def shutdown(self) -> None:
        if self.engine is not None and self.engine.journal is not None:
            self.engine.journal.commit()
            self.engine.journal.close()
            self.log.info("shutdown", bars_done=self.engine.last_bar_done,
                          submits=self.engine.stats.submits, fills=self.engine.stats.fills)

    # ------------------------------------------------------------------ driver hooks
    # Overridden by a driver to observe the loop; the loop's own state is not theirs to change.
    def on_risk_refit(self, snapshot: Any, weights: np.ndarray, nav: float) -> None:
        """After each session's risk refit (live: exposure and VaR gauges)."""

    def on_orders_sent(self, snap: MarketSnapshot, seconds: float) -> None:
        """After the bar's orders went out and its new parents were logged; ``seconds``: from
        the start of the bar to its last order handed to the broker."""

    def on_bar_done(self, snap: MarketSnapshot) -> None:
        """After the bar's bookkeeping (live: state gauges, fill counters)."""

    def on_parent_cost(self, quality: Any, slippage_vs_model_bps: float) -> None:
        """A parent completed with a cost prediction (live: slippage histograms)."""

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """JSON-ready view of the loop (read-only)."""
        e = self.engine
        risk = None
        try:
            risk = self.risk.snapshot().as_dict()
        except Exception:  # noqa: BLE001 - no risk model yet
            risk = None
        return {
            "run_id": self.run_id, "config": self.config.name,
            "state": {"trading_state": e.trading_state.value if e else None,
                      "last_bar": e.last_bar_done if e else None},
            "risk": risk,
            "positions": self.book() if e else {},
            "orders": [{"client_order_id": c.client_order_id, "symbol": c.symbol,
                        "side": c.side.value, "quantity": c.quantity,
                        "filled": c.filled_quantity, "status": c.status.value}
                       for c in (e.open_children() if e else [])],
            "idle_parents": [{"parent_id": pid, "reason": why} for pid, why in self.idle.items()],
            "refused_parents": [{"parent_id": pid, "reason": why}
                                for pid, why in self.refused.items()],
            "dropped_parents": [{"parent_id": pid, "reason": why}
                                for pid, why in self.dropped.items()],
            "risk_events": list(self.risk_events)[-20:],
            "deferred_parents": [p.parent_id for p in self._deferred],
        }
