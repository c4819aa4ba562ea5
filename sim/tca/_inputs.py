"""Study inputs: bars split into a past (history) and a study window, parent orders placed on
the bar clock, and everything the strategies may know before they trade.

Look-ahead rules (tested):

* ``history`` = every bar stamped strictly before the first decision's session. The cost model
  (its per-symbol state and its pooled time-of-day profiles), the pooled VWAP volume profile,
  the IS strategy's coefficients and the risk model's returns are learned from it.
* History is taken **per symbol** where a symbol's data starts later than the others': a symbol
  with no bar before the study's first session uses ``late_history``, its own bars before the
  session of its own first order, for its own state only (cost-model state, volatility, risk
  returns), never for the pooled profiles, which other symbols' orders in those sessions use.
  Such a symbol does not refuse the whole study; one with no past bar at all is named.
* A decision at time ``d`` arrives on the last bar stamped at or before ``d`` (bars are stamped
  at their close); the simulated broker fills from the next bar on. Its arrival mid is the
  symbol's mid on that bar or, where the symbol printed no bar in that minute (real minute
  data skips minutes without trades), its last mid earlier in the same session
  (``arrival_stale_bars`` says how many bars earlier).

Everything the study needs is checked by :func:`check_study_inputs` before any strategy runs;
it raises :class:`StudyInputError` naming each symbol and what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.data.calendar import sessions as exchange_sessions
from research.data.schema import EXCHANGE_TZ
from research.strategies.parent_orders import validate_parent_orders
from sim.replay import BarReplay, bar_minutes_of

REQUIRED_BAR_COLUMNS = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
#: Bars after the horizon in which a parent may still finish (e.g. the limit's clean-up
#: market order), never beyond its session's last bar.
DEFAULT_GRACE_BARS = 3
_MAX_LISTED = 10
#: A (symbol, full-length session) enters the pooled VWAP profile when the symbol printed a bar
#: in at least this share of its minutes (missing minutes count as no volume); a symbol whose
#: data starts mid-session is left out of that session.
PROFILE_MIN_BAR_SHARE = 0.8


class StudyInputError(ValueError):
    """Inputs the study needs are missing; ``problems`` holds one line per symbol and input."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"tca: the study cannot run, {len(self.problems)} input(s) missing "
                         f"(checked before any strategy ran):\n{lines}")


@dataclass(frozen=True, eq=False)
class StudyInputs:
    """``orders``: the validated parent orders plus ``arrival_bar`` (index in ``replay``),
    ``horizon_bars``, ``grace_bars``, ``decision_mid`` ($), ``day`` (session date, str),
    ``minute_of_day`` (minutes after 09:30 ET of the decision), in decision-time order."""

    replay: BarReplay
    history: pd.DataFrame
    orders: pd.DataFrame
    bar_minutes: float
    has_quotes: bool
    study_start: pd.Timestamp
    #: bars of symbols without any bar before ``study_start``, each before its first order's
    #: session (see the module docstring).
    late_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: one line per traded symbol without any past bar (reported by check_study_inputs).
    missing_history: tuple = ()


def _listing(ids) -> str:
    ids = list(ids)
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return ", ".join(map(str, ids[:_MAX_LISTED])) + more


