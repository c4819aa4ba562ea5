"""Synthetic minute bars (with quotes) built around *real* daily closes.

No real minute data ships in any installable package, so the embedded intraday dataset is
synthesised. What is real and what is modelled is kept explicit:

* **Real**: every session's close (the last minute bar closes exactly at the real close) and
  the session calendar (NYSE sessions and early closes from ``exchange_calendars``).
* **Modelled** (every number documented in ``data/README.md``):
  - the log-price path from the previous close to today's close is a Brownian bridge in
    *variance time*: an overnight gap carrying ``overnight_variance_share`` of the day's
    variance, then one increment per minute with a U-shaped intraday variance profile;
    the daily volatility is the standard deviation of the previous 63 daily log returns
    (past data only);
  - minute highs and lows are drawn from the exact distribution of a Brownian bridge's
    maximum/minimum between the minute's open and close, so OHLC is consistent with the path;
  - volume is a U-shaped profile (first half hour ~12% of the day, a heavier last half hour)
    around a per-symbol ADV with log-normal day and minute noise;
  - the quoted spread decays from ``open_spread_multiple`` x its level at the open to its level
    by late morning, with log-normal noise, never below one tick.

Randomness is seeded per symbol (``[seed, crc32(symbol)]``) so a symbol's bars do not depend
on which other symbols are synthesised in the same call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from research.data.calendar import sessions
from research.data.schema import EXCHANGE_TZ

TICK = 0.01
SUBPENNY_TICK = 0.0001  # Reg NMS rule 612: quotes under $1 may use $0.0001 increments
VOL_LOOKBACK_DAYS = 63
DEFAULT_DAILY_VOL = 0.02
MINUTE_VOLUME_NOISE = 0.5  # log-normal sigma of minute volume around the profile
DAY_VOLUME_NOISE = 0.25  # log-normal sigma of daily volume around ADV
SPREAD_NOISE = 0.2  # log-normal sigma of the minute spread around its profile
SPREAD_LEVEL_DISPERSION = 0.3  # log-normal sigma of per-symbol spread levels
OPEN_SPREAD_DECAY_MINUTES = 30.0
VOLUME_OPEN_DECAY_MINUTES = 8.0
VOLUME_CLOSE_DECAY_MINUTES = 6.0
VARIANCE_OPEN_BOOST, VARIANCE_CLOSE_BOOST, VARIANCE_DECAY_MINUTES = 1.5, 0.5, 20.0


#: Approximate 2022 average daily dollar volume of the embedded names (order of magnitude from
#: public consolidated-volume statistics; a calibration default, not a fact to trade on).
DEFAULT_ADV_USD: dict[str, float] = {
    "AAPL": 13e9, "MSFT": 8e9, "AMD": 7e9, "BAC": 1.6e9, "JPM": 1.8e9, "XOM": 2.2e9,
    "CVX": 1.8e9, "UNH": 1.6e9, "JNJ": 1.3e9, "PG": 1.0e9, "KO": 0.9e9, "PEP": 0.9e9,
    "WMT": 1.2e9, "HD": 1.4e9, "LLY": 1.1e9, "MRK": 0.9e9, "PFE": 1.3e9, "GE": 0.6e9,
    "BBY": 0.35e9, "RRC": 0.2e9,
}


@dataclass(frozen=True)
class SynthParams:
    """Calibration of the synthesiser; defaults mirror ``DataSettings``."""

    seed: int = 7
    default_adv_usd: float = 2.0e9
    adv_usd: dict | None = None
    spread_bps: float = 3.0
    open_spread_multiple: float = 3.0
    first_half_hour_volume_share: float = 0.12
    last_half_hour_volume_share: float = 0.16
    overnight_variance_share: float = 0.2

    @classmethod
    def from_settings(cls, data_settings) -> SynthParams:
        d = data_settings
        return cls(
            seed=d.synth_seed,
            default_adv_usd=d.synth_default_adv_usd,
            adv_usd=dict(d.synth_adv_usd),
            spread_bps=d.synth_spread_bps,
            open_spread_multiple=d.synth_open_spread_multiple,
            first_half_hour_volume_share=d.synth_first_half_hour_volume_share,
            last_half_hour_volume_share=d.synth_last_half_hour_volume_share,
            overnight_variance_share=d.synth_overnight_variance_share,
        )


def volume_profile(n_minutes: int, first_share: float, last_share: float) -> np.ndarray:
    """U-shaped per-minute volume weights summing to 1 with the given half-hour shares.

    w_k = a + b*exp(-k/tau_open) + c*exp(-(n-1-k)/tau_close); (a, b, c) solve the three linear
    constraints (total 1, first 30 minutes ``first_share``, last 30 minutes ``last_share``).
    """
    k = np.arange(n_minutes, dtype=float)
    basis = np.stack([
        np.ones(n_minutes),
        np.exp(-k / VOLUME_OPEN_DECAY_MINUTES),
        np.exp(-(n_minutes - 1 - k) / VOLUME_CLOSE_DECAY_MINUTES),
    ])
    first, last = slice(0, 30), slice(n_minutes - 30, n_minutes)
    lhs = np.stack([basis.sum(1), basis[:, first].sum(1), basis[:, last].sum(1)])
    coef = np.linalg.solve(lhs, np.array([1.0, first_share, last_share]))
    w = coef @ basis
    if np.any(w <= 0):
        raise ValueError(
            f"volume shares first={first_share}, last={last_share} give a non-positive profile "
            f"for a {n_minutes}-minute session"
        )
    return w


def variance_profile(n_minutes: int) -> np.ndarray:
    """U-shaped per-minute share of intraday variance (volatility peaks at the open), sum 1."""
    k = np.arange(n_minutes, dtype=float)
    u = (1.0 + VARIANCE_OPEN_BOOST * np.exp(-k / VARIANCE_DECAY_MINUTES)
         + VARIANCE_CLOSE_BOOST * np.exp(-(n_minutes - 1 - k) / VARIANCE_DECAY_MINUTES))
    return u / u.sum()


def spread_profile(n_minutes: int, open_multiple: float) -> np.ndarray:
    """Spread multiplier per minute: ``open_multiple`` at the open decaying to 1."""
    k = np.arange(n_minutes, dtype=float)
    return 1.0 + (open_multiple - 1.0) * np.exp(-k / OPEN_SPREAD_DECAY_MINUTES)


def _past_daily_vol(log_close: pd.Series) -> pd.Series:
    """Std of the previous 63 daily log returns (excludes the day itself: no look-ahead)."""
    r = log_close.diff()
    vol = r.rolling(VOL_LOOKBACK_DAYS, min_periods=10).std().shift(1)
    return vol.fillna(DEFAULT_DAILY_VOL)


def _bridge_extreme(a, b, var, u, sign):
    """Max (sign=+1) or min (sign=-1) of a Brownian bridge from a to b with variance ``var``.

    Inverse CDF of the bridge maximum: P(max > m) = exp(-2(m-a)(m-b)/var).
    """
    return 0.5 * (a + b + sign * np.sqrt((b - a) ** 2 - 2.0 * var * np.log(u)))


def _quotes(mid: np.ndarray, spread_bps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bid/ask on the tick grid around ``mid``: at least one tick wide, mid inside [bid, ask]."""
    tick = np.where(mid >= 1.0, TICK, SUBPENNY_TICK)
    n_ticks = np.maximum(1.0, np.round(mid * spread_bps * 1e-4 / tick))
    bid = np.round((mid - 0.5 * n_ticks * tick) / tick) * tick
    bid = np.minimum(bid, np.floor(mid / tick) * tick)
    ask = np.maximum(bid + n_ticks * tick, np.ceil(mid / tick) * tick)
    bid = np.maximum(bid, tick)  # a quote is never zero
    return np.round(bid, 6), np.round(ask, 6)


