"""The fast research path: daily target-weight backtests in vectorbt, many parameter sets at once.

This is a *research approximation* for sweeping ideas quickly, not the replay: there is no
execution algorithm, no risk manager, no whole-share sizing and no market response; costs are
flat. The replay (the trading loop over the simulated broker, accounted by
:mod:`research.analytics.accounting`) is the authoritative backtest. Both report their numbers
through :mod:`research.analytics.metrics`, so the conventions are the same.

Timing (no look-ahead): a decision on session t uses closes up to and including close t only,
and its target weights are traded at close t+1 (``size_type="targetpercent"`` of the
portfolio's value, fractional shares, sells before buys with ``call_seq="auto"``). A decision on
the last session is never traded. A buy that the cash cannot pay for in full (fees and
slippage included) is filled for what the cash pays for (vectorbt's partial fill).

Decisions here are vectorised (a rolling volatility over the whole frame, a schedule of every
N sessions) for speed; they are this path's own, not :mod:`research.trading`'s decision layer
(monthly/weekly schedules, whole shares at the previous close), which the replay uses. The
inverse-volatility weights equal :class:`research.strategies.InverseVolatility`'s (tested).

Speed: vectorbt's simulation costs time per session and column whether or not anything
trades, so it is handed only the sessions on which some set trades; the book is constant in
between and is marked to market here, daily, exactly as vectorbt's ``value()`` does (tested
against a vectorbt run over every session).

Costs: every order pays ``slippage_bps`` on its price (buys higher, sells lower than close t+1)
and ``fee_bps`` of its value. The cost reported (cost drag) is fees plus slippage dollars.

Parameter sets are columns of one vectorbt call: each set is a group of one column per symbol
with shared cash (``cash_sharing=True``, ``group_by``), so sets do not interact, and chunks of
``chunk_size`` sets keep memory bounded (the closes are tiled once per set in a chunk).
vectorbt's own statistics are not used (they annualise with 365 days by default); ``freq="1D"``
is given so that its wrappers index sessions, and metrics come from the equity curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from research.analytics.metrics import PerformanceMetrics, performance_metrics


class VectorbtPathInputError(ValueError):
    """Closes, parameters or decisions the fast path cannot run."""


@dataclass(frozen=True)
class FlatCosts:
    """Per-order costs of the fast path, in bps of the order's value."""

    slippage_bps: float = 5.0
    fee_bps: float = 5.0

    def __post_init__(self):
        for name in ("slippage_bps", "fee_bps"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise VectorbtPathInputError(f"{name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True)
class InverseVolatilityParams:
    """One parameter set: weights proportional to 1 / the ``lookback``-session standard
    deviation (ddof=1) of daily log returns, decided on the sessions whose number (the first
    session of the closes being 0) is a multiple of ``rebalance_every``, from the first with a
    full window (see :func:`decision_rows`; W1's 63 and 21 decide on sessions 63, 84, ...)."""

    lookback: int = 63
    rebalance_every: int = 21

    def __post_init__(self):
        if not isinstance(self.lookback, int | np.integer) or self.lookback < 2:
            raise VectorbtPathInputError(f"lookback must be an integer >= 2, got "
                                         f"{self.lookback!r}")
        if not isinstance(self.rebalance_every, int | np.integer) or self.rebalance_every < 1:
            raise VectorbtPathInputError(f"rebalance_every must be an integer >= 1, got "
                                         f"{self.rebalance_every!r}")


@dataclass(frozen=True)
class GridResult:
    """``metrics``: one row per parameter set (index: the set's label), the columns of
    :class:`~research.analytics.metrics.PerformanceMetrics`; ``equity``: one column per set;
    ``excluded``: the (set, decision date, symbol) left at weight 0 for zero volatility;
    ``orders``: when asked for (``keep_orders``), every order vectorbt executed — the set,
    ``date`` (the session traded), ``symbol``, signed fractional ``quantity`` (+ buys),
    ``price`` (the close with the slippage), ``fees`` and ``slippage`` ($) — else None."""

    metrics: pd.DataFrame
    equity: pd.DataFrame
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["lookback", "rebalance_every", "date", "symbol"]))
    orders: pd.DataFrame | None = None


