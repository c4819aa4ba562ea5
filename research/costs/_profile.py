"""Time-of-day profiles: intraday multipliers of the spread and of traded volume.

A :class:`TimeOfDayProfile` is piecewise constant over buckets of the regular session
(minutes 0..390 after 09:30 America/New_York) and normalised to a **time-weighted mean of 1**
over the session, so ``level * profile.at(minute)`` is the value at that minute when
``level`` is the session average. Minutes past the close wrap onto the next session (an
order that runs past 16:00 continues at the next open; overnight time is not counted).

Defaults (used until a profile is estimated from intraday data):

* spread: U-shape, about 3x the mid-day spread in the first five minutes, decaying to mid-day
  by 10:30 and rising ~20% into the close. Practitioner rule of thumb (2-3x at the open for US
  large caps; McInish & Wood 1992 and Chan, Chung & Johnson 1995 document the U/reverse-J
  shape, but no verified single open/mid-day ratio exists). Replace it with
  :func:`estimate_spread_profile` on your own intraday bars.
* volume: 12% of the day's volume in the first half hour (NYSE: 11.0-12.6%), 16% in the last
  half hour (heavy close), a shallow U in between — the same shares as ``DataSettings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ

SESSION_MINUTES = 390.0
_OPEN_MINUTE_OF_DAY = 9 * 60 + 30


@dataclass(frozen=True, eq=False)
class TimeOfDayProfile:
    """Piecewise-constant multiplier over the session, time-weighted mean 1.

    ``edges``: bucket boundaries in minutes after the open, from 0 to 390, increasing.
    ``multipliers``: one positive value per bucket (dimensionless).
    """

    edges: np.ndarray
    multipliers: np.ndarray
    kind: str = "spread"

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        mult = np.asarray(self.multipliers, dtype=float)
        if edges.ndim != 1 or mult.ndim != 1 or edges.size != mult.size + 1:
            raise ValueError(
                f"{self.kind} profile: need len(edges) == len(multipliers) + 1, got "
                f"{edges.size} edges and {mult.size} multipliers"
            )
        if edges[0] != 0.0 or edges[-1] != SESSION_MINUTES or np.any(np.diff(edges) <= 0):
            raise ValueError(
                f"{self.kind} profile: edges must increase from 0 to {SESSION_MINUTES:g} minutes"
            )
        if not np.all(np.isfinite(mult)) or np.any(mult <= 0):
            bad = int(np.flatnonzero(~(mult > 0))[0])
            raise ValueError(
                f"{self.kind} profile: multiplier of bucket starting at minute {edges[bad]:g} "
                f"must be positive and finite, got {mult[bad]}"
            )
        mean = float(np.sum(mult * np.diff(edges)) / SESSION_MINUTES)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "multipliers", mult / mean)

    # ------------------------------------------------------------------ evaluation
    def at(self, minute) -> np.ndarray:
        """Multiplier at ``minute`` after the open (wraps past the close)."""
        m = np.mod(np.asarray(minute, dtype=float), SESSION_MINUTES)
        idx = np.clip(np.searchsorted(self.edges, m, side="right") - 1, 0, self.multipliers.size - 1)
        return self.multipliers[idx]

    def cumulative(self, minute) -> np.ndarray:
        """Integral of the multiplier from the open to ``minute`` (minutes; wraps by session)."""
        t = np.asarray(minute, dtype=float)
        sessions = np.floor(t / SESSION_MINUTES)
        r = t - sessions * SESSION_MINUTES
        cum = np.concatenate([[0.0], np.cumsum(self.multipliers * np.diff(self.edges))])
        return sessions * SESSION_MINUTES + np.interp(r, self.edges, cum)

    def window_mean(self, start, end) -> np.ndarray:
        """Average multiplier over [start, end] minutes; the point value when end == start."""
        start = np.asarray(start, dtype=float)
        end = np.asarray(end, dtype=float)
        width = end - start
        safe = np.where(width > 0, width, 1.0)
        mean = (self.cumulative(end) - self.cumulative(start)) / safe
        return np.where(width > 0, mean, self.at(start))

    def minute_grid(self) -> np.ndarray:
        """Average multiplier of each of the 390 one-minute slots of the session."""
        grid = np.arange(SESSION_MINUTES + 1.0)
        return np.diff(self.cumulative(grid))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "edges": self.edges.tolist(),
                "multipliers": self.multipliers.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> TimeOfDayProfile:
        return cls(np.asarray(data["edges"]), np.asarray(data["multipliers"]),
                   data.get("kind", "spread"))


# ------------------------------------------------------------------------------ defaults
_SPREAD_EDGES = (0, 5, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360, 375, 385, 390)
_SPREAD_VS_MIDDAY = (3.0, 2.2, 1.6, 1.3, 1.12, 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.02, 1.05,
                     1.1, 1.15, 1.2)
_VOLUME_EDGES = tuple(range(0, 391, 30))
# Shares of the day's volume per half hour: 12% first, 16% last, shallow U in between.
_MIDDLE_WEIGHTS = np.array([1.25, 1.1, 1.0, 0.9, 0.85, 0.85, 0.85, 0.9, 1.0, 1.1, 1.2])
_VOLUME_SHARES = np.concatenate([[0.12], 0.72 * _MIDDLE_WEIGHTS / _MIDDLE_WEIGHTS.sum(), [0.16]])


def default_spread_profile() -> TimeOfDayProfile:
    """Documented default U-shaped spread profile (see the module docstring)."""
    return TimeOfDayProfile(np.array(_SPREAD_EDGES, float), np.array(_SPREAD_VS_MIDDAY), "spread")


def default_volume_profile() -> TimeOfDayProfile:
    """Documented default U-shaped volume profile: 12% first / 16% last half hour."""
    return TimeOfDayProfile(np.array(_VOLUME_EDGES, float), _VOLUME_SHARES * 13.0, "volume")


# ----------------------------------------------------------------------------- estimation
def minutes_since_open(timestamps) -> np.ndarray:
    """Minutes after 09:30 New York time (tz-aware stamps are converted; naive ones are
    taken as New York local time)."""
    ts = pd.DatetimeIndex(pd.to_datetime(timestamps))
    if ts.tz is not None:
        ts = ts.tz_convert(EXCHANGE_TZ)
    return (ts.hour * 60 + ts.minute + ts.second / 60.0 - _OPEN_MINUTE_OF_DAY).to_numpy(float)


def _bar_start_minutes(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(start minute after the open, session date) of each bar; bars are stamped at their close."""
    ts = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"]))
    if ts.tz is not None:
        ts = ts.tz_convert(EXCHANGE_TZ)
    close_min = (ts.hour * 60 + ts.minute + ts.second / 60.0 - _OPEN_MINUTE_OF_DAY).to_numpy(float)
    day = ts.normalize().asi8
    order = np.lexsort((close_min, day, bars["symbol"].to_numpy()))
    gaps = np.diff(close_min[order])
    same = (np.diff(day[order]) == 0) & (bars["symbol"].to_numpy()[order][1:]
                                         == bars["symbol"].to_numpy()[order][:-1])
    steps = gaps[same & (gaps > 0)]
    if steps.size == 0:
        raise ValueError("time-of-day profile needs intraday bars (several bars per symbol per day)")
    bar_minutes = float(np.median(steps))
    return close_min - bar_minutes, day