def normalise_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars in New York time, sorted by (timestamp, symbol); raises naming a missing column."""
    missing = [c for c in REQUIRED_BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"tca: bars lack required column(s) {missing} (bar schema: "
                         f"{list(REQUIRED_BAR_COLUMNS)} + optional bid, ask)")
    ts = pd.to_datetime(bars["timestamp"])
    if getattr(ts.dt, "tz", None) is None:
        raise ValueError("tca: bar timestamps must be tz-aware (America/New_York, stamped at "
                         "the bar's close)")
    out = bars.assign(timestamp=ts.dt.tz_convert(EXCHANGE_TZ))
    return out.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)


def study_bar_minutes(timestamps: pd.DatetimeIndex) -> float:
    """Typical bar length in minutes; the study needs intraday bars."""
    if len(timestamps) < 2:
        raise ValueError("tca: need at least two bar timestamps")
    minutes = bar_minutes_of(timestamps)
    if minutes is None:
        raise ValueError("tca: the execution study needs intraday bars (one bar per session "
                         "found); pass minute bars")
    return minutes


def prepare_inputs(bars: pd.DataFrame, parents: pd.DataFrame) -> StudyInputs:
    """Validate bars and parent orders and place every order on the bar clock."""
    bars = normalise_bars(bars)
    orders = validate_parent_orders(parents, source="tca parent orders")
    if orders.empty:
        raise ValueError("tca: no parent orders")
    known = set(bars["symbol"].unique())
    unknown = ~orders["symbol"].isin(known)
    if unknown.any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[unknown, 'order_id'])} trade "
                         f"symbol(s) {sorted(set(orders.loc[unknown, 'symbol']))} absent from "
                         "the bars")
    orders = orders.sort_values(["decision_time", "order_id"], kind="stable").reset_index(drop=True)
    ts = pd.DatetimeIndex(bars["timestamp"].unique()).sort_values()
    bar_minutes = study_bar_minutes(ts)
    if bar_minutes > 60:
        raise ValueError(f"tca: bars are {bar_minutes:.0f} minutes apart; the execution study "
                         "needs intraday (minute) bars")
    decision = pd.DatetimeIndex(orders["decision_time"]).tz_convert(EXCHANGE_TZ)
    dec_idx = ts.searchsorted(decision, side="right") - 1
    if (dec_idx < 0).any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[dec_idx < 0, 'order_id'])} decide "
                         "before the first bar")
    days = decision.normalize()
    study_start = days.min()
    history, late_history, missing_history = _history_per_symbol(bars, orders, days,
                                                                 study_start)
    ts_days = ts.normalize()
    # last bar of each order's decision session
    day_last = ts_days.searchsorted(days, side="right") - 1
    no_session = ts_days[day_last] != days
    if no_session.any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[no_session, 'order_id'])} decide on "
                         "a session without bars")
    start = min(int(dec_idx.min()), _first_price_bar(bars, orders, decision, ts))
    stop = int(day_last.max()) + 1
    window = bars[(bars["timestamp"] >= ts[start]) & (bars["timestamp"] <= ts[stop - 1])]
    replay = BarReplay.from_frame(window, symbols=sorted(known))
    arrival = dec_idx - start
    last_in_day = day_last - start
    horizon_bars = np.ceil(orders["horizon_minutes"].to_numpy(float) / bar_minutes - 1e-9)
    horizon_bars = horizon_bars.astype(np.int64)
    late = arrival + horizon_bars > last_in_day
    if late.any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[late, 'order_id'])}: decision_time "
                         "+ horizon_minutes runs past the session's last bar; every order must "
                         "be able to finish within its session")
    grace = np.minimum(DEFAULT_GRACE_BARS, last_in_day - (arrival + horizon_bars))
    sym_index = {s: i for i, s in enumerate(replay.symbols)}
    cols = orders["symbol"].map(sym_index).to_numpy(np.int64)
    mid, stale = _arrival_mids(replay, arrival, cols)
    bad = ~np.isfinite(mid)
    if bad.any():
        where = [f"{oid} ({sym} at {t:%Y-%m-%d %H:%M})" for oid, sym, t in zip(
            orders.loc[bad, "order_id"], orders.loc[bad, "symbol"], decision[bad], strict=True)]
        raise ValueError(f"tca: order(s) {_listing(where)}: the symbol has no bar (no price) "
                         "between its session's open and the decision; decide after its "
                         "first bar of the session")
    open_minutes = (decision - days).total_seconds().to_numpy() / 60.0 - 570.0
    has_quotes = bool("bid" in bars.columns and "ask" in bars.columns
                      and bars["bid"].notna().any())
    orders = orders.assign(
        arrival_bar=arrival.astype(np.int64), horizon_bars=horizon_bars,
        grace_bars=grace.astype(np.int64), decision_mid=mid,
        day=[d.strftime("%Y-%m-%d") for d in days], minute_of_day=open_minutes,
        symbol_index=cols, arrival_stale_bars=stale,
    )
    return StudyInputs(replay, history, orders, bar_minutes, has_quotes, study_start,
                       late_history, tuple(missing_history))


def _history_per_symbol(bars: pd.DataFrame, orders: pd.DataFrame, days: pd.DatetimeIndex,
                        study_start: pd.Timestamp):
    """(history, late history, problems): the bars before the study's first session, and for
    each symbol without any, its own bars before its first order's session."""
    before = bars["timestamp"] < study_start
    history = bars[before].reset_index(drop=True)
    have = set(history["symbol"].unique())
    first_session = pd.Series(days, index=orders.index).groupby(orders["symbol"]).min()
    late, missing = [], []
    if not have:  # nothing can be learned at all: no point checking further
        raise StudyInputError([
            f"history: no bars before the first decision's session ({study_start:%Y-%m-%d}) "
            "for any symbol; the cost model, VWAP profile and risk model are learned from past "
            "bars only: add at least one earlier session to the bars"])
    for symbol, first in first_session.items():
        if symbol in have:
            continue
        own = bars[(bars["symbol"] == symbol) & (bars["timestamp"] < first)]
        if own.empty:
            ids = orders.loc[(orders["symbol"] == symbol) & (days == first), "order_id"]
            missing.append(f"{symbol}: history: no bar before its first order's session "
                           f"({first:%Y-%m-%d}; order(s) {_listing(ids)}), so no cost model, "
                           "volatility or risk model can be learned for it: add earlier bars "
                           "of it, or move its first orders to a later session")
        late.append(own)
    late_history = pd.concat(late, ignore_index=True) if late else bars.iloc[:0]
    return history, late_history, missing