ORDER_COLUMNS = ("date", "symbol", "quantity", "price", "fees", "slippage")


def _validated_closes(closes: pd.DataFrame) -> np.ndarray:
    if not isinstance(closes, pd.DataFrame) or not isinstance(closes.index, pd.DatetimeIndex):
        raise VectorbtPathInputError("closes must be a DataFrame with a DatetimeIndex of "
                                     "sessions and one column per symbol")
    if len(closes) < 3 or closes.shape[1] == 0:
        raise VectorbtPathInputError(f"closes are too small: {closes.shape[0]} sessions, "
                                     f"{closes.shape[1]} symbols")
    if (np.diff(closes.index.asi8) <= 0).any():
        raise VectorbtPathInputError("closes dates must be strictly increasing")
    values = closes.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise VectorbtPathInputError(
            f"close of {closes.columns[col]} on {closes.index[row]:%Y-%m-%d} is "
            f"{values[row, col]}: the fast path needs every close finite and > 0 (trim the "
            "frame to the sessions where every symbol trades; the replay engine takes names "
            "that list late)")
    return values


ZERO_VOLATILITY_RULES = ("raise", "exclude")


def _inverse_volatility(values: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights decided at each close (NaN rows before the first full window), with symbols of
    zero volatility at weight 0, and the mask of those symbols."""
    log_returns = np.diff(np.log(values), axis=0)
    std = pd.DataFrame(log_returns).rolling(lookback).std(ddof=1).to_numpy()
    zero = std == 0
    inverse = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, std))
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = inverse / inverse.sum(axis=1, keepdims=True)
    first_row = np.zeros((1, values.shape[1]), dtype=bool)
    return (np.vstack([np.full((1, values.shape[1]), np.nan), weights]),
            np.vstack([first_row, zero]))


def _check_zero_volatility(zero: np.ndarray, rows: np.ndarray,
                           closes: pd.DataFrame, lookback: int, rule: str) -> list[tuple]:
    """Raise on a decision whose window has a symbol with zero volatility (rule "raise"), or
    list those (date, symbol) pairs (rule "exclude"); a decision with every symbol flat has
    no weights at all and always raises."""
    if rule not in ZERO_VOLATILITY_RULES:
        raise VectorbtPathInputError(f"zero_volatility must be one of {ZERO_VOLATILITY_RULES}, "
                                     f"got {rule!r}")
    flat = zero[rows]
    if not flat.any():
        return []
    row, col = map(int, np.argwhere(flat)[0])
    where = (f"{closes.columns[col]}'s close did not move in the {lookback} sessions to "
             f"{closes.index[rows[row]]:%Y-%m-%d}")
    if rule == "raise":
        raise VectorbtPathInputError(f"zero volatility: {where} (1/0 is not a weight; "
                                     "zero_volatility='exclude' gives such a symbol weight 0)")
    if flat.all(axis=1).any():
        raise VectorbtPathInputError(f"zero volatility for every symbol at a decision: {where}")
    return [(closes.index[rows[r]], closes.columns[c]) for r, c in np.argwhere(flat)]


def inverse_volatility_targets(closes: pd.DataFrame, lookback: int,
                               zero_volatility: str = "raise") -> pd.DataFrame:
    """Inverse-volatility weights decided at each close t from the ``lookback`` daily log
    returns ending at t (closes t-lookback..t); NaN rows before the first full window.

    Row t equals :class:`research.strategies.InverseVolatility` asked for the session after t
    (it reads the closes strictly before its decision date). A symbol whose close did not move
    over a window (a stale price) has no measurable volatility: ``zero_volatility="raise"``
    refuses it, ``"exclude"`` gives it weight 0 in that row."""
    InverseVolatilityParams(lookback=lookback)  # validates
    weights, zero = _inverse_volatility(_validated_closes(closes), lookback)
    _check_zero_volatility(zero, np.arange(len(closes)), closes, lookback,
                           zero_volatility)
    return pd.DataFrame(weights, index=closes.index, columns=closes.columns)


def decision_rows(n_sessions: int, params: InverseVolatilityParams) -> np.ndarray:
    """Sessions (row numbers, the first session of the closes being 0) with a decision: the
    multiples of ``rebalance_every`` from the first with a full ``lookback`` window, leaving out
    the last session (its decision would have no next close to trade at). Counting from row 0,
    not from the lookback, gives every lookback the same rebalance days."""
    first = -(-params.lookback // params.rebalance_every) * params.rebalance_every
    return np.arange(first, n_sessions - 1, params.rebalance_every)


def _run_chunk(values: np.ndarray, targets: list[np.ndarray], costs: FlatCosts,
               initial_cash: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Equity curves, traded notional and cost dollars of each decided-weight array (rows:
    decision sessions; NaN rows: none), as the groups of one vectorbt call, and its orders
    (arrays: set, row of the closes, symbol column, signed quantity, price, fees, slippage).

    The execution lag is written here, once: weights decided at row t are traded at row t+1.
    vectorbt simulates only the sessions on which some set trades: between trades a book's
    shares and cash do not change, so the sessions in between add nothing to the simulation
    but time (vectorbt's cost is per session and column, traded or not). The daily equity is
    then cash + shares * close on every session, as vectorbt's ``value()`` computes it (a test
    checks the two agree against a run over every session)."""
    import vectorbt as vbt

    n_rows, n_symbols = values.shape
    n_sets = len(targets)
    decided = np.hstack(targets)
    decision_rows_any = np.flatnonzero(~np.isnan(decided[:-1]).all(axis=1))
    trading_rows = decision_rows_any + 1  # the execution lag: decided at t, traded at t+1
    equity = np.full((n_rows, n_sets), float(initial_cash))
    if len(trading_rows) == 0:
        return equity, np.zeros(n_sets), np.zeros(n_sets), {}
    close = np.tile(values[trading_rows], (1, n_sets))
    portfolio = vbt.Portfolio.from_orders(
        close, decided[decision_rows_any], size_type="targetpercent", direction="longonly",
        fees=costs.fee_bps * 1e-4, slippage=costs.slippage_bps * 1e-4, init_cash=initial_cash,
        cash_sharing=True, group_by=np.repeat(np.arange(n_sets), n_symbols), call_seq="auto",
        freq="1D")
    orders = portfolio.orders.values
    at, col = orders["idx"], orders["col"]  # at: position among the trading rows
    order_set = col // n_symbols
    # vectorbt records sizes unsigned, with the side apart (0 buy, 1 sell)
    signed = np.where(orders["side"] == 0, orders["size"], -orders["size"])
    value = signed * orders["price"]
    shares = np.zeros((len(trading_rows), n_sets * n_symbols))
    shares[at, col] = signed  # at most one order per session and column
    holdings = np.cumsum(shares, axis=0).reshape(len(trading_rows), n_sets, n_symbols)
    cash_flow = np.zeros((len(trading_rows), n_sets))
    np.add.at(cash_flow, (at, order_set), -value - orders["fees"])
    cash = initial_cash + np.cumsum(cash_flow, axis=0)
    # mark to market: from each trading row to the next, the book is constant
    ends = np.r_[trading_rows[1:], n_rows]
    for j, (start, end) in enumerate(zip(trading_rows, ends, strict=True)):
        equity[start:end] = cash[j] + values[start:end] @ holdings[j].T
    slippage = orders["size"] * np.abs(orders["price"] - close[at, col])
    traded = np.bincount(order_set, weights=np.abs(value), minlength=n_sets)
    paid = np.bincount(order_set, weights=orders["fees"] + slippage, minlength=n_sets)
    executed = {"set": order_set, "row": trading_rows[at], "symbol": col % n_symbols,
                "quantity": signed, "price": orders["price"], "fees": orders["fees"],
                "slippage": slippage}
    return equity, traded, paid, executed


def _metric_rows(index: pd.DatetimeIndex, equity: np.ndarray, traded: np.ndarray,
                 paid: np.ndarray, benchmark: pd.Series | None) -> list[PerformanceMetrics]:
    return [performance_metrics(pd.Series(equity[:, k], index=index), benchmark,
                                traded_notional=float(traded[k]), costs=float(paid[k]))
            for k in range(equity.shape[1])]


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _run(closes: pd.DataFrame, labels: Sequence, make_targets: Callable[[object], np.ndarray],
         costs: FlatCosts, initial_cash: float, benchmark: pd.Series | None,
         chunk_size: int, label_names: Sequence[str] | None,
         keep_orders: bool = False) -> GridResult:
    if not math.isfinite(initial_cash) or initial_cash <= 0:
        raise VectorbtPathInputError(f"initial_cash must be finite dollars > 0, got "
                                     f"{initial_cash!r}")
    if chunk_size < 1:
        raise VectorbtPathInputError(f"chunk_size must be >= 1, got {chunk_size}")
    if len(labels) == 0:
        raise VectorbtPathInputError("no parameter set to run")
    values = closes.to_numpy(dtype=float)
    rows, curves, kept = [], [], []
    for chunk in _chunks(list(labels), chunk_size):
        equity, traded, paid, executed = _run_chunk(
            values, [make_targets(label) for label in chunk], costs, initial_cash)
        rows += _metric_rows(closes.index, equity, traded, paid, benchmark)
        curves.append(equity)
        if keep_orders and executed:
            kept.append(pd.DataFrame({
                "set": [chunk[k] for k in executed["set"].tolist()],
                "date": closes.index[executed["row"]],
                "symbol": closes.columns[executed["symbol"]],
                **{c: executed[c] for c in ORDER_COLUMNS[2:]}}))
    if label_names:
        index = pd.MultiIndex.from_tuples(list(labels), names=list(label_names))
    else:
        index = pd.Index(list(labels), name="decisions")
    columns = [f.name for f in fields(PerformanceMetrics)]
    metrics = pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], index=index,
                           columns=columns)
    orders = None
    if keep_orders:
        orders = (pd.concat(kept, ignore_index=True) if kept else
                  pd.DataFrame(columns=["set", *ORDER_COLUMNS]))
        orders = orders.sort_values(["date", "symbol"], kind="stable", ignore_index=True)
    return GridResult(metrics, pd.DataFrame(np.hstack(curves), index=closes.index,
                                            columns=index), orders=orders)