def _bucket_index(start_minute: np.ndarray, bucket_minutes: float) -> tuple[np.ndarray, np.ndarray]:
    edges = np.arange(0.0, SESSION_MINUTES + bucket_minutes / 2, bucket_minutes)
    edges[-1] = SESSION_MINUTES
    inside = (start_minute >= 0) & (start_minute < SESSION_MINUTES)
    idx = np.clip(np.searchsorted(edges, start_minute, side="right") - 1, 0, edges.size - 2)
    return np.where(inside, idx, -1), edges


def profile_from_observations(
    minute, value, *, bucket_minutes: float = 30.0, group=None, kind: str = "spread"
) -> TimeOfDayProfile:
    """Median of ``value`` per time bucket, each group (e.g. symbol-day) first divided by its
    own median so that level differences between groups do not shape the profile.

    ``minute``: minutes after the open at which each value was observed. Observations outside
    the regular session are ignored (they have no bucket), never an error.
    """
    minute = np.asarray(minute, dtype=float)
    value = np.asarray(value, dtype=float)
    idx, edges = _bucket_index(minute, bucket_minutes)
    frame = pd.DataFrame({"bucket": idx, "value": value,
                          "group": 0 if group is None else np.asarray(group)})
    frame = frame[(frame["bucket"] >= 0) & np.isfinite(frame["value"]) & (frame["value"] > 0)]
    if frame.empty:
        raise ValueError(f"{kind} profile: no positive observations inside the regular session")
    frame["value"] = frame["value"] / frame.groupby("group")["value"].transform("median")
    med = frame.groupby("bucket")["value"].median().reindex(range(edges.size - 1))
    if med.isna().any():
        missing = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in np.flatnonzero(med.isna())]
        raise ValueError(f"{kind} profile: no observations in minute bucket(s) {missing}")
    return TimeOfDayProfile(edges, med.to_numpy(), kind)


def estimate_spread_profile(bars: pd.DataFrame, *, bucket_minutes: float = 30.0) -> TimeOfDayProfile:
    """Spread profile from intraday bars: quoted spread (ask-bid)/mid when the bars carry
    quotes, otherwise the bar's relative high-low range as a proxy (the range also carries
    the intraday volatility U-shape, so it overstates the open somewhat)."""
    start, day = _bar_start_minutes(bars)
    if "bid" in bars.columns and "ask" in bars.columns and bars["bid"].notna().any():
        bid = bars["bid"].to_numpy(float)
        ask = bars["ask"].to_numpy(float)
        value = (ask - bid) / (0.5 * (ask + bid))
    else:
        value = (bars["high"].to_numpy(float) - bars["low"].to_numpy(float)) / bars[
            "close"
        ].to_numpy(float)
    group = pd.factorize(pd.Series(bars["symbol"].to_numpy()).astype(str) + "|" + day.astype(str))[0]
    return profile_from_observations(start, value, bucket_minutes=bucket_minutes, group=group,
                                     kind="spread")


def estimate_volume_profile(bars: pd.DataFrame, *, bucket_minutes: float = 30.0) -> TimeOfDayProfile:
    """Volume profile from intraday bars: mean share of each symbol-day's volume per bucket."""
    start, day = _bar_start_minutes(bars)
    idx, edges = _bucket_index(start, bucket_minutes)
    frame = pd.DataFrame({"bucket": idx, "volume": bars["volume"].to_numpy(float),
                          "symbol": bars["symbol"].to_numpy(), "day": day})
    frame = frame[frame["bucket"] >= 0]
    per = frame.groupby(["symbol", "day", "bucket"])["volume"].sum().unstack("bucket")
    per = per.reindex(columns=range(edges.size - 1))
    per = per[per.notna().all(axis=1)]  # full sessions only: half days would bias the close
    per = per[per.sum(axis=1) > 0]
    if per.empty:
        raise ValueError("volume profile: no full session with positive volume in the bars")
    shares = per.div(per.sum(axis=1), axis=0).mean(axis=0).to_numpy()
    return TimeOfDayProfile(edges, shares / (np.diff(edges) / SESSION_MINUTES), "volume")
