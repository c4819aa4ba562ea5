"""Portfolio accounting from fills: the dated cash, positions and equity of a replay.

The replay's simulated broker produces fills; this module turns them, with the close prices
and the initial cash, into the curve the metrics read. Rules:

* Every fill changes cash by ``-(signed quantity * price) - fees`` (a buy spends, a sell
  receives; fees are dollars paid, never negative) and positions by its signed quantity.
* Closes are a wide frame (index: dated sessions or bar close stamps, strictly increasing;
  columns: symbols). Bars are stamped at their close, so a fill belongs to the first close
  stamp at or after its timestamp. A daily frame (every stamp at midnight) holds one close per
  session: a fill belongs to the session of its date (in exchange time when its timestamp has a
  time zone) and that session must be in the frame.
* Positions are marked to market at each close: equity = cash + sum(shares * close). A held
  symbol without a close on a date is an error (a missing price is not carried forward).
* Exactness: cash on each date is the exact sum of the initial cash and every flow booked so
  far, rounded once (the flows are kept as exact partials, as :func:`math.fsum` does), so it
  carries no float drift however many fills; positions are exact for whole-share quantities.

Bad input raises :class:`AccountingInputError` naming the fill row and field (or the date and
symbol) that is wrong; nothing is dropped, merged or repaired.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd

from research.analytics.metrics import PerformanceMetrics, performance_metrics
from research.data.schema import EXCHANGE_TZ
from research.domain import Fill

SIDE_SIGNS = {"buy": 1.0, "sell": -1.0}


class AccountingInputError(ValueError):
    """Closes, fills or cash that a portfolio cannot be accounted from."""


@dataclass(frozen=True)
class PortfolioAccount:
    """Dated accounts of a portfolio, one row per close stamp.

    ``equity`` = ``cash`` + ``market_value``; ``positions`` in shares (wide, like the closes);
    ``traded_notional`` (sum of |quantity * price|) and ``fees`` are the dollars of the fills
    booked on each date, for turnover and cost drag."""

    equity: pd.Series
    cash: pd.Series
    market_value: pd.Series
    positions: pd.DataFrame
    traded_notional: pd.Series
    fees: pd.Series

    def metrics(self, benchmark: pd.Series | None = None,
                risk_free_rate: float = 0.0) -> PerformanceMetrics:
        """The curve's metrics with this account's turnover and fees (cost drag from fees)."""
        return performance_metrics(self.equity, benchmark, traded_notional=self.traded_notional,
                                   costs=self.fees, risk_free_rate=risk_free_rate)


def fills_frame(fills: Iterable[Fill]) -> pd.DataFrame:
    """Broker fills (:class:`research.domain.Fill`) as the frame :func:`account_fills` reads."""
    return pd.DataFrame(
        [(f.fill_id, f.timestamp, f.symbol, str(f.side), f.quantity, f.price, f.fees)
         for f in fills],
        columns=["fill_id", "timestamp", "symbol", "side", "quantity", "price", "fees"])


def _validated_closes(closes: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(closes, pd.DataFrame):
        raise AccountingInputError(f"closes must be a DataFrame, got {type(closes).__name__}")
    if not isinstance(closes.index, pd.DatetimeIndex):
        raise AccountingInputError(f"closes must have a DatetimeIndex, got "
                                   f"{type(closes.index).__name__}")
    if len(closes) == 0 or closes.shape[1] == 0:
        raise AccountingInputError(f"closes are empty ({closes.shape[0]} rows, "
                                   f"{closes.shape[1]} symbols)")
    steps = np.diff(closes.index.asi8)
    if (steps <= 0).any():
        at = int(np.argmax(steps <= 0)) + 1
        raise AccountingInputError(f"closes dates must be strictly increasing: "
                                   f"{closes.index[at]} follows {closes.index[at - 1]}")
    if closes.columns.duplicated().any():
        raise AccountingInputError(f"closes have duplicated symbols "
                                   f"{closes.columns[closes.columns.duplicated()].tolist()}")
    values = closes.to_numpy(dtype=float)
    bad = np.isinf(values) | (values <= 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise AccountingInputError(f"close of {closes.columns[col]} on {closes.index[row]} is "
                                   f"{values[row, col]}: prices must be finite and > 0")
    return closes


def _signed_quantities(fills: pd.DataFrame) -> np.ndarray:
    quantity = pd.to_numeric(fills["quantity"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(quantity) | (quantity == 0)
    if "side" not in fills.columns:
        if bad.any():
            _refuse(fills, bad, "quantity", "must be a finite, non-zero signed number")
        return quantity
    side = fills["side"].astype(str).str.lower()
    unknown = ~side.isin(list(SIDE_SIGNS)).to_numpy()
    if unknown.any():
        _refuse(fills, unknown, "side", f"must be one of {sorted(SIDE_SIGNS)}")
    bad |= quantity < 0
    if bad.any():
        _refuse(fills, bad, "quantity", "must be finite and > 0 when a side is given")
    return quantity * side.map(SIDE_SIGNS).to_numpy(dtype=float)


def _refuse(fills: pd.DataFrame, bad: np.ndarray, field: str, rule: str) -> NoReturn:
    at = int(np.argmax(bad))
    raise AccountingInputError(f"fill row {at} ({int(bad.sum())} bad in all): {field} "
                               f"{fills[field].iloc[at]!r} {rule}")


def _fill_rows(stamps: pd.DatetimeIndex, index: pd.DatetimeIndex) -> np.ndarray:
    """The close row each fill is booked on (see the module's rules)."""
    daily = bool((index == index.normalize()).all())
    if daily:
        if stamps.tz is not None:
            stamps = stamps.tz_convert(EXCHANGE_TZ).tz_localize(None)
        sessions = index.tz_localize(None) if index.tz is not None else index
        dates = stamps.normalize().as_unit(sessions.unit)
        rows = sessions.get_indexer(dates)
        if (rows < 0).any():
            at = int(np.argmax(rows < 0))
            raise AccountingInputError(f"fill row {at}: timestamp {stamps[at]} falls on "
                                       f"{dates[at]:%Y-%m-%d}, which has no close in the frame")
        return rows
    if (stamps.tz is None) != (index.tz is None):
        raise AccountingInputError("fill timestamps and close stamps must both have a time "
                                   "zone or both have none")
    rows = index.searchsorted(stamps.as_unit(index.unit), side="left")
    late = rows >= len(index)
    if late.any():
        at = int(np.argmax(late))
        raise AccountingInputError(f"fill row {at}: timestamp {stamps[at]} is after the last "
                                   f"close {index[-1]}")
    return rows


def _validated_fills(fills, closes: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(fills, pd.DataFrame):
        fills = fills_frame(fills)
    missing = {"timestamp", "symbol", "quantity", "price", "fees"} - set(fills.columns)
    if missing:
        raise AccountingInputError(f"fills lack the column(s) {sorted(missing)}")
    fills = fills.reset_index(drop=True)
    if "fill_id" in fills.columns and fills["fill_id"].duplicated().any():
        _refuse(fills, fills["fill_id"].duplicated().to_numpy(), "fill_id",
                "is a duplicate (the same execution booked twice)")
    unknown = ~fills["symbol"].isin(closes.columns).to_numpy()
    if unknown.any():
        _refuse(fills, unknown, "symbol", "has no column in the closes")
    for field, rule in (("price", lambda v: np.isfinite(v) & (v > 0)),
                        ("fees", lambda v: np.isfinite(v) & (v >= 0))):
        values = pd.to_numeric(fills[field], errors="coerce").to_numpy(dtype=float)
        bad = ~rule(values)
        if bad.any():
            _refuse(fills, bad, field, "must be finite and > 0" if field == "price"
                    else "must be finite dollars >= 0")
    try:
        stamps = pd.DatetimeIndex(fills["timestamp"])
    except (TypeError, ValueError) as exc:
        raise AccountingInputError(f"fill timestamps are not dates: {exc}") from None
    if stamps.isna().any():
        _refuse(fills, np.asarray(stamps.isna()), "timestamp", "is missing")
    return pd.DataFrame({
        "row": _fill_rows(stamps, closes.index),
        "column": closes.columns.get_indexer(fills["symbol"]),
        "quantity": _signed_quantities(fills),
        "price": fills["price"].to_numpy(dtype=float),
        "fees": fills["fees"].to_numpy(dtype=float),
    })


def _add_exactly(partials: list[float], x: float) -> None:
    """Add ``x`` to the exact sum held as non-overlapping float partials (Shewchuk's
    algorithm, the one :func:`math.fsum` uses): no bit of any addend is ever lost."""
    kept = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        high = x + y
        low = y - (high - x)
        if low:
            partials[kept] = low
            kept += 1
        x = high
    partials[kept:] = [x]


def _exact_running_totals(start: float, flows: list[float], rows: list[int],
                          n_rows: int) -> np.ndarray:
    """``start`` plus every flow booked up to each row (``rows`` sorted), each total rounded
    once from the exact sum, so no rounding error accumulates however many fills."""
    partials = [float(start)]
    totals = np.empty(n_rows)
    total, k = float(start), 0
    for row in range(n_rows):
        if k < len(rows) and rows[k] == row:
            while k < len(rows) and rows[k] == row:
                _add_exactly(partials, flows[k])
                k += 1
            total = math.fsum(partials)
        totals[row] = total
    return totals


def account_fills(closes: pd.DataFrame, fills, initial_cash: float) -> PortfolioAccount:
    """Cash, positions and equity at every close of ``closes`` after booking ``fills``.

    ``fills``: a frame with columns ``timestamp, symbol, quantity, price, fees`` (quantity
    signed, + buys) or with a ``side`` column (``buy``/``sell``) and positive quantities, an
    optional unique ``fill_id``; or an iterable of :class:`research.domain.Fill`."""
    closes = _validated_closes(closes)
    if not math.isfinite(initial_cash) or initial_cash < 0:
        raise AccountingInputError(f"initial_cash must be finite dollars >= 0, got "
                                   f"{initial_cash!r}")
    booked = _validated_fills(fills, closes).sort_values("row", kind="stable")
    n_rows, n_symbols = closes.shape
    traded = np.zeros((n_rows, n_symbols))
    np.add.at(traded, (booked["row"].to_numpy(), booked["column"].to_numpy()),
              booked["quantity"].to_numpy())
    positions = np.cumsum(traded, axis=0)

    rows = booked["row"].to_numpy()
    value = booked["quantity"].to_numpy() * booked["price"].to_numpy()
    fees = booked["fees"].to_numpy()
    # cash moves by -(quantity * price) and -fees: both kept as separate exact addends
    flows = np.column_stack([-value, -fees]).ravel().tolist()
    cash = _exact_running_totals(initial_cash, flows, np.repeat(rows, 2).tolist(), n_rows)
    day_notional = np.zeros(n_rows)
    day_fees = np.zeros(n_rows)
    np.add.at(day_notional, rows, np.abs(value))
    np.add.at(day_fees, rows, fees)

    prices = closes.to_numpy(dtype=float)
    unpriced = (positions != 0) & np.isnan(prices)
    if unpriced.any():
        row, col = map(int, np.argwhere(unpriced)[0])
        raise AccountingInputError(f"{closes.columns[col]} is held ({positions[row, col]:g} "
                                   f"shares) but has no close on {closes.index[row]}")
    market_value = np.where(positions != 0, positions * np.nan_to_num(prices), 0.0).sum(axis=1)
    index = closes.index
    return PortfolioAccount(
        equity=pd.Series(cash + market_value, index=index, name="equity"),
        cash=pd.Series(cash, index=index, name="cash"),
        market_value=pd.Series(market_value, index=index, name="market_value"),
        positions=pd.DataFrame(positions, index=index, columns=closes.columns),
        traded_notional=pd.Series(day_notional, index=index, name="traded_notional"),
        fees=pd.Series(day_fees, index=index, name="fees"),
    )


__all__ = ["AccountingInputError", "PortfolioAccount", "account_fills", "fills_frame"]