def _first_price_bar(bars: pd.DataFrame, orders: pd.DataFrame, decision: pd.DatetimeIndex,
                     ts: pd.DatetimeIndex) -> int:
    """Index in ``ts`` of the earliest bar an arrival mid may come from: each order's symbol's
    last bar at or before its decision in the same session. The replay starts there when that
    is before the first decision (the symbol printed no bar in the first decision's minute),
    so that the last mid is in the replay; otherwise it starts at the first decision."""
    # one resolution on both sides (a CSV's timestamps parse to us, orders' to ns)
    left = pd.DataFrame({"t": decision.tz_convert(EXCHANGE_TZ).as_unit("ns"),
                         "symbol": orders["symbol"].to_numpy()})
    right = pd.DataFrame({"t": bars["timestamp"].dt.as_unit("ns"),
                          "symbol": bars["symbol"].to_numpy()})
    right["src"] = right["t"]
    found = pd.merge_asof(left.sort_values("t"), right.sort_values("t"), on="t", by="symbol",
                          direction="backward")
    same_day = found["src"].notna() & (found["src"].dt.normalize() == found["t"].dt.normalize())
    if not same_day.any():
        return len(ts)
    return int(ts.searchsorted(found.loc[same_day, "src"].min(), side="left"))


def _raw_mid(replay: BarReplay) -> np.ndarray:
    quoted = np.isfinite(replay.bid) & np.isfinite(replay.ask)
    return np.where(quoted, 0.5 * (replay.bid + replay.ask), replay.close)


def _arrival_mids(replay: BarReplay, arrival: np.ndarray, cols: np.ndarray):
    """(mid, bars since that mid) per order: the symbol's mid on the arrival bar, or its last
    mid earlier in the same session when it printed no bar then (NaN if none)."""
    raw = pd.DataFrame(_raw_mid(replay))
    session = pd.DatetimeIndex(replay.timestamps).normalize()
    position = pd.DataFrame(np.where(np.isfinite(raw.to_numpy()),
                                     np.arange(len(raw))[:, None], np.nan))
    last_mid = raw.groupby(session).ffill().to_numpy()
    last_bar = position.groupby(session).ffill().to_numpy()
    mid = last_mid[arrival, cols]
    with np.errstate(invalid="ignore"):
        stale = np.where(np.isfinite(mid), arrival - last_bar[arrival, cols], 0).astype(np.int64)
    return mid, stale


