"""Synthetic parent orders: schema, determinism, session timing, past-only ADV, sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from research.strategies import PARENT_ORDER_COLUMNS
from sim.orders import DEFAULT_HORIZONS, past_adv, sample_adv_fractions, synthetic_parent_orders


@pytest.fixture(scope="module")
def orders(small_minute_bars) -> pd.DataFrame:
    return synthetic_parent_orders(small_minute_bars, 400, seed=11, min_adv_days=2)


def test_schema_and_determinism(small_minute_bars, orders):
    assert list(orders.columns) == list(PARENT_ORDER_COLUMNS)
    assert orders["order_id"].is_unique and orders["order_id"].iloc[0] == "SYN-000001"
    again = synthetic_parent_orders(small_minute_bars, 400, seed=11, min_adv_days=2)
    pd.testing.assert_frame_equal(orders, again)
    other = synthetic_parent_orders(small_minute_bars, 400, seed=12, min_adv_days=2)
    assert not orders["quantity"].equals(other["quantity"])
    assert set(orders["side"]) == {"buy", "sell"}
    # Drawn from the set, or lengthened (never shortened) to be feasible at the cap.
    assert orders["horizon_minutes"].min() >= min(DEFAULT_HORIZONS)
    assert set(orders["horizon_minutes"]) & set(DEFAULT_HORIZONS)
    assert (orders["quantity"] > 0).all()


def test_decisions_leave_the_horizon_inside_the_session(orders):
    from research.data.calendar import sessions

    t = orders["decision_time"]
    sched = sessions(t.min().date(), t.max().date()).reindex(
        t.dt.tz_localize(None).dt.normalize())
    end = t + pd.to_timedelta(orders["horizon_minutes"], unit="min")
    assert (t.to_numpy() >= sched["open"].to_numpy()).all()
    assert (end.to_numpy() <= sched["close"].to_numpy()).all()
    assert (t.dt.second == 0).all()
    # the first session has no past volume: no order may be placed on it
    first_session = small_days(orders)[0]
    assert first_session > pd.Timestamp("2022-11-22")


def small_days(orders):
    return sorted(orders["decision_time"].dt.tz_localize(None).dt.normalize().unique())


def test_quantity_is_fraction_of_past_only_adv(small_minute_bars, orders):
    bars = small_minute_bars
    day = bars["timestamp"].dt.tz_localize(None).dt.normalize()
    daily = bars.groupby([day, bars["symbol"]])["volume"].sum()
    for _, order in orders.head(25).iterrows():
        d = order["decision_time"].tz_localize(None).normalize()
        past = daily.xs(order["symbol"], level=1)
        adv = past[past.index < d].tail(20).mean()
        fraction = order["quantity"] / adv
        assert 0 < fraction <= 0.10 + 1 / adv  # capped at 10% ADV (+ rounding)
    # Shocking volume on/after the decision day must not change that day's sizes.
    last = pd.Timestamp(small_days(orders)[-1])
    shocked = bars.copy()
    shocked.loc[(day >= last).to_numpy(), "volume"] *= 50
    again = synthetic_parent_orders(shocked, 400, seed=11, min_adv_days=2)
    pd.testing.assert_frame_equal(again, orders)


def test_past_adv_by_hand():
    volume = pd.DataFrame({"X": np.arange(1.0, 8.0)}, index=pd.bdate_range("2022-01-03",
                                                                            periods=7))
    adv = past_adv(volume, lookback_days=3, min_days=2)["X"].tolist()
    assert np.isnan(adv[0]) and np.isnan(adv[1])
    assert adv[2:] == [1.5, 2.0, 3.0, 4.0, 5.0]


def test_size_distribution_matches_the_documented_truncated_lognormal():
    rng = np.random.default_rng(0)
    x = sample_adv_fractions(rng, 200_000, median=0.005, sigma=1.2, cap=0.10)
    assert x.max() <= 0.10
    z = lambda q: (np.log(q) - np.log(0.005)) / 1.2  # noqa: E731
    total = norm.cdf(z(0.10))
    for q in (0.001, 0.005, 0.01, 0.05):
        assert np.mean(x < q) == pytest.approx(norm.cdf(z(q)) / total, abs=0.005)


def test_no_history_is_a_clear_error(small_minute_bars):
    with pytest.raises(ValueError, match="ADV from at least 5 earlier sessions"):
        synthetic_parent_orders(small_minute_bars, 10, seed=1)  # 5 sessions: none has 5 before
    with pytest.raises(ValueError, match="min_adv_days <= adv_lookback_days"):
        synthetic_parent_orders(small_minute_bars, 10, seed=1, min_adv_days=30)


def test_horizons_are_lengthened_until_feasible_at_the_participation_cap(small_minute_bars):
    from sim.orders import _daily_volume

    orders = synthetic_parent_orders(small_minute_bars, 300, seed=3, min_adv_days=2,
                                     median_adv_fraction=0.02, participation_cap=0.10)
    adv = past_adv(_daily_volume(small_minute_bars), 20, 2)
    day = orders["decision_time"].dt.tz_localize(None).dt.normalize()
    order_adv = np.array([adv.loc[d, s] for d, s in zip(day, orders["symbol"], strict=True)])
    fraction = orders["quantity"].to_numpy() / order_adv
    session = np.where(orders["decision_time"].dt.day == 25, 210, 390)
    need = np.ceil(fraction * session * 1.5 / 0.10 - 1e-9)
    ok = (orders["horizon_minutes"].to_numpy() >= np.minimum(need, session))
    assert ok.all()
    assert (orders["horizon_minutes"] > 120).any()  # 2%-of-ADV orders need more than 2 hours