def synthesize_minute_bars(
    closes: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    params: SynthParams | None = None,
    calendar: str = "XNYS",
    progress: bool = False,
) -> pd.DataFrame:
    """Minute bars with quotes for every column of ``closes`` over sessions in [start, end].

    ``closes`` is a wide frame of real daily closes indexed by session date; it must include
    at least the session before ``start`` (the first day's path starts from it).
    """
    params = params or SynthParams()
    closes = closes.sort_index()
    days = sessions(start, end, calendar)
    missing = days.index.difference(closes.index)
    if len(missing):
        raise ValueError(
            f"no real close for {len(missing)} session(s) in the range, first {missing[0].date()}"
        )
    if len(days) == 0:
        raise ValueError(f"no trading sessions between {start} and {end}")
    first_pos = closes.index.get_loc(days.index[0])
    if first_pos == 0:
        raise ValueError(f"need the close of the session before {days.index[0].date()}")

    open_ns = days["open"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    lengths = ((days["close"] - days["open"]) / pd.Timedelta(minutes=1)).astype(int).to_numpy()
    symbols = list(closes.columns)
    iterator = symbols
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(symbols, desc="synthesising", unit="symbol")

    frames = []
    for symbol in iterator:
        col = closes[symbol].astype(float)
        if col.loc[days.index].isna().any() or not np.isfinite(col.iloc[first_pos - 1]):
            raise ValueError(f"{symbol}: missing real close inside the synthesis range")
        log_close = np.log(col)
        vol = _past_daily_vol(log_close)
        prev_close = col.shift(1).loc[days.index].to_numpy()
        frames.append(_synth_symbol(
            symbol, col.loc[days.index].to_numpy(), prev_close, vol.loc[days.index].to_numpy(),
            open_ns, lengths, params,
        ))
    out = pd.concat(frames, ignore_index=True)
    out["timestamp"] = pd.DatetimeIndex(out["timestamp"]).tz_localize("UTC").tz_convert(EXCHANGE_TZ)
    return out


def _synth_symbol(symbol, close, prev_close, daily_vol, open_ns, lengths, p: SynthParams):
    rng = np.random.default_rng([p.seed, zlib.crc32(symbol.encode())])
    adv_usd = {**DEFAULT_ADV_USD, **(p.adv_usd or {})}.get(symbol, p.default_adv_usd)
    level_bps = p.spread_bps * np.exp(SPREAD_LEVEL_DISPERSION * rng.standard_normal())
    parts = []
    # Sessions of equal length (full days, early closes) are simulated together as a matrix.
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        d = len(idx)
        r = np.log(close[idx] / prev_close[idx])
        var_day = daily_vol[idx] ** 2
        w = np.concatenate([[p.overnight_variance_share],
                            (1 - p.overnight_variance_share) * variance_profile(n)])
        incr = rng.standard_normal((d, n + 1)) * np.sqrt(np.outer(var_day, w))
        walk = np.cumsum(incr, axis=1)
        tau = np.cumsum(w)
        bridge = walk - np.outer(walk[:, -1] - r, tau)  # ends exactly at r
        logp = np.log(prev_close[idx])[:, None] + bridge  # points after gap, then each minute
        bar_open, bar_close = logp[:, :-1], logp[:, 1:]
        minute_var = np.outer(var_day, w[1:])
        hi = _bridge_extreme(bar_open, bar_close, minute_var, rng.random((d, n)), +1)
        lo = _bridge_extreme(bar_open, bar_close, minute_var, rng.random((d, n)), -1)
        o, c, h, low = np.exp(bar_open), np.exp(bar_close), np.exp(hi), np.exp(lo)
        c[:, -1] = close[idx]  # the real close, bit for bit
        h = np.maximum(h, np.maximum(o, c))
        low = np.minimum(low, np.minimum(o, c))

        adv_shares = adv_usd / prev_close[idx]
        day_volume = adv_shares * np.exp(DAY_VOLUME_NOISE * rng.standard_normal(d)
                                         - 0.5 * DAY_VOLUME_NOISE**2)
        prof = volume_profile(n, p.first_half_hour_volume_share, p.last_half_hour_volume_share)
        noise = np.exp(MINUTE_VOLUME_NOISE * rng.standard_normal((d, n))
                       - 0.5 * MINUTE_VOLUME_NOISE**2)
        volume = np.maximum(100.0, np.round(np.outer(day_volume, prof) * noise))

        spread_bps = (level_bps * spread_profile(n, p.open_spread_multiple)[None, :]
                      * np.exp(SPREAD_NOISE * rng.standard_normal((d, n)) - 0.5 * SPREAD_NOISE**2))
        bid, ask = _quotes(c, spread_bps)
        depth = np.maximum(1.0, np.round(volume * 0.02 / 100.0 * rng.gamma(2.0, 0.5, (d, n))))
        stamps = open_ns[idx][:, None] + (np.arange(1, n + 1) * 60_000_000_000).astype(
            "timedelta64[ns]")[None, :]
        parts.append(pd.DataFrame({
            "timestamp": stamps.ravel(),
            "open": o.ravel(), "high": h.ravel(), "low": low.ravel(), "close": c.ravel(),
            "volume": volume.ravel(), "bid": bid.ravel(), "ask": ask.ravel(),
            "bid_size": depth.ravel() * 100.0,
            "ask_size": np.roll(depth, 1, axis=1).ravel() * 100.0,
        }))
    frame = pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable")
    frame.insert(1, "symbol", symbol)
    return frame.reset_index(drop=True)


def minute_to_daily(minute: pd.DataFrame) -> pd.DataFrame:
    """Aggregate minute bars to daily bars stamped at the session's last minute close."""
    m = minute.sort_values(["symbol", "timestamp"], kind="stable")
    day = m["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.normalize()
    g = m.groupby([m["symbol"], day], sort=True)
    out = pd.DataFrame({
        "timestamp": g["timestamp"].last(),
        "open": g["open"].first(), "high": g["high"].max(), "low": g["low"].min(),
        "close": g["close"].last(), "volume": g["volume"].sum(),
    })
    if "bid" in m.columns:
        out["bid"] = g["bid"].last()
        out["ask"] = g["ask"].last()
    out = out.reset_index(level=0).reset_index(drop=True)
    cols = ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    return out[cols + [c for c in ("bid", "ask") if c in out.columns]]
