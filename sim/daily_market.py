"""The simulated market on daily bars: how a backtest on daily data replays each session through
the same trading loop, engine and simulated broker as a minute replay.

Layout: every session becomes two bars of the replay, stamped (as all bars, at their close)

* at the **open** (09:30): the opening auction — the session's open where the data has one,
  else the previous close (closes-only data: the decision is taken on the close it was
  computed from; after a halt of fewer than ``STALE_SESSIONS`` sessions, the close before it;
  after a longer one, none) — with :data:`OPEN_AUCTION_VOLUME_SHARE` of the session's volume.
  A session without a close has no auction either. The trading
  loop decides on it (the first bar of a session) from the closes strictly before the
  session, and the engine sends the parents' first children. Orders sent on the previous
  session's close bar (the rest of an order the participation cap or the engine's child cut
  left over) fill on it, at the open, within the cap of the auction's volume;
* at the **close** (16:00, 13:00 on an early close): the session's bar (open, high, low, close,
  volume). Orders sent at the open fill on it, at the close -/+ the half spread plus the
  square-root impact of the shares taken against the day's volume, capped at
  ``max_participation`` of that volume (the rest is worked on the following sessions by the
  algorithm, as on minute bars).

So a decision on the close of session t-1 trades in session t, priced at t's close: the
daily-bar convention of a next-session execution, without look-ahead. A full-session
algorithm (TWAP, VWAP, POV over the day) is one child a session (the daily backtest lets a
bar carry a session's worth of the engine's capped children and of its order rate, see
:func:`sim.backtest.run_daily_backtest`); what the participation cap leaves is worked on the
following sessions, from their opening auction.

The response model on a session bar (sim/response.py's laws, at the daily horizon):

* temporary impact ``Y * sigma_day * sqrt(Q / V_day)``; sigma_day is an EWMA (half-life
  ``vol_halflife_sessions``) of the sessions before t: the Parkinson variance of the day's range
  where the data has high and low, else the squared close-to-close log return;
* permanent impact ``permanent_impact * sigma_day * net / ADV``, ADV the mean volume of the
  last :data:`ADV_SESSIONS` sessions before t that traded (a trailing window: the mean of all
  earlier sessions would carry 1990's share volumes into 2022);
* half spread: the bar's quotes where present, else ``fallback_half_spread_bps`` (default half
  the synthesiser's 3 bps full spread, ``data.synth_spread_bps``).

Volume: where the data has none (the embedded real closes are closes only), each symbol trades
a constant dollar volume, the synthesiser's documented ADV model
(:data:`research.data.synth.DEFAULT_ADV_USD`, approximate 2022 levels, ``default_adv_usd``
for other names): shares = ADV$ / close. It overstates the liquidity of the 1990s (dollar
volumes grew many-fold since); :class:`DailyMarket` says so in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.data.calendar import sessions as exchange_sessions
from research.data.schema import EXCHANGE_TZ
from research.data.validation import suspected_splits
from research.trading import STALE_SESSIONS
from sim.replay import BarReplay
from sim.response import parkinson_variance

#: Share of a session's volume traded in the opening auction (US large caps: ~1-3% on NYSE and
#: Nasdaq; a modelling choice). Why not zero: a bar without volume is a halt to the engine's
#: market breakers, which would cancel the orders worked into the session.
OPEN_AUCTION_VOLUME_SHARE = 0.02
#: Half-life of the daily volatility EWMA, sessions (RiskMetrics' daily lambda 0.94 ~ 11).
DEFAULT_VOL_HALFLIFE_SESSIONS = 11.0
#: Sessions before the first traded one kept as :attr:`DailyMarket.history`: a year, more than
#: the cost model's longest default lookback (63 sessions of volatility).
HISTORY_SESSIONS = 252
#: Sessions the simulated market's ADV averages (a month, the cost model's default window).
ADV_SESSIONS = 21
#: Sessions of volatility before a symbol's first estimate: the first close-to-close return.
_FALLBACK_DAILY_VOL = 0.02


@dataclass(frozen=True)
class DailyMarket:
    """A daily replay: the two-bars-a-session :class:`BarReplay`, the response paths the
    simulated broker prices it with (``broker_options``), and what was assumed (``notes``)."""

    replay: BarReplay
    broker_options: dict
    volume_modelled: bool
    notes: list[str] = field(default_factory=list)
    #: the sessions before the first traded one as this market modelled them (long daily bars:
    #: timestamp at the session's close, symbol, open, high, low, close, volume, and bid/ask
    #: at the half spread the broker charges): what a pre-trade cost model is fitted on
    history: pd.DataFrame = field(default_factory=pd.DataFrame)


def wide_daily_bars(bars: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The long daily bar frame as wide frames (session date x symbol) per field."""
    frame = bars.copy()
    frame["day"] = pd.DatetimeIndex(frame["timestamp"]).tz_convert(
        EXCHANGE_TZ).tz_localize(None).normalize()
    if frame.duplicated(["day", "symbol"]).any():
        row = frame.loc[frame.duplicated(["day", "symbol"])].iloc[0]
        raise ValueError(f"daily bars: two bars of {row['symbol']} on {row['day']:%Y-%m-%d} "
                         "(minute bars? use --frequency minute)")
    fields = [c for c in ("open", "high", "low", "close", "volume", "bid", "ask")
              if c in frame.columns]
    return {f: frame.pivot(index="day", columns="symbol", values=f).sort_index()
            for f in fields}


