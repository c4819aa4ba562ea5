"""Daily volatility when daily history is short: 5-minute realised volatility from the intraday
bars, and the model saying which estimator it used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.costs import CostModel
from research.costs._volatility import intraday_realised_vol

NY = "America/New_York"


def _minute_bars(days: list[str], daily_vol: float, seed: int, *, drop_share: float = 0.0,
                 close_at: dict | None = None, overnight_vol: float = 0.0) -> pd.DataFrame:
    """One symbol's minute bars: a driftless log random walk with ``daily_vol`` open to close
    (constant per-minute variance), minutes dropped at random like a thin real feed."""
    rng = np.random.default_rng(seed)
    frames, log_p = [], np.log(100.0)
    for day in days:
        close = (close_at or {}).get(day, "16:00")
        stamps = pd.date_range(f"{day} 09:31", f"{day} {close}", freq="1min", tz=NY)
        n = len(stamps)
        log_p += rng.normal(0.0, overnight_vol)
        open_ = np.exp(log_p)
        path = log_p + np.cumsum(rng.normal(0.0, daily_vol / np.sqrt(390.0), n))
        closes = np.exp(path)
        opens = np.r_[open_, closes[:-1]]
        frame = pd.DataFrame({"timestamp": stamps, "symbol": "Q", "open": opens,
                              "high": np.maximum(opens, closes), "low": np.minimum(opens, closes),
                              "close": closes, "volume": 1000.0})
        keep = rng.random(n) >= drop_share
        keep[[0, -1]] = True
        frames.append(frame[keep])
        log_p = path[-1]
    return pd.concat(frames, ignore_index=True)


def _realised(bars: pd.DataFrame) -> tuple[float, int]:
    ts = pd.DatetimeIndex(bars["timestamp"])
    return intraday_realised_vol(bars.assign(_ts=ts, _day=ts.normalize()), 1.0)


def test_realised_vol_recovers_the_open_to_close_volatility():
    days = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2023-03-06", periods=20)]
    vol, n = _realised(_minute_bars(days, 0.02, seed=1))
    assert n == 20 * 78
    # 1,560 five-minute returns: the estimate's relative std is about 1/sqrt(2 x 1560) = 1.8%
    assert vol == pytest.approx(0.02, rel=0.06)


def test_missing_minutes_and_an_early_close_do_not_bias_it():
    days = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2023-03-06", periods=20)]
    full, _ = _realised(_minute_bars(days, 0.02, seed=2))
    thin, _ = _realised(_minute_bars(days, 0.02, seed=2, drop_share=0.1))
    assert thin == pytest.approx(full, rel=0.05)  # same path, a tenth of the minutes missing
    short = {d: "13:00" for d in days}  # 210-minute sessions, scaled to a full day
    vol, n = _realised(_minute_bars(days, 0.02, seed=3, close_at=short))
    assert n == 20 * 42 and vol == pytest.approx(0.02, rel=0.08)


def test_too_few_intraday_returns_give_no_estimate():
    bars = _minute_bars(["2023-03-06"], 0.02, seed=4).iloc[:30]  # half an hour: 6 returns
    vol, n = _realised(bars)
    assert n == 6 and np.isnan(vol)


def test_one_session_of_history_uses_intraday_bars_and_says_so():
    model = CostModel().fit(_minute_bars(["2023-03-06"], 0.02, seed=5))
    assert model.daily_vol_method_["Q"] == "intraday_realised_5min"
    assert model.daily_vol_["Q"] == pytest.approx(0.02, rel=0.3)  # 78 returns: ~8% std


def test_enough_daily_history_keeps_close_to_close():
    days = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2023-03-06", periods=12)]
    bars = _minute_bars(days, 0.02, seed=6, overnight_vol=0.01)
    model = CostModel().fit(bars)
    assert model.daily_vol_method_["Q"] == "daily_close_to_close"
    last = bars.assign(day=bars["timestamp"].dt.date).groupby("day")["close"].last()
    assert model.daily_vol_["Q"] == pytest.approx(np.std(np.diff(np.log(last)), ddof=1))
    # below the threshold the same bars give the intraday estimate (overnight excluded)
    short = CostModel(vol_min_daily_returns=12).fit(bars)
    assert short.daily_vol_method_["Q"] == "intraday_realised_5min"


def test_no_estimate_is_named_none():
    one_bar = _minute_bars(["2023-03-06"], 0.02, seed=7).iloc[:1]
    model = CostModel().fit(one_bar)
    assert model.daily_vol_method_["Q"] == "none" and np.isnan(model.daily_vol_["Q"])