def backtest_target_weights(closes: pd.DataFrame, decisions: Mapping[str, pd.DataFrame],
                            costs: FlatCosts = FlatCosts(), initial_cash: float = 1_000_000.0,
                            benchmark: pd.Series | None = None,
                            chunk_size: int = 50, keep_orders: bool = False) -> GridResult:
    """Backtest decided weights: ``decisions[label]`` is a frame like ``closes`` whose
    non-NaN rows are decisions (target weights, fractions of value, taken at that close and
    traded at the next). Rows of NaN are sessions without a decision. ``keep_orders``: return
    every executed order in ``GridResult.orders`` (``set`` is the decisions' label)."""
    _validated_closes(closes)
    arrays = {}
    for label, frame in decisions.items():
        if not frame.index.equals(closes.index) or list(frame.columns) != list(closes.columns):
            raise VectorbtPathInputError(f"decisions {label!r} must have the closes' dates and "
                                         "symbols")
        decided = frame.to_numpy(dtype=float)
        partial = np.isnan(decided).any(axis=1) & ~np.isnan(decided).all(axis=1)
        if partial.any():
            raise VectorbtPathInputError(
                f"decisions {label!r} on {closes.index[int(np.argmax(partial))]:%Y-%m-%d} "
                "give weights for some symbols only (use 0 for none)")
        negative = decided < 0
        if negative.any():
            raise VectorbtPathInputError(
                f"decisions {label!r}: negative weight on "
                f"{closes.index[int(np.argwhere(negative)[0][0])]:%Y-%m-%d} (long only)")
        levered = np.nansum(decided, axis=1) > 1.0 + 1e-9
        if levered.any():
            raise VectorbtPathInputError(
                f"decisions {label!r}: weights sum to {np.nansum(decided, axis=1).max():.6g} on "
                f"{closes.index[int(np.argmax(levered))]:%Y-%m-%d} (at most 1: no leverage)")
        arrays[label] = decided
    return _run(closes, list(arrays), arrays.__getitem__, costs, initial_cash, benchmark,
                chunk_size, None, keep_orders)