def build_daily_market(closes: pd.DataFrame, *, start, end=None, open_: pd.DataFrame | None = None,
                       high: pd.DataFrame | None = None, low: pd.DataFrame | None = None,
                       volume: pd.DataFrame | None = None, adv_usd: dict[str, float] | None = None,
                       default_adv_usd: float = 2.0e9, fallback_half_spread_bps: float = 1.5,
                       permanent_impact: float = 1.0,
                       vol_halflife_sessions: float = DEFAULT_VOL_HALFLIFE_SESSIONS,
                       history_sessions: int = HISTORY_SESSIONS) -> DailyMarket:
    """The daily replay of the sessions ``start``..``end`` (inclusive) of ``closes`` (wide:
    session dates x symbols; sessions before ``start`` are read only as history: the first
    open price, the volatility and ADV estimates). Optional wide ``open_``/``high``/``low``/
    ``volume`` on the same dates; missing ones are modelled as documented above.
    ``permanent_impact``: the simulated market's coefficient (``settings.simulation``); the
    temporary impact's ``impact_y`` is applied by the broker to the sigma path.
    ``history_sessions``: how many sessions before ``start`` :attr:`DailyMarket.history`
    keeps."""
    if closes.empty:
        raise ValueError("daily market: no closes")
    closes = closes.sort_index().astype(float)
    first = pd.Timestamp(start).normalize()
    last = closes.index[-1] if end is None else pd.Timestamp(end).normalize()
    traded = closes.index[(closes.index >= first) & (closes.index <= last)]
    if traded.empty:
        raise ValueError(f"daily market: no session between {first:%Y-%m-%d} and "
                         f"{last:%Y-%m-%d} in the data ({closes.index[0]:%Y-%m-%d}.."
                         f"{closes.index[-1]:%Y-%m-%d})")
    if not (closes.index < first).any():
        raise ValueError(f"daily market: no close before {first:%Y-%m-%d}; the first session "
                         "is decided on the previous close")
    symbols = list(closes.columns)
    hist = closes.loc[:last]

    def field_of(frame):
        return None if frame is None else frame.reindex(index=hist.index, columns=symbols
                                                        ).astype(float)

    o, h, lo, v = field_of(open_), field_of(high), field_of(low), field_of(volume)
    notes: list[str] = []
    close_v = hist.to_numpy()
    prev_close = hist.shift(1).to_numpy()
    volume_modelled = v is None or v.isna().all(axis=None)
    if volume_modelled:
        from research.data.synth import DEFAULT_ADV_USD

        usd = np.array([{**DEFAULT_ADV_USD, **(adv_usd or {})}.get(s, default_adv_usd)
                        for s in symbols])
        with np.errstate(invalid="ignore", divide="ignore"):
            vol_v = np.floor(usd / close_v)
        notes.append("volume: the data has none; each symbol trades a constant dollar volume "
                     "(the synthesiser's ADV model, research.data.synth.DEFAULT_ADV_USD, ~2022 "
                     "levels), which overstates the liquidity of earlier years")
    else:
        vol_v = v.to_numpy()
    vol_v = np.where(np.isfinite(close_v) & np.isfinite(vol_v), vol_v, 0.0)
    open_v = o.to_numpy() if o is not None else np.full_like(close_v, np.nan)
    # closes-only data opens at the last close: of the session before, or before a short halt
    # (a name back from a stop has no auction price: its last close may be months old)
    last_close = hist.ffill(limit=STALE_SESSIONS - 1).shift(1).to_numpy()
    open_v = np.where(np.isfinite(open_v), open_v, last_close)
    # no session bar, no auction: a name that does not trade that day (halted, delisted, not
    # listed yet) has no opening price to fill or mark at either
    open_v = np.where(np.isfinite(close_v), open_v, np.nan)
    if o is None or o.isna().all(axis=None):
        notes.append("open: the data has none; each session opens at the previous close (or "
                     "the last one before a halt of fewer than 5 sessions; none after a longer "
                     "one)")
    has_range = h is not None and lo is not None and not h.isna().all(axis=None)
    if has_range:
        high_v, low_v = h.to_numpy(), lo.to_numpy()
        day_var = parkinson_variance(high_v, low_v)
    else:
        high_v = low_v = close_v  # only the close printed: a limit fills only through it
        with np.errstate(invalid="ignore", divide="ignore"):
            day_var = np.log(close_v / prev_close) ** 2
        notes.append("range: the data has no high/low; volatility is the EWMA of squared "
                     "close-to-close returns and a limit order fills only when the close "
                     "trades through it")
    # a split-shaped move in the traded sessions is booked as P&L; one in the lookback only
    # is read by the estimators (volatility, the risk model) as a real move
    before = hist.index[hist.index < first]
    read_from = before[max(len(before) - history_sessions, 0)]  # the estimators' reach
    splits = suspected_splits(hist.loc[read_from:])
    traded_from = f"{first:%Y-%m-%d}"
    for moves, effect in (
            ([m for m in splits if m.split(" ")[1] >= traded_from],
             "the backtest books them as losses or gains"),
            ([m for m in splits if m.split(" ")[1] < traded_from],
             "they are in the lookback only: the volatility and risk estimates read them as "
             "real moves")):
        if moves:
            notes.append("prices: taken as split-adjusted, but the closes move as an "
                         f"unadjusted split does ({'; '.join(moves[:5])}"
                         f"{f'; {len(moves) - 5} more' if len(moves) > 5 else ''}): if these "
                         f"are splits, {effect}")
    sigma_day = _ewma_sigma_before(day_var, vol_halflife_sessions)
    adv = _mean_before(vol_v)
    with np.errstate(invalid="ignore", divide="ignore"):
        perm = permanent_impact * sigma_day / adv
    perm = np.where(np.isfinite(perm), perm, 0.0)

    rows = np.flatnonzero(hist.index.isin(traded))
    cal = exchange_sessions(traded[0], traded[-1])
    missing = traded.difference(cal.index)
    if len(missing):
        raise ValueError(f"daily market: {missing[0]:%Y-%m-%d} is not an NYSE session")
    opens_at = cal.loc[traded, "open"].dt.tz_convert(EXCHANGE_TZ)
    closes_at = cal.loc[traded, "close"].dt.tz_convert(EXCHANGE_TZ)
    n, k = len(rows), len(symbols)
    stamps = np.empty(2 * n, dtype=object)
    stamps[0::2] = opens_at.dt.to_pydatetime()
    stamps[1::2] = closes_at.dt.to_pydatetime()

    def interleave(at_open: np.ndarray, at_close: np.ndarray) -> np.ndarray:
        out = np.empty((2 * n, k))
        out[0::2], out[1::2] = at_open, at_close
        return out

    op = open_v[rows]
    replay = BarReplay.from_arrays(
        tuple(stamps), tuple(symbols),
        open=interleave(op, op), high=interleave(op, high_v[rows]),
        low=interleave(op, low_v[rows]), close=interleave(op, close_v[rows]),
        volume=interleave(np.floor(OPEN_AUCTION_VOLUME_SHARE * vol_v[rows]),
                          vol_v[rows] - np.floor(OPEN_AUCTION_VOLUME_SHARE * vol_v[rows])))
    # both bars of a session carry the session's estimates (only the close bar fills)
    sigma_path = interleave(sigma_day[rows], sigma_day[rows])
    perm_path = interleave(perm[rows], perm[rows])
    options = {"sigma_path": sigma_path, "perm_coef_path": perm_path,
               "fallback_half_spread_bps": fallback_half_spread_bps}
    before = np.flatnonzero(hist.index < first)[-history_sessions:]
    history = _history_bars(hist.index[before], symbols, open_v[before], high_v[before],
                            low_v[before], close_v[before], vol_v[before],
                            fallback_half_spread_bps)
    return DailyMarket(replay, options, bool(volume_modelled), notes, history)


