"""The simulated broker: implements research.execution's Broker protocol over a bar replay.

Fill rules (the price model and its precomputed paths are in sim/response.py):

* No look-ahead: an order submitted after bar t closed (the engine's decision on bar t) is
  eligible from bar ``t + latency_bars`` on; it never fills on its decision bar.
* Market orders fill at the bar's ask (buys) / bid (sells) when quotes exist, else at the
  close -/+ the estimated half spread, plus the temporary impact of the shares taken. Prices
  are those of the fill bar's close: the order is assumed to work through the bar.
* Limit orders fill at their limit price (never better: conservative) only when the bar trades
  through it (``limit_fill_rule="through"``: low < limit for a buy, high > limit for a sell) or
  touches it (``"touch"``: <=, >=). Queue: the order is assumed to stand behind all displayed
  size, so this run's resting limits on a symbol (both sides together) may take at most
  ``limit_volume_share`` of the bar's volume, in time priority only — no price priority among
  this run's own limits, a simplification that matters only when several of them cross on one
  bar; the rest carries to the next bar.
* Participation cap: all fills of a symbol in a bar take at most ``max_participation`` of its
  volume; market orders go first (they cross), limits get what is left. Within a class the cap
  is handed out in time priority (submission order; the engine submits older parents' children
  first, ties by parent id): an order takes all it can before a later one gets anything, so an
  order is only partly filled when the cap runs out on it. The cap is a model of available
  liquidity, not an exchange queue; why not pro rata: every order would then take a sliver on
  every bar and a study run would produce tens of fills per child order. Whole shares. No
  volume, no fill.
* A cancel takes effect from the bar after it reaches the broker: the engine cancels after
  bar t closed, so the order takes no fill on bar t + 1 or later (its fills up to bar t stand).
  The race of a cancel against an execution in flight is not modelled: a cancelled order never
  fills, so its lifecycle ends at CANCELLED and no report follows it.
* DAY orders still open at the last bar of their session expire.
* Tiger's rules: market or limit only, DAY or GTC, no market order outside regular hours,
  limit prices on the tick grid ($0.01 at or above $1, $0.0001 below), whole shares, client
  order ids unique. Fees come from the injected ``fee_fn`` (default :func:`no_fees`) and are
  charged **per order**, as a broker bills commissions: each fill pays the increase of
  ``fee_fn(cumulative shares, average price)`` over the order's previous fills, so a per-order
  minimum is paid once however many partial fills the order takes.

The broker can persist its state in its own SQLite file (``state_path``, sim/broker_store.py) so
that a test can kill the process and still count what the "exchange" received and filled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import numpy as np

from research.config import SimulationSettings
from research.domain import Fill, Order, OrderStatus, OrderType, Position, Side, TimeInForce
from research.execution.errors import BrokerUnavailable, RateLimited, Rejected, SubmitTimeout
from research.execution.model import (
    Account,
    BrokerOrder,
    ExecutionReport,
    MarketSnapshot,
    ReportKind,
)
from research.execution.rules import is_on_tick, is_regular_hours
from sim.broker_store import BrokerStore
from sim.faults import FaultConfig, FaultInjector
from sim.fill_kernel import fill_bar
from sim.replay import BarReplay
from sim.response import (
    DEFAULT_SPREAD_WINDOW_BARS,
    SPREAD_SOURCES,
    half_spread_path,
    permanent_impact_coefficients,
    volatility_paths,
)

FeeFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
_S = OrderStatus
_NO_ROWS = np.zeros(0, np.int64)


def no_fees(quantity: np.ndarray, price: np.ndarray, side_sign: np.ndarray) -> np.ndarray:
    """Zero fees in dollars (the default until a fee schedule is injected)."""
    return np.zeros(len(quantity))


class SimulatedBroker:
    """Parameters: ``replay`` (the bars), ``settings`` (SimulationSettings: impact_y,
    permanent_impact, limit_fill_rule, limit_volume_share, max_participation, spread_source),
    ``latency_bars`` (>= 1), ``fee_fn(quantity, price, side_sign) -> dollars``, ``faults``,
    ``state_path`` (SQLite file to persist to; None = memory only), ``initial_cash`` ($),
    ``fallback_half_spread_bps`` (half spread when a bar has no quotes and no bar estimate),
    ``spread_window_bars`` (trailing window of the bar spread estimators), ``vol_halflife_bars``
    (EWMA half-life of the per-bar volatility), ``sigma_path`` and ``perm_coef_path`` ((n_bars,
    n_symbols): the per-bar volatility and the permanent impact per net share each bar is
    priced with; default: computed from minute bars, see sim/response.py — a daily replay
    brings its own, sim/daily_market.py), ``coalesce_reports`` (a poll delivers what a
    polling client sees: an ACCEPTED report superseded by a later report of the same order in
    the same poll is dropped — the order was accepted and then filled/cancelled between two
    polls; False delivers every report, as a push channel would; always False under fault
    injection, whose duplicates and reorderings are the point), ``tiger_style_reports`` (partial fills reported
    only as a status with the cumulative filled quantity, as Tiger's "Submitted").
    """

    def __init__(
        self,
        replay: BarReplay,
        settings: SimulationSettings | None = None,
        *,
        latency_bars: int = 1,
        fee_fn: FeeFn = no_fees,
        faults: FaultConfig | None = None,
        state_path: str | Path | None = None,
        initial_cash: float = 1e9,
        fallback_half_spread_bps: float = 1.5,
        spread_window_bars: int = DEFAULT_SPREAD_WINDOW_BARS,
        vol_halflife_bars: float = 30.0,
        coalesce_reports: bool = True,
        tiger_style_reports: bool = False,
        synchronous: str = "FULL",
        sigma_path: np.ndarray | None = None,
        perm_coef_path: np.ndarray | None = None,
    ):
        if latency_bars < 1:
            raise ValueError("simulated broker: latency_bars must be >= 1 (no fill on the "
                             "decision bar)")
        self.replay = replay
        self.settings = settings or SimulationSettings()
        if self.settings.spread_source not in SPREAD_SOURCES:
            raise ValueError(
                f"simulated broker: spread_source {self.settings.spread_source!r} is not "
                f"supported; use one of {SPREAD_SOURCES} ('quotes': a fallback half spread "
                "where a bar has no bid/ask)"
            )
        self.latency_bars = latency_bars
        self.fee_fn = fee_fn
        self.faults = FaultInjector(faults)
        self.initial_cash = initial_cash
        self.fallback_half_spread = fallback_half_spread_bps * 1e-4
        # half spread of bars without quotes, (n_bars, n_symbols): the bar estimators read only
        # past bars of the recorded replay, so the whole path is computed once, not per bar
        self._spread_path = half_spread_path(
            self.settings.spread_source, replay.high, replay.low, replay.close,
            self.fallback_half_spread, window=spread_window_bars,
            session_last=replay.session_last_bar())  # overnight pairs are not a spread
        self.tiger_style_reports = tiger_style_reports
        # why coalesce: without it every child costs the engine one more report to journal and
        # apply (a third of all reports in the execution-comparison study)
        self.coalesce_reports = coalesce_reports and not self.faults.enabled
        self._session_last = replay.session_last_bar()
        n = replay.n_symbols
        self._sym_index = {s: i for i, s in enumerate(replay.symbols)}
        # per-order columns (grown by doubling); row = insertion order
        cap = 1024
        self._n = 0
        self._sym = np.zeros(cap, np.int64)
        self._sign = np.zeros(cap, np.int64)
        self._qty = np.zeros(cap, np.int64)
        self._filled = np.zeros(cap, np.int64)
        self._notional = np.zeros(cap)
        self._limit = np.zeros(cap)
        self._eligible = np.zeros(cap, np.int64)
        self._is_open = np.zeros(cap, bool)
        self._day = np.zeros(cap, bool)
        self._nfills = np.zeros(cap, np.int64)
        self._cids: list[str] = []
        self._status: list[OrderStatus] = []
        self._row_of: dict[str, int] = {}
        self._open_rows = np.zeros(0, np.int64)
        # rows submitted since the last bar: appended to _open_rows once per bar, not per order
        # (np.append per submit copies the whole array: quadratic in open orders)
        self._new_rows: list[int] = []
        self._rth: bool | None = None
        self._fills: list[Fill] = []
        self._perm = np.zeros(n)  # permanent impact, log price shift per symbol
        # each symbol's last traded close so far: a held name without a bar (halted, delisted,
        # a minute it did not trade) is worth its last price, not nothing
        self._last_close = np.full(n, np.nan)
        # the response model's paths read only the recorded bars: computed once, not per bar
        # (a replay that is not minute bars — sim/daily_market.py — brings its own paths)
        if sigma_path is None:
            _, sigma_path = volatility_paths(replay.high, replay.low, vol_halflife_bars)
        if perm_coef_path is None:
            perm_coef_path = permanent_impact_coefficients(
                replay.volume, sigma_path, self.settings.permanent_impact)
        for name, path in (("sigma_path", sigma_path), ("perm_coef_path", perm_coef_path)):
            if np.shape(path) != (replay.n_bars, replay.n_symbols):
                raise ValueError(f"simulated broker: {name} has shape {np.shape(path)}, "
                                 f"expected {(replay.n_bars, replay.n_symbols)}")
        self._sigma_path = np.asarray(sigma_path, dtype=float)
        self._perm_coef_path = np.asarray(perm_coef_path, dtype=float)
        self._pos = np.zeros(n, np.int64)
        self._cash = float(initial_cash)
        self.last_bar = -1
        self.submit_attempts: list[str] = []
        self.duplicate_submits = 0
        self._pending: list[tuple[int, ExecutionReport]] = []
        self._report_seq = 0
        self._session = 0
        self.bar_steps = 0  # open-order x bar evaluations, for throughput figures
        self._store: BrokerStore | None = None
        if state_path is not None:
            self._store = BrokerStore(Path(state_path), synchronous)
            self._session = self._store.session
            if self._store.last_bar is not None:
                self._restore(self._store)

    def _incremental_fees(self, rows, qty, price, sign) -> np.ndarray:
        """Each fill's share of its order's fee: fee(order so far) - fee(order before it).

        The kernel has already added this fill to the cumulative columns."""
        cum_q = self._filled[rows].astype(float)
        cum_notional = self._notional[rows]
        prev_q = cum_q - qty
        prev_notional = cum_notional - qty * price
        later = prev_q > 0  # first fills of an order pay the whole fee so far
        if not later.any():
            return np.asarray(self.fee_fn(cum_q, cum_notional / cum_q, sign), dtype=float)
        # one fee_fn call for "now" and "before" (a call has a fixed cost of tens of us and
        # runs every bar with fills; fees are computed per order, so stacking changes nothing)
        q = prev_q[later]
        n = len(cum_q)
        both = np.asarray(self.fee_fn(
            np.concatenate([cum_q, q]),
            np.concatenate([cum_notional / cum_q, prev_notional[later] / q]),
            np.concatenate([sign, sign[later]]),
        ), dtype=float)
        now = both[:n]
        now[later] -= both[n:]
        return now

    # ------------------------------------------------------------------ clock and data
    @property
    def symbols(self) -> tuple[str, ...]:
        return self.replay.symbols

    def snapshot(self, t: int | None = None) -> MarketSnapshot:
        """Bar ``t`` (default: the last processed) as this run sees it, permanent impact
        included."""
        t = self.last_bar if t is None else t
        return self.replay.snapshot(t, np.exp(self._perm))

    def _now(self) -> datetime:
        return self.replay.timestamps[max(self.last_bar, 0)]

    def process_bar(self, t: int) -> None:
        """Fill eligible open orders against bar ``t`` (must be the next bar)."""
        if t != self.last_bar + 1:
            raise ValueError(f"simulated broker: next bar is {self.last_bar + 1}, got {t}")
        self.last_bar = t  # reports and orders from here on belong to bar t
        close = self.replay.close[t]
        finite = np.isfinite(close)
        self._last_close = close if finite.all() else np.where(finite, close, self._last_close)
        self._rth = None  # the regular-hours answer is cached per bar
        if self._new_rows:
            self._open_rows = np.concatenate([self._open_rows, self._new_rows])
            self._new_rows = []
        changed_rows = _NO_ROWS
        new_fills: list[Fill] = []
        rows = self._open_rows
        self.bar_steps += rows.size
        if rows.size:  # bars with no open order skip the fill model entirely
            changed_rows, new_fills = self._fill(t, rows)
        expired = _NO_ROWS
        if self._session_last[t] and self._open_rows.size:
            cand = self._open_rows[self._is_open[self._open_rows]]
            expired = cand[self._day[cand] & (self._eligible[cand] <= t)]
            for r in expired.tolist():
                self._is_open[r] = False
                self._status[r] = _S.EXPIRED
                self._report(self._cids[r], ReportKind.EXPIRED, _S.EXPIRED,
                             int(self._filled[r]), None, "DAY order expired at the session close")
        if self._open_rows.size:
            self._open_rows = self._open_rows[self._is_open[self._open_rows]]
        if self._store is not None:
            self._persist_bar(np.concatenate([changed_rows, expired]), new_fills)

    def _fill(self, t: int, rows: np.ndarray) -> tuple[np.ndarray, list[Fill]]:
        """Fill the open order ``rows`` eligible on bar ``t`` (one numba call over all of them,
        see sim/fill_kernel.py); returns the rows that filled and their fills (reports are
        queued). At most one fill per order per bar: the participation cap is applied to the
        order's whole remaining size at once."""
        rp = self.replay
        st = self.settings
        mult = np.exp(self._perm)
        (frows, fq, fp, fsign, fsym, done, nfills, cum, net, perm_frac) = fill_bar(
            t, rows, self._eligible, self._sym, self._sign, self._qty, self._filled,
            self._notional, self._limit, self._is_open, self._nfills, self._pos,
            rp.close[t], rp.high[t], rp.low[t], rp.bid[t], rp.ask[t], rp.volume[t], mult,
            self._half_spread(t), self._sigma_path[t],
            st.max_participation, st.limit_volume_share, st.limit_fill_rule == "through",
            st.impact_y, self._perm_coef_path[t],
        )
        # log1p stays in numpy (the kernel does only correctly rounded arithmetic)
        self._perm += np.sign(net) * np.log1p(perm_frac)
        new_fills: list[Fill] = []
        if not frows.size:
            return _NO_ROWS, new_fills
        fees = self._incremental_fees(frows, fq, fp, fsign)
        self._cash -= float(np.sum(fsign * fq * fp) + fees.sum())
        ts = rp.timestamps[t]
        syms = rp.symbols
        cids = self._cids
        status_of = self._status
        tiger = self.tiger_style_reports
        report = self._report
        # without fault injection a fill report is due at the next poll: queued here directly
        # (what _report does, inlined: this loop runs once per fill, a million times a study)
        fault_free = not self.faults.enabled
        queue = self._pending.append
        id_prefix = f"S{self._session}-R"
        buy, sell, filled, partial, kind_fill = (Side.BUY, Side.SELL, _S.FILLED,
                                                 _S.PARTIALLY_FILLED, ReportKind.FILL)
        # one Python object per fill is the price of the Broker protocol; everything else
        # above is compiled, and this loop reads plain lists, not numpy scalars
        for r, k, s_, sg, qq, pp, ff, dn, c in zip(
                frows.tolist(), nfills.tolist(), fsym.tolist(), fsign.tolist(), fq.tolist(),
                fp.tolist(), fees.tolist(), done.tolist(), cum.tolist(), strict=True):
            cid = cids[r]
            bid_ = f"SIM{r + 1}"  # == self._broker_id(r)
            fill = Fill(f"{bid_}-F{k}", cid, syms[s_], buy if sg > 0 else sell,
                        qq, pp, ts, ff, bid_)
            new_fills.append(fill)
            status = filled if dn else partial
            status_of[r] = status
            if tiger and not dn:
                report(cid, ReportKind.STATUS, _S.ACCEPTED, c, None, row=r)
            elif fault_free:
                self._report_seq = seq = self._report_seq + 1
                queue((t, ExecutionReport(f"{id_prefix}{seq}", cid, kind_fill, status, c, bid_,
                                          fill, "")))
            else:
                report(cid, kind_fill, status, c, fill, row=r)
        self._fills.extend(new_fills)
        return frows, new_fills

    def _half_spread(self, t: int) -> np.ndarray:
        """Half spread (fraction) of bar ``t`` where it has no quotes (the kernel uses the
        bid/ask where it has them)."""
        return self._spread_path[t]

    @property
    def half_spread_path(self) -> np.ndarray:
        """Read-only (n_bars, n_symbols) half spreads charged where a bar has no quotes
        (:func:`sim.response.half_spread_path` of this broker's spread source)."""
        view = self._spread_path.view()
        view.flags.writeable = False
        return view

    # ------------------------------------------------------------------ reports
    def _report(self, cid: str, kind: ReportKind, status: OrderStatus, cum: int,
                fill: Fill | None, reason: str = "", row: int | None = None) -> None:
        self._report_seq += 1
        r = self._row_of[cid] if row is None else row
        rep = ExecutionReport(f"S{self._session}-R{self._report_seq}", cid, kind, status, cum,
                              f"SIM{r + 1}", fill, reason)
        due = self.last_bar  # deliverable at the engine's next poll
        if not self.faults.enabled:
            self._pending.append((due, rep))
            return
        cfg = self.faults.config
        if self.faults.hit(cfg.report_delay):
            due += int(self.faults.rng.integers(1, cfg.report_max_delay_bars + 1))
        self._pending.append((due, rep))
        if self.faults.hit(cfg.report_duplicate):
            self._pending.append((due, rep))

    def poll_reports(self) -> list[ExecutionReport]:
        self._maybe_disconnect("poll_reports")
        if not self._pending:
            return []
        now = self.last_bar
        out = [r for d, r in self._pending if d <= now]
        self._pending = [(d, r) for d, r in self._pending if d > now]
        if self.coalesce_reports and len(out) > 1:
            accepted = ReportKind.ACCEPTED
            later = {r.client_order_id for r in out if r.kind is not accepted}
            out = [r for r in out if r.kind is not accepted or r.client_order_id not in later]
        if len(out) > 1 and self.faults.hit(self.faults.config.report_reorder):
            perm = self.faults.rng.permutation(len(out))
            out = [out[i] for i in perm]
        return out

    # ------------------------------------------------------------------ Broker protocol
    def _broker_id(self, row: int) -> str:
        return f"SIM{row + 1}"

    def _maybe_disconnect(self, what: str) -> None:
        if self.faults.enabled and self.faults.hit(self.faults.config.disconnect):
            raise BrokerUnavailable(f"simulated disconnect during {what}")

    def submit(self, order: Order) -> str:
        self._maybe_disconnect("submit")
        if self.faults.hit(self.faults.config.rate_limit):
            raise RateLimited("rate limit error (simulated: up to 120 times per minute)",
                              code=4)
        self.submit_attempts.append(order.client_order_id)
        if self._store is not None:
            self._store.record_submit(order.client_order_id)
        if order.client_order_id in self._row_of:
            self.duplicate_submits += 1
            raise Rejected(f"client order id {order.client_order_id} already used",
                           code="duplicate_client_order_id")
        self._check_rules(order)
        if self.faults.hit(self.faults.config.submit_reject):
            raise Rejected("order rejected by the simulated venue (fault injection)",
                           code="fault_reject")
        r = self._add_order(order)
        self._report(order.client_order_id, ReportKind.ACCEPTED, _S.ACCEPTED, 0, None)
        if self.faults.hit(self.faults.config.submit_timeout):
            raise SubmitTimeout(order.client_order_id, "simulated read timeout after acceptance")
        return self._broker_id(r)

    def _regular_hours(self) -> bool:
        if self._rth is None:
            self._rth = is_regular_hours(self._now())
        return self._rth

    def _check_rules(self, order: Order) -> None:
        if order.symbol not in self._sym_index:
            raise Rejected(f"unknown symbol {order.symbol}", code="unknown_symbol")
        if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise Rejected(f"order type {order.order_type} not supported", code="order_type")
        if order.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC):
            raise Rejected(f"time in force {order.time_in_force} not supported for US stocks",
                           code="time_in_force")
        if int(order.quantity) != order.quantity or order.quantity < 1:
            raise Rejected(f"quantity {order.quantity} is not a whole number of shares",
                           code="lot_size")
        if order.order_type is OrderType.MARKET and not self._regular_hours():
            raise Rejected("market orders are not accepted outside regular trading hours",
                           code="outside_rth")
        if order.order_type is OrderType.LIMIT and not is_on_tick(order.limit_price):
            raise Rejected(f"limit price {order.limit_price} does not conform to the tick size",
                           code="tick_size")

    def _grow(self) -> None:
        for name in ("_sym", "_sign", "_qty", "_filled", "_notional", "_limit", "_eligible",
                     "_is_open", "_day", "_nfills"):
            a = getattr(self, name)
            b = np.zeros(2 * len(a), a.dtype)
            b[: len(a)] = a
            setattr(self, name, b)

    def _add_order(self, order: Order, *, eligible: int | None = None, persist: bool = True) -> int:
        if self._n == len(self._sym):
            self._grow()
        r = self._n
        self._n += 1
        self._sym[r] = self._sym_index[order.symbol]
        self._sign[r] = order.side.sign
        self._qty[r] = order.quantity
        self._limit[r] = order.limit_price if order.order_type is OrderType.LIMIT else np.nan
        self._eligible[r] = self.last_bar + self.latency_bars if eligible is None else eligible
        self._is_open[r] = True
        self._day[r] = order.time_in_force is TimeInForce.DAY
        self._cids.append(order.client_order_id)
        self._status.append(_S.ACCEPTED)
        self._row_of[order.client_order_id] = r
        self._new_rows.append(r)
        if persist and self._store is not None:
            self._store.record_order(r, order, int(self._eligible[r]), bool(self._day[r]))
        return r

    def cancel(self, client_order_id: str, broker_order_id: str | None = None) -> None:
        self._maybe_disconnect("cancel")
        r = self._row_of.get(client_order_id)
        if r is None:
            raise Rejected(f"no order with client id {client_order_id}", code="unknown_order")
        if not self._is_open[r]:
            return  # already final: cancelling is a no-op
        self._is_open[r] = False
        self._status[r] = _S.CANCELLED
        self._report(client_order_id, ReportKind.CANCELLED, _S.CANCELLED, int(self._filled[r]),
                     None, "cancelled on request")
        if self._store is not None:
            self._store.record_status(r, _S.CANCELLED)

    def _view(self, r: int) -> BrokerOrder:
        lim = self._limit[r]
        filled = int(self._filled[r])
        return BrokerOrder(
            client_order_id=self._cids[r], broker_order_id=self._broker_id(r),
            symbol=self.replay.symbols[self._sym[r]],
            side=Side.BUY if self._sign[r] > 0 else Side.SELL, quantity=int(self._qty[r]),
            order_type=OrderType.MARKET if np.isnan(lim) else OrderType.LIMIT,
            limit_price=None if np.isnan(lim) else float(lim), status=self._status[r],
            filled_quantity=filled,
            average_price=float(self._notional[r] / filled) if filled else 0.0,
        )

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        self._maybe_disconnect("get_order")
        r = self._row_of.get(client_order_id)
        return None if r is None else self._view(r)

    def open_orders(self) -> list[BrokerOrder]:
        self._maybe_disconnect("open_orders")
        return [self._view(r) for r in np.flatnonzero(self._is_open[: self._n]).tolist()]

    def fills(self, client_order_ids: Iterable[str] | None = None,
              since: datetime | None = None) -> list[Fill]:
        self._maybe_disconnect("fills")
        out = self._fills
        if client_order_ids is not None:
            wanted = set(client_order_ids)
            out = [f for f in out if f.client_order_id in wanted]
        if since is not None:
            out = [f for f in out if f.timestamp >= since]
        return list(out)

    def positions(self) -> dict[str, Position]:
        self._maybe_disconnect("positions")
        out = {}
        for i in np.flatnonzero(self._pos).tolist():
            s = self.replay.symbols[i]
            out[s] = Position(symbol=s, quantity=int(self._pos[i]))
        return out

    def account(self) -> Account:
        self._maybe_disconnect("account")
        # positions at each symbol's last close (permanent impact included, as in a snapshot)
        value = float(np.nansum(self._pos * self._last_close * np.exp(self._perm)))
        return Account(cash=self._cash, equity=self._cash + value, buying_power=self._cash)

    # ------------------------------------------------------------------ persistence
    def _restore(self, store: BrokerStore) -> None:
        """Rebuild the state a previous session of this broker left in ``store``."""
        self.last_bar = store.last_bar
        self._perm = store.market_state()
        seen = self.replay.close[: self.last_bar + 1]
        for j in range(seen.shape[1]):
            priced = np.flatnonzero(np.isfinite(seen[:, j]))
            if priced.size:
                self._last_close[j] = seen[priced[-1], j]
        for row, cid, sym, side, qty, lim, elig, day, status in store.orders():
            order = Order(cid, sym, Side(side), qty,
                          OrderType.LIMIT if lim is not None else OrderType.MARKET, lim,
                          TimeInForce.DAY if day else TimeInForce.GTC)
            r = self._add_order(order, eligible=elig, persist=False)
            assert r == row, "simulated broker store: order rows out of sequence"
            if status is not None:
                self._status[r] = _S(status)
                self._is_open[r] = not self._status[r].is_terminal
        for fid, cid, row, qty, price, fees, _bar, ts in store.fills():
            sign = int(self._sign[row])
            self._fills.append(Fill(fid, cid, self.replay.symbols[self._sym[row]],
                                    Side.BUY if sign > 0 else Side.SELL, qty, price,
                                    datetime.fromisoformat(ts), fees, self._broker_id(row)))
            self._filled[row] += qty
            self._notional[row] += qty * price
            self._nfills[row] += 1
            self._pos[self._sym[row]] += sign * qty
            self._cash -= sign * qty * price + fees
        self._open_rows = np.flatnonzero(self._is_open[: self._n]).astype(np.int64)
        self._new_rows = []
        self.submit_attempts = store.submits()

    def _persist_bar(self, changed: np.ndarray, fills: list[Fill]) -> None:
        row_of, status = self._row_of, self._status
        self._store.record_bar(
            self.last_bar, fills, [row_of[f.client_order_id] for f in fills],
            [(status[r].value, r) for r in set(changed.tolist())], self._perm)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
