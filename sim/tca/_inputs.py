"""Study inputs: bars split into a past (history) and a study window, parent orders placed on
the bar clock, and everything the strategies may know before they trade.

Look-ahead rules (tested):

* ``history`` = every bar stamped strictly before the first decision's session date. The cost
  model, the VWAP volume profile, the IS strategy's coefficients and the risk model's returns
  are learned from it and nothing else.
* A decision at time ``d`` uses the last bar stamped at or before ``d`` (bars are stamped at
  their close); its mid is the arrival mid; the simulated broker fills from the next bar on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ
from research.strategies.parent_orders import validate_parent_orders
from sim.replay import BarReplay

REQUIRED_BAR_COLUMNS = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
#: Bars after the horizon in which a parent may still finish (e.g. the limit's clean-up
#: market order), never beyond its session's last bar.
DEFAULT_GRACE_BARS = 3
_MAX_LISTED = 10


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


def bar_minutes_of(timestamps: pd.DatetimeIndex) -> float:
    """Typical bar length in minutes (median spacing within a session)."""
    if len(timestamps) < 2:
        raise ValueError("tca: need at least two bar timestamps")
    diffs = (timestamps[1:] - timestamps[:-1]).total_seconds().to_numpy() / 60.0
    same_day = timestamps.normalize()[1:] == timestamps.normalize()[:-1]
    inside = diffs[same_day]
    if inside.size == 0:
        raise ValueError("tca: the execution study needs intraday bars (one bar per session "
                         "found); pass minute bars")
    return float(np.median(inside))


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
    bar_minutes = bar_minutes_of(ts)
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
    history = bars[bars["timestamp"] < study_start].reset_index(drop=True)
    if history.empty:
        raise ValueError(f"tca: no bars before the first decision's session ({study_start:%Y-%m-%d});"
                         " the cost model, VWAP profile and risk model must be learned from past"
                         " bars only: add at least one earlier session to the bars")
    ts_days = ts.normalize()
    # last bar of each order's decision session
    day_last = ts_days.searchsorted(days, side="right") - 1
    no_session = ts_days[day_last] != days
    if no_session.any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[no_session, 'order_id'])} decide on "
                         "a session without bars")
    start, stop = int(dec_idx.min()), int(day_last.max()) + 1
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
    snap_mid = _raw_mid(replay)
    mid = snap_mid[arrival, cols]
    bad = ~np.isfinite(mid)
    if bad.any():
        raise ValueError(f"tca: order(s) {_listing(orders.loc[bad, 'order_id'])} have no price "
                         "(mid) for their symbol on the decision bar")
    open_minutes = (decision - days).total_seconds().to_numpy() / 60.0 - 570.0
    has_quotes = bool("bid" in bars.columns and "ask" in bars.columns
                      and bars["bid"].notna().any())
    orders = orders.assign(
        arrival_bar=arrival.astype(np.int64), horizon_bars=horizon_bars,
        grace_bars=grace.astype(np.int64), decision_mid=mid,
        day=[d.strftime("%Y-%m-%d") for d in days], minute_of_day=open_minutes,
        symbol_index=cols,
    )
    return StudyInputs(replay, history, orders, bar_minutes, has_quotes, study_start)


def _raw_mid(replay: BarReplay) -> np.ndarray:
    quoted = np.isfinite(replay.bid) & np.isfinite(replay.ask)
    return np.where(quoted, 0.5 * (replay.bid + replay.ask), replay.close)


def daily_closes(history: pd.DataFrame) -> pd.DataFrame:
    """Wide frame of each session's last close (index: session date, columns: symbols)."""
    day = history["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.normalize().dt.tz_localize(None)
    last = history.assign(_day=day).groupby(["_day", "symbol"], sort=True)["close"].last()
    return last.unstack("symbol").sort_index()


def past_volume_profile(history: pd.DataFrame, bar_minutes: float) -> np.ndarray:
    """Mean share of each bar-of-session in its session's volume over the full past sessions
    (pooled over symbols; sessions shorter than the usual length, e.g. early closes, are left
    out). Flat when no full session exists. Index k = the bar closing (k+1) bars after 09:30."""
    from research.execution import volume_profile_from_history

    n_per_session = int(round(390 / bar_minutes))
    ts = pd.DatetimeIndex(history["timestamp"]).tz_convert(EXCHANGE_TZ)
    minutes = ts.hour.to_numpy() * 60 + ts.minute.to_numpy() - 570
    pos = np.rint(minutes / bar_minutes).astype(np.int64) - 1
    day = ts.normalize().tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    sym = pd.factorize(history["symbol"])[0]
    ok = (pos >= 0) & (pos < n_per_session)
    key = (day[ok] - day[ok].min()) * (sym.max() + 1) + sym[ok] if ok.any() else day[ok]
    groups, inverse = np.unique(key, return_inverse=True)
    volumes = np.zeros((len(groups), n_per_session))
    np.add.at(volumes, (inverse, pos[ok]), history["volume"].to_numpy(float)[ok])
    counts = np.zeros((len(groups), n_per_session), np.int64)
    np.add.at(counts, (inverse, pos[ok]), 1)
    full = (counts > 0).all(axis=1)  # early closes and gaps are left out
    if not full.any():
        return np.full(n_per_session, 1.0 / n_per_session)
    wide = pd.DataFrame(volumes[full])
    return volume_profile_from_history(wide.to_numpy(float))