def _history_bars(days: pd.DatetimeIndex, symbols: list[str], open_v: np.ndarray,
                  high_v: np.ndarray, low_v: np.ndarray, close_v: np.ndarray,
                  volume: np.ndarray, half_spread_bps: float) -> pd.DataFrame:
    """The modelled sessions as long bars, one a session and symbol with a close (stamped at
    16:00: a daily fit reads only the date). The quotes are the close -/+ the half spread the
    simulated broker charges on a daily bar (it has no other spread), so a cost model fitted
    on them predicts the spread this market charges."""
    k = len(symbols)
    stamps = (days + pd.Timedelta(hours=16)).tz_localize(EXCHANGE_TZ)
    frame = pd.DataFrame({
        "timestamp": np.repeat(stamps, k), "symbol": np.tile(np.asarray(symbols, object),
                                                            len(days)),
        "open": open_v.ravel(), "high": high_v.ravel(), "low": low_v.ravel(),
        "close": close_v.ravel(), "volume": volume.ravel()})
    frame["bid"] = frame["close"] * (1.0 - half_spread_bps * 1e-4)
    frame["ask"] = frame["close"] * (1.0 + half_spread_bps * 1e-4)
    ok = np.isfinite(frame["close"].to_numpy()) & (frame["volume"].to_numpy() > 0)
    frame["open"] = frame["open"].where(np.isfinite(frame["open"]), frame["close"])
    return frame.loc[ok].reset_index(drop=True)