def daily_closes(history: pd.DataFrame) -> pd.DataFrame:
    """Wide frame of each session's last close (index: session date, columns: symbols)."""
    day = history["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.normalize().dt.tz_localize(None)
    last = history.assign(_day=day).groupby(["_day", "symbol"], sort=True)["close"].last()
    return last.unstack("symbol").sort_index()


def past_volume_profile(history: pd.DataFrame, bar_minutes: float) -> tuple[np.ndarray, str]:
    """(profile, how it was made): the mean share of each bar-of-session in its session's
    volume over the past full-length sessions (pooled over symbols), and a sentence for the
    JSON. Index k = the bar closing (k+1) bars after 09:30.

    Sessions shorter than the usual length on the exchange calendar (early closes) are left
    out. A minute without a bar counts as no volume (real feeds print no bar when nothing
    traded), but a (symbol, session) with bars in fewer than :data:`PROFILE_MIN_BAR_SHARE` of
    its minutes (e.g. data starting mid-session) is left out. Flat when no session qualifies.
    """
    from research.execution import volume_profile_from_history

    n_per_session = int(round(390 / bar_minutes))
    flat = np.full(n_per_session, 1.0 / n_per_session)
    if history.empty:
        return flat, "flat (no past bars)"
    ts = pd.DatetimeIndex(history["timestamp"]).tz_convert(EXCHANGE_TZ)
    minutes = ts.hour.to_numpy() * 60 + ts.minute.to_numpy() - 570
    pos = np.rint(minutes / bar_minutes).astype(np.int64) - 1
    local_day = ts.normalize().tz_localize(None)
    calendar = exchange_sessions(local_day.min(), local_day.max())
    length = (calendar["close"] - calendar["open"]).dt.total_seconds() / 60.0
    full_day = local_day.isin(calendar.index[length.to_numpy() >= 390.0])
    day = local_day.to_numpy().astype("datetime64[D]").astype(np.int64)
    sym = pd.factorize(history["symbol"])[0]
    ok = (pos >= 0) & (pos < n_per_session) & np.asarray(full_day)
    if not ok.any():
        return flat, "flat (no full-length past session)"
    key = (day[ok] - day[ok].min()) * (sym.max() + 1) + sym[ok]
    groups, inverse = np.unique(key, return_inverse=True)
    volumes = np.zeros((len(groups), n_per_session))
    np.add.at(volumes, (inverse, pos[ok]), history["volume"].to_numpy(float)[ok])
    counts = np.zeros((len(groups), n_per_session), np.int64)
    np.add.at(counts, (inverse, pos[ok]), 1)
    covered = (counts > 0).mean(axis=1) >= PROFILE_MIN_BAR_SHARE
    if not covered.any() or volumes[covered].sum() <= 0:
        return flat, "flat (no past session with bars in most minutes)"
    profile = volume_profile_from_history(volumes[covered])
    return profile, (f"pooled past volume profile ({int(covered.sum())} symbol-sessions before "
                     "the study; minutes without a bar count as no volume)")


def past_risk_returns(inputs: StudyInputs, min_rows: int) -> tuple[pd.DataFrame, str]:
    """(returns, source) for the risk model, one column per symbol with past bars (a symbol
    of the bars that has none is not traded: the checks refuse it otherwise), no NaN.

    Daily returns of past closes when there are ``min_rows`` of them for every symbol; else
    each symbol's past bar returns within sessions (overnight gaps excluded) scaled to a day
    by sqrt(bars per session), on the minutes where every symbol has one. When the histories do
    not overlap (a symbol whose data starts later), each symbol's own most recent bar returns
    are put side by side: the study checks each child on its own against a flat book, which
    reads each symbol's own return distribution, not cross-correlations. May return fewer
    than ``min_rows`` rows (the caller reports it).
    """
    symbols = risk_symbols(inputs)
    history = pd.concat([inputs.history, inputs.late_history], ignore_index=True)
    closes = daily_closes(history).reindex(columns=symbols)
    daily = np.log(closes).diff().iloc[1:].dropna(how="any")
    if len(daily) >= min_rows:
        return np.expm1(daily), "daily closes before the study"
    scale = np.sqrt(390.0 / inputs.bar_minutes)
    ts = pd.DatetimeIndex(history["timestamp"]).tz_convert(EXCHANGE_TZ)
    ordered = history.assign(_day=ts.normalize()).sort_values(["symbol", "timestamp"])
    log_close = np.log(ordered["close"].to_numpy(float))
    same = (ordered["symbol"].to_numpy()[1:] == ordered["symbol"].to_numpy()[:-1]) & \
        (ordered["_day"].to_numpy()[1:] == ordered["_day"].to_numpy()[:-1])
    bar_returns = pd.DataFrame({"timestamp": ordered["timestamp"].to_numpy()[1:][same],
                                "symbol": ordered["symbol"].to_numpy()[1:][same],
                                "r": np.diff(log_close)[same]})
    wide = bar_returns.pivot(index="timestamp", columns="symbol", values="r") \
        .reindex(columns=symbols)
    common = wide.dropna(how="any")
    source = "past bar returns within sessions x sqrt(bars per session) (too few past sessions)"
    if len(common) >= min_rows or inputs.late_history.empty:
        return np.expm1(common) * scale, source
    own = [wide[s].dropna().to_numpy() for s in symbols]
    n = min(len(r) for r in own)
    side_by_side = pd.DataFrame({s: r[len(r) - n:] for s, r in zip(symbols, own, strict=True)})
    return np.expm1(side_by_side) * scale, (
        source + "; the symbols' histories do not overlap, so each symbol's own most recent "
        "ones side by side (no cross-correlation is measured)")


def risk_symbols(inputs: StudyInputs) -> list[str]:
    """The replay's symbols that have past bars: the ones the risk model can be fitted on."""
    have = set(inputs.history["symbol"]) | set(inputs.late_history.get("symbol", ()))
    return [s for s in inputs.replay.symbols if s in have]


def _unfillable_orders(inputs: StudyInputs) -> list[str]:
    """Orders whose symbol trades no share between the decision and the deadline: no strategy
    can fill them, and a study would report their "cost" as pure opportunity cost."""
    o = inputs.orders
    volume = np.nan_to_num(inputs.replay.volume)
    cum = np.vstack([np.zeros((1, volume.shape[1])), np.cumsum(volume, axis=0)])
    first = o["arrival_bar"].to_numpy() + 1  # fills start the bar after the decision
    last = np.minimum(o["arrival_bar"].to_numpy() + o["horizon_bars"].to_numpy()
                      + o["grace_bars"].to_numpy(), volume.shape[0] - 1)
    cols = o["symbol_index"].to_numpy()
    traded = cum[last + 1, cols] - cum[np.minimum(first, last + 1), cols]
    dead = traded <= 0
    return [f"{sym}: order {oid}: no market volume between its decision and its deadline "
            f"({t:%Y-%m-%d %H:%M} + {h} min): no strategy can fill it"
            for oid, sym, t, h in zip(o.loc[dead, "order_id"], o.loc[dead, "symbol"],
                                      o.loc[dead, "decision_time"],
                                      o.loc[dead, "horizon_minutes"], strict=True)]


def check_study_inputs(inputs: StudyInputs, state: pd.DataFrame, *, risk_rows: int,
                       risk_rows_needed: int, strategies) -> None:
    """Raise :class:`StudyInputError` listing every input the study lacks, per symbol.

    ``state``: the fitted cost-model state per symbol (``adv``, ``daily_vol``,
    ``daily_vol_method``, ``spread_bps``, ``spread_method``, ``last_price``). Checked: past
    bars, daily volatility (the IS strategy's sigma and the cost model's timing risk), ADV
    (the cost model, the IS strategy's impact and the %ADV breakdown), a spread (the cost
    model's prediction) and enough past returns for the risk model.
    """
    problems = list(inputs.missing_history)
    traded = sorted(set(inputs.orders["symbol"]))
    no_history = {p.split(":", 1)[0] for p in inputs.missing_history}
    for symbol in traded:
        if symbol in no_history:
            continue
        if symbol not in state.index:
            problems.append(f"{symbol}: history: no past bar to fit the cost model")
            continue
        st = state.loc[symbol]
        if not (np.isfinite(st["daily_vol"]) and st["daily_vol"] >= 0):
            needs = " (the IS strategy's sigma)" if "is" in strategies else ""
            problems.append(f"{symbol}: daily volatility{needs}: fewer than two past daily "
                            "closes and too few intraday bars for a realised volatility "
                            "(at least an hour of past minute bars)")
        if not (np.isfinite(st["adv"]) and st["adv"] > 0):
            problems.append(f"{symbol}: average daily volume: the past bars have no volume")
        if not (np.isfinite(st["spread_bps"]) and st["spread_bps"] >= 0):
            problems.append(f"{symbol}: spread (the cost model's prediction): no past quotes "
                            "and no bar spread estimator (Corwin-Schultz, Abdi-Ranaldo, Roll) "
                            "gave a positive value; add bid/ask columns to the bars")
    problems += _unfillable_orders(inputs)
    if not problems and risk_rows < risk_rows_needed:
        problems.append(f"risk model: {risk_rows} past return observation(s) for "
                        f"{len(risk_symbols(inputs))} symbols, it needs {risk_rows_needed}: add "
                        "earlier sessions to the bars")
    if problems:
        raise StudyInputError(problems)
