"""Statistics of the intraday synthesiser on a few real sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.data import SynthParams, minute_to_daily, synthesize_minute_bars, validate_bars
from research.data.synth import volume_profile


def test_bars_validate_and_reproduce_real_closes_exactly(small_minute_bars, sp500_closes):
    assert validate_bars(small_minute_bars, "minute").ok
    daily = minute_to_daily(small_minute_bars)
    for row in daily.itertuples():
        real = sp500_closes.loc[row.timestamp.tz_localize(None).normalize(), row.symbol]
        assert row.close == real  # bit for bit, not approximately


def test_first_bar_opens_from_previous_real_close_path(small_minute_bars, sp500_closes):
    # Path continuity: each minute opens where the previous one closed (after the open gap).
    one = small_minute_bars[small_minute_bars["symbol"] == "JPM"]
    day = one[one["timestamp"].dt.day == 22]
    np.testing.assert_allclose(day["open"].to_numpy()[1:], day["close"].to_numpy()[:-1],
                               rtol=1e-12)


def test_same_seed_same_bars_and_symbol_independence(sp500_closes):
    a = synthesize_minute_bars(sp500_closes[["AAPL", "KO"]], "2022-06-01", "2022-06-03",
                               SynthParams(seed=5))
    b = synthesize_minute_bars(sp500_closes[["AAPL", "KO"]], "2022-06-01", "2022-06-03",
                               SynthParams(seed=5))
    pd.testing.assert_frame_equal(a, b)
    alone = synthesize_minute_bars(sp500_closes[["KO"]], "2022-06-01", "2022-06-03",
                                   SynthParams(seed=5))
    pd.testing.assert_frame_equal(a[a.symbol == "KO"].reset_index(drop=True), alone)
    c = synthesize_minute_bars(sp500_closes[["KO"]], "2022-06-01", "2022-06-03",
                               SynthParams(seed=6))
    assert not np.allclose(c["high"], alone["high"])


@pytest.fixture(scope="module")
def month(sp500_closes):
    return synthesize_minute_bars(sp500_closes[["AAPL", "PG", "RRC"]], "2022-03-01",
                                  "2022-03-31", SynthParams(seed=2))


def test_first_half_hour_volume_share_in_nyse_range(month):
    ts = month["timestamp"]
    minute = ts.dt.hour * 60 + ts.dt.minute
    key = [month["symbol"], ts.dt.normalize()]
    share = (month[minute <= 600].groupby(key)["volume"].sum()
             / month.groupby(key)["volume"].sum())
    assert 0.11 <= share.mean() <= 0.13
    # ...and the close is heavier than mid-day (U-shape).
    last = month[minute > 930].groupby(key)["volume"].sum() / month.groupby(key)["volume"].sum()
    mid = month[(minute > 720) & (minute <= 750)].groupby(key)["volume"].sum() / month.groupby(
        key)["volume"].sum()
    assert last.mean() > 2 * mid.mean()


def test_spread_widest_at_open_and_narrowing(month):
    liquid = month[month["symbol"] == "AAPL"]
    ts = liquid["timestamp"]
    minute = (ts.dt.hour * 60 + ts.dt.minute) - 570
    spread = (liquid["ask"] - liquid["bid"]) / ((liquid["ask"] + liquid["bid"]) / 2) * 1e4
    by_bucket = spread.groupby(minute // 30).median()
    assert by_bucket.iloc[0] > 1.8 * by_bucket.iloc[4]  # open vs 11:30-12:00
    assert by_bucket.iloc[0] == by_bucket.max()
    assert by_bucket.iloc[4] < 10  # a large cap: a few bps mid-day
    assert (liquid["bid"] < liquid["ask"]).all()
    assert ((liquid["bid"] <= liquid["close"]) & (liquid["close"] <= liquid["ask"])).all()


def test_ohlc_consistent(month):
    assert (month["high"] >= month[["open", "close"]].max(axis=1)).all()
    assert (month["low"] <= month[["open", "close"]].min(axis=1)).all()


def test_volume_profile_hits_its_shares_for_full_and_early_close_days():
    for n in (390, 210):
        w = volume_profile(n, 0.12, 0.16)
        assert w.sum() == pytest.approx(1.0)
        assert w[:30].sum() == pytest.approx(0.12)
        assert w[-30:].sum() == pytest.approx(0.16)


def test_missing_history_is_a_clear_error(sp500_closes):
    with pytest.raises(ValueError, match="session before"):
        synthesize_minute_bars(sp500_closes.loc[:"1990-01-05", ["AAPL"]], "1990-01-02",
                               "1990-01-05")
    with pytest.raises(ValueError, match="no real close"):
        synthesize_minute_bars(sp500_closes[["AAPL"]], "2022-12-20", "2022-12-30")