def _ewma_sigma_before(day_var: np.ndarray, halflife: float) -> np.ndarray:
    """sigma[t]: sqrt of the EWMA of the finite ``day_var`` rows before t (a symbol's first
    estimate is its first variance; before any, :data:`_FALLBACK_DAILY_VOL`)."""
    alpha = 1.0 - 0.5 ** (1.0 / halflife)
    out = np.full(day_var.shape, np.nan)
    v = np.full(day_var.shape[1], np.nan)
    for t in range(day_var.shape[0]):
        out[t] = v
        x = day_var[t]
        ok = np.isfinite(x)
        v = np.where(ok & np.isnan(v), x, v)
        v = np.where(ok & np.isfinite(v), v + alpha * (x - v), v)
    with np.errstate(invalid="ignore"):
        sigma = np.sqrt(out)
    return np.where(np.isfinite(sigma) & (sigma > 0), sigma, _FALLBACK_DAILY_VOL)


def _mean_before(volume: np.ndarray, window: int = ADV_SESSIONS) -> np.ndarray:
    """ADV[t]: the mean volume of the sessions that traded among the ``window`` sessions
    before t (the session's own before any)."""
    traded = volume > 0
    zero = np.zeros((1, volume.shape[1]))
    total = np.vstack([zero, np.cumsum(np.where(traded, volume, 0.0), axis=0)])
    count = np.vstack([zero, np.cumsum(traded, axis=0)])
    rows = np.arange(volume.shape[0])
    lo = np.maximum(rows - window, 0)
    in_window, n = total[rows] - total[lo], count[rows] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, in_window / np.maximum(n, 1), volume)
    return out
