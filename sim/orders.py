"""Synthetic parent orders: a realistic, seeded order flow for execution studies.

Distribution choices (each a documented assumption, each a parameter):

* **Size** as a fraction of the symbol's ADV, log-normal with median ``median_adv_fraction``
  (0.5% of ADV) and log-sd ``adv_sigma`` (1.2), truncated at ``max_adv_fraction`` (10% of ADV)
  by inverse-CDF sampling, so no order is clipped to the cap. With these values about 72% of
  orders are under 1% of ADV, p90 is ~2.3% and p99 ~8% of ADV. Rationale: institutional
  metaorders are mostly a small fraction of daily volume with a heavy right tail (order sizes
  spanning several decades are the stylised fact behind square-root impact studies); a
  log-normal gives that tail with two interpretable numbers, and the 10% cap matches the
  participation caps peers and this project use (zipline up to 10% of volume). The numbers are
  assumptions to sweep, not estimates from a data set.
* **ADV** of symbol s on decision day D: mean daily volume (shares) over up to
  ``adv_lookback_days`` sessions strictly before D (at least ``min_adv_days``): past data only.
  Daily volume comes from ``daily_bars`` when given (a longer history), else from summing
  ``bars`` per session.
* **Decision time**: a whole minute drawn uniformly from [open, close - horizon] of D's regular
  session (early closes respected), so the order can run its full horizon before the close.
* **Horizon**: drawn uniformly from ``horizons`` (15/30/60/120 minutes), then lengthened to the
  shortest horizon in which the order is feasible at the participation cap with a margin:
  ``size_fraction * session_minutes * feasibility_margin / participation_cap`` minutes (at the
  session's average volume rate; margin 1.5 because early/late minutes are busier and mid-day
  ones quieter), and cut at the session's length. A desk does not give a 5%-of-ADV order
  15 minutes; without this, capped "market" orders would leave most of their shares unfilled
  and the comparison would measure the generator, not the strategies.
* **Side**: buy or sell with probability 1/2. **Symbol and day**: uniform over the (symbol,
  session) pairs that have bars and an ADV.

Same ``seed`` -> identical frame (one ``numpy.random.Generator``; draws in a fixed order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ
from research.strategies.parent_orders import PARENT_ORDER_COLUMNS, validate_parent_orders

DEFAULT_HORIZONS: tuple[int, ...] = (15, 30, 60, 120)


def _daily_volume(bars: pd.DataFrame) -> pd.DataFrame:
    """Wide frame of volume per session (index: naive session date, columns: symbol)."""
    day = bars["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()
    volume = bars.groupby([day.rename("date"), bars["symbol"]], observed=True)["volume"].sum()
    return volume.unstack("symbol").sort_index()


def past_adv(daily_volume: pd.DataFrame, lookback_days: int = 20,
             min_days: int = 5) -> pd.DataFrame:
    """ADV for a decision on each row's date from the ``lookback_days`` sessions before it.

    Row D holds mean volume over sessions D-lookback .. D-1 (NaN with fewer than ``min_days``).
    """
    return daily_volume.rolling(lookback_days, min_periods=min_days).mean().shift(1)


def sample_adv_fractions(rng: np.random.Generator, n: int, median: float = 0.005,
                         sigma: float = 1.2, cap: float = 0.10) -> np.ndarray:
    """``n`` log-normal fractions of ADV (median ``median``, log-sd ``sigma``) truncated at ``cap``."""
    from scipy.stats import norm

    if not 0 < median < cap:
        raise ValueError(f"need 0 < median_adv_fraction < max_adv_fraction, got {median}, {cap}")
    if sigma <= 0:
        raise ValueError(f"adv_sigma must be > 0, got {sigma}")
    mu = np.log(median)
    upper = norm.cdf((np.log(cap) - mu) / sigma)
    u = rng.uniform(0.0, upper, size=n)
    return np.exp(mu + sigma * norm.ppf(u))


def synthetic_parent_orders(bars: pd.DataFrame, n_orders: int, seed: int, *,
                            horizons: Sequence[int] = DEFAULT_HORIZONS,
                            median_adv_fraction: float = 0.005, adv_sigma: float = 1.2,
                            max_adv_fraction: float = 0.10, adv_lookback_days: int = 20,
                            min_adv_days: int = 5, daily_bars: pd.DataFrame | None = None,
                            id_prefix: str = "SYN", calendar: str = "XNYS",
                            participation_cap: float = 0.10,
                            feasibility_margin: float = 1.5) -> pd.DataFrame:
    """``n_orders`` seeded parent orders on the sessions and symbols of ``bars``.

    ``bars`` is a long frame in the bar schema (minute bars for the execution study). Returns
    the columns of :data:`~research.strategies.parent_orders.PARENT_ORDER_COLUMNS`, sorted by
    decision time, with ids ``<id_prefix>-000001``... See the module docstring for the
    distributions. Raises if no (symbol, session) has an ADV from enough past sessions.
    """
    if n_orders <= 0:
        raise ValueError(f"n_orders must be > 0, got {n_orders}")
    if not 1 <= min_adv_days <= adv_lookback_days:
        raise ValueError(f"need 1 <= min_adv_days <= adv_lookback_days, got {min_adv_days} "
                         f"and {adv_lookback_days}")
    horizons = np.asarray(sorted(set(int(h) for h in horizons)), dtype=np.int64)
    if len(horizons) == 0 or (horizons <= 0).any():
        raise ValueError(f"horizons must be positive minutes, got {list(horizons)}")
    from research.data.calendar import epoch_ns, sessions

    traded = _daily_volume(bars)
    volume = _daily_volume(daily_bars) if daily_bars is not None else traded
    adv = past_adv(volume, adv_lookback_days, min_adv_days).reindex(
        index=traded.index, columns=traded.columns)
    eligible = adv.notna().to_numpy() & traded.notna().to_numpy() & (adv.to_numpy() > 0)
    day_idx, sym_idx = np.nonzero(eligible)
    if len(day_idx) == 0:
        raise ValueError(f"no (symbol, session) has an ADV from at least {min_adv_days} earlier "
                         "sessions: pass more history (daily_bars) or lower min_adv_days")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(day_idx), size=n_orders)
    horizon = horizons[rng.integers(0, len(horizons), size=n_orders)]
    side = np.where(rng.random(n_orders) < 0.5, "buy", "sell").astype(object)
    fraction = sample_adv_fractions(rng, n_orders, median_adv_fraction, adv_sigma,
                                    max_adv_fraction)
    position = rng.random(n_orders)

    days = traded.index[day_idx[pick]]
    schedule = sessions(days.min(), days.max(), calendar).reindex(days)
    if schedule["open"].isna().any():
        missing = sorted({f"{d:%Y-%m-%d}" for d in days[schedule["open"].isna().to_numpy()]})
        raise ValueError(f"bars on non-session day(s) {missing[:5]}")
    open_ns = epoch_ns(schedule["open"])
    close_ns = epoch_ns(schedule["close"])
    minute_ns = 60 * 1_000_000_000
    session_minutes = (close_ns - open_ns) // minute_ns
    if not 0 < participation_cap <= 1:
        raise ValueError(f"participation_cap must be in (0, 1], got {participation_cap}")
    feasible = np.ceil(fraction * session_minutes * feasibility_margin / participation_cap)
    horizon = np.minimum(np.maximum(horizon, feasible.astype(np.int64)), session_minutes)
    room = session_minutes - horizon  # last start minute that fits the horizon
    if (room < 0).any():
        raise ValueError(f"horizon of {horizon[room < 0].max()} min is longer than a session")
    start_minute = np.floor(position * (room + 1)).astype(np.int64)
    decision = pd.to_datetime(open_ns + start_minute * minute_ns, utc=True).tz_convert(EXCHANGE_TZ)
    adv_shares = adv.to_numpy()[day_idx[pick], sym_idx[pick]]
    quantity = np.maximum(1, np.rint(fraction * adv_shares)).astype(np.int64)

    orders = pd.DataFrame({
        "order_id": "",
        "symbol": np.asarray(traded.columns, dtype=object)[sym_idx[pick]],
        "side": side,
        "quantity": quantity,
        "decision_time": decision,
        "horizon_minutes": horizon,
    })
    orders = orders.sort_values(["decision_time", "symbol"], kind="stable", ignore_index=True)
    orders["order_id"] = [f"{id_prefix}-{i:06d}" for i in range(1, n_orders + 1)]
    return validate_parent_orders(orders[list(PARENT_ORDER_COLUMNS)], "synthetic orders",
                                  calendar)


__all__ = ["DEFAULT_HORIZONS", "past_adv", "sample_adv_fractions", "synthetic_parent_orders"]
