"""A week of minute trade-and-quote bars shaped like what a user fetches from a broker.

Generated from a seed (nothing is downloaded), but with the irregularities of real data that the
clean synthetic store never shows:

* the Thanksgiving week of 2022: Monday to Wednesday, no session on Thursday, an early close
  (13:00) on Friday; sessions come from the exchange calendar;
* minutes with no bar at all (no trade printed), more of them in the less liquid names;
* zero-volume bars (a bar with no trade repeats the previous close);
* odd-lot volumes and quote sizes (not multiples of 100);
* quotes on the cent grid, usually a cent or two wide, several cents wide at the open and
  now and then mid-day, never crossed; the last trade may sit outside the closing quote;
* one symbol (``LATE_SYMBOL``) whose data starts a session later than the others.

The first session (Monday) is the others' only history; ``LATE_SYMBOL``'s history is its own
first session (Tuesday), so its orders start on Wednesday.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.data.calendar import sessions

WEEK = ("2022-11-21", "2022-11-25")
#: symbol -> (price $, daily volatility, shares per day, share of minutes without a bar)
SYMBOLS = {"AAPL": (150.0, 0.020, 2.0e6, 0.01), "JPM": (133.0, 0.015, 6.0e5, 0.04),
           "KO": (62.0, 0.010, 4.0e5, 0.08), "XOM": (112.0, 0.022, 8.0e5, 0.05)}
LATE_SYMBOL = "XOM"
HISTORY_SESSION = "2022-11-21"
STUDY_SESSIONS = ("2022-11-22", "2022-11-23", "2022-11-25")
ZERO_VOLUME_SHARE = 0.02
TICK = 0.01


def _session_minutes(open_: pd.Timestamp, close: pd.Timestamp) -> pd.DatetimeIndex:
    """Bar stamps (the bar's close) from open + 1 minute to the close, inclusive."""
    return pd.date_range(open_ + pd.Timedelta(minutes=1), close, freq="1min")


def real_shaped_week(seed: int = 7) -> pd.DataFrame:
    """Long frame in the bar schema (with bid, ask, bid_size, ask_size), sorted by
    (timestamp, symbol)."""
    rng = np.random.default_rng(seed)
    days = sessions(*WEEK)
    frames = []
    for symbol, (price, daily_vol, daily_volume, missing_share) in SYMBOLS.items():
        first = STUDY_SESSIONS[0] if symbol == LATE_SYMBOL else HISTORY_SESSION
        log_price = np.log(price)
        for _, row in days.loc[first:].iterrows():
            stamps = _session_minutes(row["open"], row["close"])
            n = len(stamps)
            minute_vol = daily_vol / np.sqrt(390.0) * (1.0 + 1.5 * np.exp(-np.arange(n) / 20.0))
            overnight = rng.normal(0.0, 0.4 * daily_vol)
            path = log_price + overnight + np.cumsum(rng.normal(0.0, minute_vol))
            closes = np.round(np.exp(path) / TICK) * TICK
            opens = np.r_[np.round(np.exp(log_price + overnight) / TICK) * TICK, closes[:-1]]
            wick = np.abs(rng.normal(0.0, 0.6 * minute_vol)) * closes
            highs = np.ceil((np.maximum(opens, closes) + wick) / TICK - 1e-9) * TICK
            lows = np.floor((np.minimum(opens, closes) - wick[::-1]) / TICK + 1e-9) * TICK
            shape = 1.0 + 2.0 * np.exp(-np.arange(n) / 30.0) + np.exp(-(n - 1 - np.arange(n)) / 20.0)
            volume = np.floor(daily_volume * shape / shape.sum()
                              * rng.lognormal(-0.125, 0.5, n)).astype(np.int64) + rng.integers(1, 99, n)
            # a bar without a trade: volume 0 and a flat bar at the previous close
            quiet = rng.random(n) < ZERO_VOLUME_SHARE
            quiet[0] = False
            volume[quiet] = 0
            for k in np.flatnonzero(quiet):
                closes[k] = opens[k] = highs[k] = lows[k] = closes[k - 1]
                if k + 1 < n:
                    opens[k + 1] = closes[k]
                    highs[k + 1] = max(highs[k + 1], closes[k])
                    lows[k + 1] = min(lows[k + 1], closes[k])
            # quotes: 1-2 ticks, wide in the first minutes and in rare mid-day gaps
            width_ticks = rng.integers(1, 3, n) + np.where(np.arange(n) < 5, rng.integers(3, 12, n), 0)
            width_ticks += np.where(rng.random(n) < 0.01, rng.integers(5, 25, n), 0)
            mid = closes + rng.integers(-1, 2, n) * TICK * 0.5
            bid = np.floor((mid - 0.5 * width_ticks * TICK) / TICK + 1e-9) * TICK
            ask = np.maximum(np.ceil((mid + 0.5 * width_ticks * TICK) / TICK - 1e-9) * TICK,
                             bid + TICK)
            frame = pd.DataFrame({
                "timestamp": stamps, "symbol": symbol, "open": opens, "high": highs,
                "low": lows, "close": closes, "volume": volume.astype(float),
                "bid": np.round(bid, 2), "ask": np.round(ask, 2),
                "bid_size": rng.integers(1, 900, n).astype(float),
                "ask_size": rng.integers(1, 900, n).astype(float),
            })
            # minutes without any bar (never the session's first or last one)
            gone = rng.random(n) < missing_share
            gone[[0, -1]] = False
            frames.append(frame[~gone])
            log_price = path[-1]
    bars = pd.concat(frames, ignore_index=True)
    for col in ("open", "high", "low", "close"):
        bars[col] = bars[col].round(2)
    return bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)


def real_shaped_orders(bars: pd.DataFrame, seed: int = 11, per_session: int = 8) -> pd.DataFrame:
    """Parent orders on the study sessions: each symbol that has history by then, decision
    times on any minute (also minutes where the symbol printed no bar), sizes 0.02-0.3% of the
    symbol's volume in the history, horizons that end inside the session (early close too)."""
    rng = np.random.default_rng(seed)
    days = sessions(*WEEK)
    first_day = bars.groupby("symbol")["timestamp"].min().dt.tz_convert(
        "America/New_York").dt.normalize().dt.tz_localize(None)
    day_volume = bars.assign(day=bars["timestamp"].dt.tz_convert("America/New_York").dt.date) \
        .groupby(["symbol", "day"])["volume"].sum().groupby("symbol").first()
    rows = []
    for day in STUDY_SESSIONS:
        open_, close = days.loc[day, "open"], days.loc[day, "close"]
        eligible = [s for s in first_day.index if first_day[s] < pd.Timestamp(day)]
        for _ in range(per_session):
            symbol = eligible[rng.integers(len(eligible))]
            horizon = int(rng.choice([15, 30, 60]))
            latest = int((close - open_).total_seconds() // 60) - horizon - 5
            minute = int(rng.integers(5, latest))
            quantity = max(100, int(day_volume[symbol] * rng.uniform(0.0002, 0.003)))
            rows.append({"order_id": f"R{len(rows) + 1:03d}", "symbol": symbol,
                         "side": "buy" if rng.random() < 0.5 else "sell", "quantity": quantity,
                         "decision_time": open_ + pd.Timedelta(minutes=minute),
                         "horizon_minutes": horizon})
    return pd.DataFrame(rows)
