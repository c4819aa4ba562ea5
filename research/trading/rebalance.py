"""The rebalance decision, written once: which sessions rebalance, how target weights become
whole shares at NAV, and the parent orders that move a book to its targets.

The trading loop (:mod:`research.trading.loop`) decides live and in replays with these
functions; :func:`rebalance_orders` uses them to build a *paper* order list for execution
studies (no fills fed back). Bookkeeping (documented because the orders depend on it):

* Rebalance days are the first session of each month (``"monthly"``), of each ISO week
  (``"weekly"``) or every session (``"daily"``); or, with ``every_sessions=N`` (a config's
  ``strategy.rebalance_every_sessions``), every N exchange sessions counted from ``anchor``
  (its ``universe.start``, session 0), so a run's window does not move the schedule.
* On rebalance day D the decision uses only closes strictly before D: target weights from the
  portfolio strategy, and NAV and share counts valued at the previous close P(D-1), the last
  price known before the open.
* Target shares = round(w * NAV / P(D-1)) (whole shares; a symbol without a price gets 0).
  The order is target - holdings; zero trades produce no order.

:func:`rebalance_orders` only (the paper list):

* The orders are assumed to complete at P(D-1): holdings become the targets and cash absorbs
  the trades. Execution costs are not fed back (they are what the study measures), so the order
  list does not depend on how it is executed, and every algorithm trades the same orders.
* ``initial="target"`` (default): the portfolio already holds its targets at the first rebalance
  (no orders that day), so every order is the trade that price drift and new targets imply.
  ``initial="cash"``: it starts in cash and the first rebalance buys the whole portfolio.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ
from research.domain import Algorithm, Side
from research.execution.model import ParentOrder
from research.strategies.parent_orders import PARENT_ORDER_COLUMNS, validate_parent_orders

REBALANCE_FREQUENCIES = ("daily", "weekly", "monthly")


class WeightStrategy(Protocol):
    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series: ...


def _periods(days: pd.DatetimeIndex, frequency: str) -> np.ndarray:
    """The rebalance period of each session: one integer key per day, equal within a period."""
    if frequency == "daily":
        return np.arange(len(days))
    if frequency == "weekly":
        iso = days.isocalendar()
        return iso["year"].to_numpy() * 100 + iso["week"].to_numpy()
    if frequency == "monthly":
        return np.asarray(days.year * 100 + days.month)
    raise ValueError(f"frequency must be one of {REBALANCE_FREQUENCIES}, got {frequency!r}")


def _on_every_sessions(days: pd.DatetimeIndex, every_sessions: int, anchor) -> np.ndarray:
    """Which ``days`` are a multiple of ``every_sessions`` exchange sessions from ``anchor``."""
    from research.data.calendar import session_numbers

    if anchor is None:
        raise ValueError("every_sessions counts sessions from an anchor date: give anchor "
                         "(a config's universe.start)")
    if int(every_sessions) < 1:
        raise ValueError(f"every_sessions must be >= 1, got {every_sessions!r}")
    return session_numbers(days, anchor) % int(every_sessions) == 0


def rebalance_dates(index: pd.DatetimeIndex, frequency: str = "monthly", start=None,
                    end=None, every_sessions: int | None = None, anchor=None
                    ) -> pd.DatetimeIndex:
    """First session of each period (``daily``/``weekly``/``monthly``) within [start, end];
    with ``every_sessions``, the sessions N apart from ``anchor`` instead."""
    days = pd.DatetimeIndex(index).normalize()
    if days.tz is not None:
        days = days.tz_localize(None)
    if start is not None:
        days = days[days >= pd.Timestamp(start)]
    if end is not None:
        days = days[days <= pd.Timestamp(end)]
    if every_sessions is not None:
        return days[_on_every_sessions(days, every_sessions, anchor)]
    period = _periods(days, frequency)
    first = np.r_[True, period[1:] != period[:-1]]
    return days[first]


def config_rebalance_dates(config, index: pd.DatetimeIndex, start=None, end=None
                           ) -> pd.DatetimeIndex:
    """A run config's rebalance sessions among ``index`` within [start, end]: its
    ``strategy.rebalance_every_sessions`` when set, else its ``strategy.rebalance`` calendar."""
    strategy = config.strategy
    return rebalance_dates(index, strategy.rebalance, start, end,
                           strategy.rebalance_every_sessions, config.universe.start)


def is_rebalance_session(frequency: str, day: pd.Timestamp, previous_session: pd.Timestamp,
                         every_sessions: int | None = None, anchor=None) -> bool:
    """Whether ``day`` opens a new rebalance period after ``previous_session`` (the last
    session with a close before it), or with ``every_sessions`` is N sessions on from the
    last rebalance counted from ``anchor``: the streaming form of :func:`rebalance_dates`."""
    if every_sessions is not None:
        from research.data.calendar import session_number

        if anchor is None or int(every_sessions) < 1:  # the same errors as the batch form
            return bool(_on_every_sessions(pd.DatetimeIndex([day]), every_sessions, anchor)[0])
        return session_number(day, anchor) % int(every_sessions) == 0
    # plain date arithmetic, the same keys as _periods: it runs once a session of a replay
    if frequency == "daily":
        return True
    a, b = pd.Timestamp(previous_session), pd.Timestamp(day)
    if frequency == "weekly":
        return a.isocalendar()[:2] != b.isocalendar()[:2]
    if frequency == "monthly":
        return (a.year, a.month) != (b.year, b.month)
    raise ValueError(f"frequency must be one of {REBALANCE_FREQUENCIES}, got {frequency!r}")


def target_shares(weights: np.ndarray, nav: float, price: np.ndarray) -> np.ndarray:
    """Whole target shares round(w * NAV / price); 0 where the price is missing or not > 0."""
    price = np.asarray(price, dtype=float)
    priced = np.isfinite(price) & (price > 0)
    target = np.zeros(len(price), dtype=np.int64)
    target[priced] = np.rint(np.asarray(weights, dtype=float)[priced] * nav / price[priced]
                             ).astype(np.int64)
    return target


def rebalance_parents(decision_key: str, symbols: tuple[str, ...] | list[str],
                      trade: np.ndarray, algorithm: Algorithm, horizon_bars: int,
                      reduce_only: bool = False) -> list[ParentOrder]:
    """Parent orders for the non-zero ``trade`` shares (signed, one per symbol), with the
    deterministic ids ``<decision_key>-<SYMBOL>`` (a restart derives the same ids). Algorithm
    parameters are added by :class:`research.trading.AlgorithmPlanner`."""
    return [ParentOrder(f"{decision_key}-{s}", s, Side.BUY if q > 0 else Side.SELL, int(abs(q)),
                        algorithm=algorithm, horizon_bars=horizon_bars, reduce_only=reduce_only)
            for s, q in zip(symbols, np.asarray(trade).tolist(), strict=True) if q != 0]


def cost_aware_trade(trade: np.ndarray, price: np.ndarray, predicted_cost_usd: np.ndarray,
                     benefit_bps: float) -> np.ndarray:
    """The no-trade band: ``trade`` (signed shares per symbol) with the trades whose expected
    benefit does not exceed their predicted cost set to 0.

    Benefit of a trade: its notional |shares| x price (= |target - current weight| x NAV)
    times ``benefit_bps``, the excess return the strategy expects of its target over the
    rebalance period per unit moved — one documented number, not a forecast per name. So a
    trade is sent only when the cost model predicts it costs less than ``benefit_bps`` of its
    notional: small trades whose per-order fee minimums and spread dominate are skipped and
    the position drifts until the gap is worth closing. A trade whose cost cannot be
    predicted (NaN) is sent: the band skips only on evidence."""
    if not benefit_bps > 0:
        raise ValueError(f"no-trade band: benefit_bps must be > 0, got {benefit_bps!r}")
    trade = np.asarray(trade)
    benefit = np.abs(trade) * np.nan_to_num(np.asarray(price, dtype=float)) * benefit_bps * 1e-4
    cost = np.asarray(predicted_cost_usd, dtype=float)
    skip = (trade != 0) & np.isfinite(cost) & (benefit <= cost)
    return np.where(skip, 0, trade)


def within_exposure_limits(weights: np.ndarray, sectors: list[str], limits) -> np.ndarray:
    """``weights`` (fractions of NAV) brought back inside the position, sector (gross), gross
    and net limits by shrinking only: each position to its cap, each sector's positions in
    proportion to its cap, then the whole book to the gross and net caps. A book within the
    limits comes back unchanged."""
    w = np.clip(np.asarray(weights, dtype=float), -limits.max_position_weight,
                limits.max_position_weight)
    sectors = np.asarray(sectors, dtype=object)
    for sector in set(sectors.tolist()):
        member = sectors == sector
        gross = float(np.abs(w[member]).sum())
        if gross > limits.max_sector_weight:
            w[member] *= limits.max_sector_weight / gross
    gross = float(np.abs(w).sum())
    if gross > limits.max_gross_exposure:
        w *= limits.max_gross_exposure / gross
    net = abs(float(w.sum()))
    if net > limits.max_net_exposure:
        w *= limits.max_net_exposure / net
    return w


def _decision_timestamp(day: pd.Timestamp, decision_time: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day:%Y-%m-%d} {decision_time}").tz_localize(EXCHANGE_TZ)


def rebalance_orders(closes: pd.DataFrame, strategy: WeightStrategy, capital: float,
                     frequency: Literal["daily", "weekly", "monthly"] = "monthly", start=None,
                     end=None, horizon_minutes: int = 60, decision_time: str = "10:00",
                     initial: Literal["target", "cash"] = "target",
                     calendar: str = "XNYS") -> pd.DataFrame:
    """Parent orders of a periodic rebalance of ``capital`` dollars into ``strategy``'s weights.

    ``closes`` is a wide frame of daily closes (index: session dates, columns: symbols), e.g.
    :func:`research.data.load_sp500_closes`. Returns the columns of
    :data:`~research.strategies.parent_orders.PARENT_ORDER_COLUMNS`, sorted by decision time then
    symbol, with deterministic ids ``RB-YYYYMMDD-SYMBOL``. Raises if a decision time plus the
    horizon falls outside a rebalance day's regular session.
    """
    if capital <= 0:
        raise ValueError(f"capital must be > 0 dollars, got {capital}")
    if horizon_minutes <= 0:
        raise ValueError(f"horizon_minutes must be > 0, got {horizon_minutes}")
    if initial not in ("target", "cash"):
        raise ValueError(f"initial must be 'target' or 'cash', got {initial!r}")
    days = rebalance_dates(closes.index, frequency, start, end)
    if len(days) == 0:
        raise ValueError(f"no {frequency} rebalance day in the closes between {start} and {end}")
    from research.data.calendar import sessions

    schedule = sessions(days.min(), days.max(), calendar)
    symbols = np.asarray(closes.columns, dtype=object)
    index = closes.index.tz_localize(None) if closes.index.tz is not None else closes.index
    values = closes.to_numpy(dtype=float)
    holdings = np.zeros(len(symbols), dtype=np.int64)
    cash = float(capital)
    frames = []
    for n, day in enumerate(days):
        row = index.get_indexer([day])[0] - 1  # the previous session's close
        if row < 0:
            raise ValueError(f"rebalance day {day:%Y-%m-%d} has no earlier close to price it")
        price = values[row]
        weights = strategy.target_weights(closes, day).reindex(closes.columns).fillna(0.0)
        w = weights.to_numpy(dtype=float)
        held = holdings != 0
        if np.isnan(price[held]).any():
            raise ValueError(f"{day:%Y-%m-%d}: no previous close for held "
                             f"{symbols[held & np.isnan(price)].tolist()}")
        needs_price = (w > 0) & np.isnan(price)
        if needs_price.any():
            raise ValueError(f"{day:%Y-%m-%d}: positive target weight but no previous close "
                             f"for {symbols[needs_price].tolist()}")
        safe_price = np.where(np.isnan(price), 0.0, price)
        nav = cash + float(holdings @ safe_price)
        target = target_shares(w, nav, safe_price)
        trade = target - holdings
        cash -= float(trade @ safe_price)
        holdings = target
        if n == 0 and initial == "target":
            continue
        traded = trade != 0
        if not traded.any():
            continue
        when = _decision_timestamp(day, decision_time)
        if day not in schedule.index:
            raise ValueError(f"{day:%Y-%m-%d} is not an exchange session")
        session_open, session_close = schedule.loc[day, "open"], schedule.loc[day, "close"]
        if not session_open <= when < session_close:
            raise ValueError(f"decision time {when} is outside the regular session "
                             f"{session_open:%H:%M}-{session_close:%H:%M}")
        if when + pd.Timedelta(minutes=horizon_minutes) > session_close:
            raise ValueError(f"{day:%Y-%m-%d}: decision {decision_time} + {horizon_minutes} min "
                             f"ends after the close {session_close:%H:%M}")
        frames.append(pd.DataFrame({
            "order_id": [f"RB-{day:%Y%m%d}-{s}" for s in symbols[traded]],
            "symbol": symbols[traded],
            "side": np.where(trade[traded] > 0, "buy", "sell").astype(object),
            "quantity": np.abs(trade[traded]),
            "decision_time": when,
            "horizon_minutes": horizon_minutes,
        }))
    if not frames:
        empty = {c: pd.Series(dtype=object) for c in PARENT_ORDER_COLUMNS}
        empty["quantity"] = pd.Series(dtype=np.int64)
        empty["horizon_minutes"] = pd.Series(dtype=np.int64)
        empty["decision_time"] = pd.Series(dtype=f"datetime64[ns, {EXCHANGE_TZ}]")
        return pd.DataFrame(empty)[list(PARENT_ORDER_COLUMNS)]
    orders = pd.concat(frames, ignore_index=True)
    orders = orders.sort_values(["decision_time", "symbol"], kind="stable", ignore_index=True)
    return validate_parent_orders(orders, "rebalance orders", calendar)


__all__ = ["REBALANCE_FREQUENCIES", "WeightStrategy", "config_rebalance_dates",
           "cost_aware_trade", "is_rebalance_session", "rebalance_dates",
           "rebalance_orders", "rebalance_parents", "target_shares", "within_exposure_limits"]
