"""Circuit breakers.

:class:`MarketBreakers` pause new child orders per symbol (vectorised over symbols) when:
the price moved more than ``price_move_pct`` within ``window_minutes``; the quoted spread is
wider than ``spread_multiple`` x its normal (an EWMA of past spreads); the bar has no trading
(zero volume or no price: a halt); the price left +-``day_band_pct`` of the previous session's
close; or the symbol's data is older than ``max_staleness_s``.

:class:`SystemBreaker` moves the engine ACTIVE -> REDUCING on a high broker error rate or
latency, and to HALTED on consecutive rejects or stale market data.

Recovery is explicit: automatic after ``cooldown_s`` seconds once the condition has cleared,
or only by a manual ``resume`` / ``reset`` when ``cooldown_s`` is 0. Every change is a
:class:`BreakerEvent` with its reason.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

import numpy as np

from research.execution.model import BreakerEvent, MarketSnapshot, TradingState

# bit flags of the kernel's conditions (values fixed in _breaker_kernel.py)
HALTED, STALE, MOVED, WIDE, BANDED = 1, 2, 4, 8, 16


class MarketBreakers:
    def __init__(
        self,
        symbols: tuple[str, ...],
        *,
        price_move_pct: float,
        window_minutes: float,
        spread_multiple: float,
        day_band_pct: float,
        max_staleness_s: float,
        cooldown_s: float,
        spread_halflife_bars: float = 50.0,
    ):
        self.symbols = tuple(symbols)
        n = len(self.symbols)
        self.price_move_pct = price_move_pct
        self.window_s = window_minutes * 60.0
        self.spread_multiple = spread_multiple
        self.day_band_pct = day_band_pct
        self.max_staleness_s = max_staleness_s
        self.cooldown_s = cooldown_s
        self._alpha = 1.0 - 0.5 ** (1.0 / spread_halflife_bars)
        # numba is imported here, not at module level: importing research.execution (e.g. by
        # the CLI) must stay light
        from research.execution._breaker_kernel import market_conditions

        self._kernel = market_conditions
        self.paused = np.zeros(n, dtype=bool)
        self.reasons: list[str] = [""] * n
        self._tripped_at = np.full(n, -np.inf)
        # Closes of the last ``window_minutes`` as a ring buffer of rows (timestamps in
        # _win_ts), so a bar appends one row instead of restacking the window; the price-move
        # test needs only each symbol's min and max close in it (see _breaker_kernel.py).
        self._win_close = np.full((16, n), np.nan)
        self._win_ts = np.full(16, np.nan)
        self._win_start = 0
        self._win_len = 0
        self._normal_spread = np.full(n, np.nan)
        self._spread_obs = np.zeros(n, dtype=np.int64)
        self._last_update = np.full(n, np.nan)
        self._session_date = None
        self._prev_close = np.full(n, np.nan)
        self._last_close = np.full(n, np.nan)

    def conditions(self, snap: MarketSnapshot, now: datetime) -> tuple[np.ndarray, list[str]]:
        """Boolean trip mask per symbol and the reason of each tripped symbol (updates state).

        The arithmetic is one compiled call (research/execution/_breaker_kernel.py)."""
        ts = snap.timestamp.timestamp()
        now_s = now.timestamp()
        date = snap.timestamp.date()
        if self._session_date is not None and date != self._session_date:
            self._prev_close = self._last_close.copy()
        self._session_date = date

        self._drop_before(ts - self.window_s)
        if self._win_len == len(self._win_ts):
            self._grow_window()
        flags, move, band, rel_spread = self._kernel(
            snap.close, snap.volume, snap.bid, snap.ask, ts, now_s, self._win_close,
            self._win_start, self._win_len, self._prev_close, self._last_update,
            self._normal_spread, self._spread_obs, self._last_close, self.price_move_pct,
            self.spread_multiple, self.day_band_pct, self.max_staleness_s, self._alpha,
        )
        # the kernel wrote this bar's closes into the next ring row
        self._win_ts[(self._win_start + self._win_len) % len(self._win_ts)] = ts
        self._win_len += 1

        trip = flags != 0
        reasons = [""] * len(self.symbols)
        if not trip.any():
            return trip, reasons
        for i in np.flatnonzero(trip).tolist():
            f = int(flags[i])
            parts = []
            if f & HALTED:
                parts.append("no trading in the bar (zero volume or no price: halt)")
            if f & STALE and not f & HALTED:
                parts.append(f"data older than {self.max_staleness_s:.0f}s")
            if f & MOVED:
                parts.append(
                    f"price moved {move[i]:.2%} within {self.window_s / 60:.0f} min "
                    f"(limit {self.price_move_pct:.2%})"
                )
            if f & WIDE:
                parts.append(
                    f"spread {rel_spread[i] * 1e4:.1f} bps > {self.spread_multiple:g} x normal "
                    f"{self._normal_spread[i] * 1e4:.1f} bps"
                )
            if f & BANDED:
                parts.append(f"price {band[i]:.2%} from previous close "
                             f"(band {self.day_band_pct:.2%})")
            reasons[i] = "; ".join(parts)
        return trip, reasons

    def _drop_before(self, oldest_ts: float) -> None:
        cap = len(self._win_ts)
        while self._win_len and self._win_ts[self._win_start] < oldest_ts:
            self._win_start = (self._win_start + 1) % cap
            self._win_len -= 1

    def _grow_window(self) -> None:
        """Unroll the full ring into a buffer twice the size (the window holds more bars than
        ever before, e.g. a longer window or denser bars)."""
        cap = len(self._win_ts)
        order = (self._win_start + np.arange(cap)) % cap
        self._win_close = np.concatenate([self._win_close[order],
                                          np.full_like(self._win_close, np.nan)])
        self._win_ts = np.concatenate([self._win_ts[order], np.full(cap, np.nan)])
        self._win_start = 0

    def update(self, snap: MarketSnapshot, now: datetime) -> list[BreakerEvent]:
        """Evaluate the bar; pause newly tripped symbols, resume cleared ones after cool-down."""
        trip, reasons = self.conditions(snap, now)
        now_s = now.timestamp()
        events: list[BreakerEvent] = []
        if trip.any():
            newly = trip & ~self.paused
            for i in np.flatnonzero(newly).tolist():
                events.append(BreakerEvent(now, "symbol", self.symbols[i], "active", "paused",
                                           reasons[i]))
                self.reasons[i] = reasons[i]
            self._tripped_at = np.where(trip, now_s, self._tripped_at)
            self.paused |= trip
        if self.cooldown_s > 0 and self.paused.any():  # nothing paused: nothing to resume
            recover = self.paused & ~trip & (now_s - self._tripped_at >= self.cooldown_s)
            for i in np.flatnonzero(recover):
                events.append(
                    BreakerEvent(now, "symbol", self.symbols[i], "paused", "active",
                                 f"condition cleared for {self.cooldown_s:.0f}s")
                )
                self.reasons[i] = ""
            self.paused &= ~recover
        return events

    def resume(self, symbol: str, now: datetime, reason: str = "manual") -> BreakerEvent:
        """Manual recovery of one symbol."""
        i = self.symbols.index(symbol)
        self.paused[i] = False
        self.reasons[i] = ""
        return BreakerEvent(now, "symbol", symbol, "paused", "active", reason)


class SystemBreaker:
    """Engine-wide trading state driven by broker health and data freshness."""

    def __init__(
        self,
        *,
        max_error_rate: float,
        max_consecutive_rejects: int,
        max_latency_ms: float,
        max_staleness_s: float,
        cooldown_s: float,
        error_window: int = 50,
        min_calls_for_rate: int = 10,
    ):
        self.max_error_rate = max_error_rate
        self.max_consecutive_rejects = max_consecutive_rejects
        self.max_latency_ms = max_latency_ms
        self.max_staleness_s = max_staleness_s
        self.cooldown_s = cooldown_s
        self.min_calls_for_rate = min_calls_for_rate
        self.state = TradingState.ACTIVE
        self.reason = ""
        self._calls: deque[bool] = deque(maxlen=error_window)
        self._failed_calls = 0  # failures in _calls, kept current (not re-summed per call)
        self.consecutive_rejects = 0
        self._tripped_at: float | None = None
        self.events: list[BreakerEvent] = []

    def _move(self, new: TradingState, now: datetime, reason: str) -> BreakerEvent | None:
        order = [TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED]
        if order.index(new) <= order.index(self.state):
            return None  # breakers only escalate; recovery goes through recover()/reset()
        ev = BreakerEvent(now, "system", None, self.state.value, new.value, reason)
        self.state = new
        self.reason = reason
        self._tripped_at = now.timestamp()
        self.events.append(ev)
        return ev

    def record_call(self, ok: bool, latency_ms: float, now: datetime) -> BreakerEvent | None:
        calls = self._calls
        if len(calls) == calls.maxlen and not calls[0]:
            self._failed_calls -= 1  # the oldest call is about to leave the window
        calls.append(ok)
        if not ok:
            self._failed_calls += 1
        if latency_ms > self.max_latency_ms:
            return self._move(
                TradingState.REDUCING, now,
                f"broker latency {latency_ms:.0f} ms > {self.max_latency_ms:.0f} ms",
            )
        n = len(self._calls)
        if n >= self.min_calls_for_rate:
            rate = self._failed_calls / n
            if rate > self.max_error_rate:
                return self._move(
                    TradingState.REDUCING, now,
                    f"broker error rate {rate:.0%} over the last {n} calls > "
                    f"{self.max_error_rate:.0%}",
                )
        return None

    def record_reject(self, now: datetime) -> BreakerEvent | None:
        self.consecutive_rejects += 1
        if self.consecutive_rejects >= self.max_consecutive_rejects:
            return self._move(
                TradingState.HALTED, now,
                f"{self.consecutive_rejects} consecutive broker rejects",
            )
        return None

    def record_accept(self) -> None:
        self.consecutive_rejects = 0

    def check_staleness(self, data_time: datetime, now: datetime) -> BreakerEvent | None:
        age = now.timestamp() - data_time.timestamp()
        if age > self.max_staleness_s:
            return self._move(
                TradingState.HALTED, now,
                f"market data is {age:.0f}s old (> {self.max_staleness_s:.0f}s)",
            )
        return None

    def maybe_recover(self, data_time: datetime, now: datetime) -> BreakerEvent | None:
        """Automatic recovery to ACTIVE after the cool-down, if data is fresh (cool-down > 0)."""
        if self.state is TradingState.ACTIVE or self.cooldown_s <= 0 or self._tripped_at is None:
            return None
        if now.timestamp() - self._tripped_at < self.cooldown_s:
            return None
        if now.timestamp() - data_time.timestamp() > self.max_staleness_s:
            return None
        return self.reset(now, f"cool-down of {self.cooldown_s:.0f}s elapsed")

    def reset(self, now: datetime, reason: str = "manual reset") -> BreakerEvent | None:
        """Back to ACTIVE; clears the error window and the reject counter."""
        if self.state is TradingState.ACTIVE:
            return None
        ev = BreakerEvent(now, "system", None, self.state.value, TradingState.ACTIVE.value, reason)
        self.state = TradingState.ACTIVE
        self.reason = ""
        self._calls.clear()
        self._failed_calls = 0
        self.consecutive_rejects = 0
        self._tripped_at = None
        self.events.append(ev)
        return ev

    def force(self, state: TradingState, now: datetime, reason: str,
              manual: bool = False) -> BreakerEvent:
        """Set a state directly (a halt, or restoring a journaled state on restart);
        ``manual``: no cool-down recovery, only :meth:`reset` lifts it. A halt over a manual
        halt stays manual (a kill switch after a daily-loss halt must not give it a
        cool-down that lifts it within the session)."""
        if (state is TradingState.HALTED and self.state is TradingState.HALTED
                and self._tripped_at is None):
            manual = True
        ev = BreakerEvent(now, "system", None, self.state.value, state.value, reason, manual)
        self.state = state
        self.reason = reason
        self._tripped_at = None if manual else now.timestamp()
        self.events.append(ev)
        return ev