def inverse_volatility_grid(closes: pd.DataFrame, params: Sequence[InverseVolatilityParams],
                            costs: FlatCosts = FlatCosts(), initial_cash: float = 1_000_000.0,
                            benchmark: pd.Series | None = None, chunk_size: int = 50,
                            zero_volatility: str = "raise") -> GridResult:
    """Inverse-volatility backtests for every parameter set, as columns of vectorbt calls.
    The metrics frame is indexed by ``(lookback, rebalance_every)``. ``zero_volatility``: see
    :func:`inverse_volatility_targets` (checked at each set's decisions only)."""
    _validated_closes(closes)
    params = list(params)
    if len(set(params)) != len(params):
        raise VectorbtPathInputError("a parameter set is listed twice")
    for p in params:
        if not isinstance(p, InverseVolatilityParams):
            raise VectorbtPathInputError(f"parameter sets must be InverseVolatilityParams, got "
                                         f"{type(p).__name__}")
        if p.lookback >= len(closes) - 1:
            raise VectorbtPathInputError(f"lookback {p.lookback} leaves no decision to trade in "
                                         f"{len(closes)} sessions")
    values = closes.to_numpy(dtype=float)
    by_lookback: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    excluded: list[tuple] = []

    def decided(label: tuple[int, int]) -> np.ndarray:
        lookback, every = label
        if lookback not in by_lookback:
            by_lookback[lookback] = _inverse_volatility(values, lookback)
        weights, zero = by_lookback[lookback]
        rows = decision_rows(len(closes), InverseVolatilityParams(lookback, every))
        excluded.extend((lookback, every, day, symbol) for day, symbol in
                        _check_zero_volatility(zero, rows, closes, lookback, zero_volatility))
        out = np.full_like(weights, np.nan)
        out[rows] = weights[rows]
        return out

    labels = [(p.lookback, p.rebalance_every) for p in params]
    # sets with the same period share their trading sessions: chunked together, vectorbt
    # simulates fewer sessions (the result comes back in the order asked)
    by_period = sorted(labels, key=lambda label: (label[1], label[0]))
    result = _run(closes, by_period, decided, costs, initial_cash, benchmark, chunk_size,
                  ("lookback", "rebalance_every"))
    asked = pd.MultiIndex.from_tuples(labels, names=["lookback", "rebalance_every"])
    excluded_frame = pd.DataFrame(excluded, columns=["lookback", "rebalance_every", "date",
                                                     "symbol"])
    return GridResult(result.metrics.reindex(asked), result.equity.reindex(columns=asked),
                      excluded_frame.sort_values(["lookback", "rebalance_every", "date"],
                                                 ignore_index=True))


def lookahead_dates(make_decisions: Callable[[pd.DataFrame], pd.DataFrame],
                    closes: pd.DataFrame, at, seed: int = 0) -> list[pd.Timestamp]:
    """Decision dates up to ``at`` whose weights change when every close *after* ``at`` is
    changed (scaled by seeded random factors): empty for a decision rule that reads only the
    past. ``make_decisions(closes)`` returns a frame like :func:`backtest_target_weights`
    reads. A rule that reads tomorrow's return shows up here before it inflates a backtest."""
    at = pd.Timestamp(at)
    later = closes.index > at
    if not later.any() or later.all():
        raise VectorbtPathInputError(f"{at} must fall within the closes' dates")
    rng = np.random.default_rng(seed)
    changed = closes.copy()
    changed.loc[later] = closes.loc[later] * rng.uniform(0.8, 1.25, (int(later.sum()),
                                                                     closes.shape[1]))
    before = make_decisions(closes).loc[~later].to_numpy(dtype=float)
    after = make_decisions(changed).loc[~later].to_numpy(dtype=float)
    same = (before == after) | (np.isnan(before) & np.isnan(after))
    return list(closes.index[~later][~same.all(axis=1)])


__all__ = [
    "ZERO_VOLATILITY_RULES", "FlatCosts", "GridResult", "InverseVolatilityParams",
    "VectorbtPathInputError",
    "backtest_target_weights", "decision_rows", "inverse_volatility_grid",
    "inverse_volatility_targets", "lookahead_dates",
]
