"""CostModel: output contract and units, input validation, strategy arithmetic, fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.costs import (
    ALGORITHM_CODES,
    CostModel,
    TimeOfDayProfile,
    abdi_ranaldo,
    default_spread_profile,
    optimal_participation,
    square_root_impact,
)

FLAT = TimeOfDayProfile(np.array([0.0, 390.0]), np.array([1.0]), "flat")
COST_COLUMNS = ["spread", "temporary_impact", "permanent_impact", "timing_risk",
                "opportunity_cost", "fees", "total"]


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize("law", ["square_root", "almgren_2005"])
def test_predict_shape_and_units(orders, market, law):
    out = CostModel(impact_law=law).predict(orders, market)
    assert list(out.index) == list(orders["order_id"]) and out.index.name == "order_id"
    notional = orders["quantity"].to_numpy() * market.loc[orders["symbol"], "price"].to_numpy()
    np.testing.assert_allclose(out["notional_usd"], notional)
    for name in COST_COLUMNS:
        np.testing.assert_allclose(out[f"{name}_usd"], out[f"{name}_bps"] * notional / 1e4)
    parts = out[[f"{c}_bps" for c in COST_COLUMNS if c not in ("timing_risk", "total")]]
    np.testing.assert_allclose(out["total_bps"], parts.sum(axis=1))
    assert out[[f"{c}_bps" for c in COST_COLUMNS]].notna().all().all()
    assert (out["timing_risk_bps"] >= 0).all() and (out["fees_bps"] > 0).all()
    assert out["algorithm"].tolist() == orders["algorithm"].tolist()
    assert ((out["fill_probability"] > 0) & (out["fill_probability"] <= 1)).all()


def test_predict_arrays_is_what_predict_wraps(orders, market):
    model = CostModel()
    frame = model.predict(orders, market)
    m = market.loc[orders["symbol"]]
    start = (orders["start_time"].dt.hour * 60 + orders["start_time"].dt.minute - 570).to_numpy()
    est = model.predict_arrays(
        quantity=orders["quantity"].to_numpy(float), price=m["price"].to_numpy(),
        adv=m["adv"].to_numpy(), daily_vol=m["daily_vol"].to_numpy(),
        spread_bps=m["spread_bps"].to_numpy(),
        algorithm=orders["algorithm"].map(ALGORITHM_CODES).to_numpy(),
        is_sell=(orders["side"] == "sell").to_numpy(), start_minute=start.astype(float),
        horizon_minutes=orders["horizon_minutes"].to_numpy(float),
        limit_offset_bps=orders["limit_offset_bps"].fillna(0.0).to_numpy(),
        fees_on=pd.Timestamp("2024-06-03"))
    for name in ("spread_bps", "temporary_impact_bps", "timing_risk_bps", "fees_bps",
                 "total_bps", "duration_minutes"):
        np.testing.assert_allclose(getattr(est, name), frame[name].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(est.usd("total_bps"), frame["total_usd"])


def test_fees_follow_each_orders_date(market):
    sells = pd.DataFrame({
        "order_id": ["old", "new"], "symbol": "BBB", "side": "sell", "quantity": 10_000,
        "algorithm": "market",
        "start_time": pd.to_datetime(["2019-03-01 10:00", "2019-05-01 10:00"]).tz_localize(
            "America/New_York"),
        "horizon_minutes": 30})
    out = CostModel().predict(sells, market)
    # $2,000,000 sold: SEC fee 13.00 vs 20.70 per million -> $15.40 apart = 0.077 bps
    diff_usd = out.loc["new", "fees_usd"] - out.loc["old", "fees_usd"]
    assert diff_usd == pytest.approx(2 * (20.70 - 13.00), abs=1e-9)


# --------------------------------------------------------------------------- validation
def _bad(orders, **changes):
    bad = orders.copy()
    for col, (row, value) in changes.items():
        bad[col] = bad[col].astype(object) if isinstance(value, str) else bad[col]
        bad.loc[row, col] = value
    return bad


@pytest.mark.parametrize("column, value, message", [
    ("quantity", -100, "quantity must be a positive"),
    ("quantity", 0, "quantity must be a positive"),
    ("horizon_minutes", 0, "horizon_minutes must be positive"),
    ("horizon_minutes", -5, "horizon_minutes must be positive"),
    ("side", "hold", "side must be 'buy' or 'sell'"),
    ("algorithm", "sniper", "algorithm must be one of"),
    ("symbol", "ZZZ", "unknown symbol"),
])
def test_bad_orders_name_the_order(orders, market, column, value, message):
    with pytest.raises(ValueError, match=message) as err:
        CostModel().predict(_bad(orders, **{column: (4, value)}), market)
    assert "'ord-4'" in str(err.value)
    assert "'ord-3'" not in str(err.value)


@pytest.mark.parametrize("column, value, message", [
    ("adv", 0.0, "adv must be a positive"),
    ("price", np.nan, "price must be a positive"),
    ("daily_vol", -0.01, "daily_vol must be"),
    ("spread_bps", np.nan, "spread_bps must be"),
])
def test_bad_market_state_names_the_orders(orders, market, column, value, message):
    bad_market = market.copy()
    bad_market.loc["CCC", column] = value
    with pytest.raises(ValueError, match=message) as err:
        CostModel().predict(orders, bad_market)
    text = str(err.value)
    assert "'ord-2' (CCC)" in text and "'ord-5' (CCC)" in text and "'ord-0'" not in text


def test_structural_errors(orders, market):
    with pytest.raises(ValueError, match="duplicate order_id"):
        CostModel().predict(pd.concat([orders, orders.iloc[:1]]), market)
    with pytest.raises(ValueError, match="lack required column"):
        CostModel().predict(orders.drop(columns=["horizon_minutes"]), market)
    with pytest.raises(ValueError, match="impact_law"):
        CostModel(impact_law="linear").predict(orders, market)


def test_fast_path_errors_name_the_order():
    model = CostModel()
    kw = dict(price=np.array([10.0, 20.0]), adv=np.array([1e6, 0.0]),
              daily_vol=np.array([0.02, 0.02]), spread_bps=np.array([5.0, 5.0]),
              algorithm=np.array([0, 2]), is_sell=np.array([False, True]),
              start_minute=np.array([10.0, 10.0]), horizon_minutes=np.array([30.0, 30.0]),
              limit_offset_bps=np.zeros(2))
    with pytest.raises(ValueError, match=r"order 'b': adv must be a positive"):
        model.predict_arrays(quantity=np.array([100.0, 100.0]), order_ids=["a", "b"], **kw)
    with pytest.raises(ValueError, match=r"order #0: quantity must be"):
        model.predict_arrays(quantity=np.array([-1.0, 100.0]), **kw)


# ---------------------------------------------------------------------- strategy logic
def _one(strategy, *, quantity=10_000, horizon=60.0, offset=np.nan, start="10:00", **model_kw):
    order = pd.DataFrame({
        "order_id": ["x"], "symbol": ["S"], "side": ["buy"], "quantity": [quantity],
        "algorithm": [strategy],
        "start_time": [pd.Timestamp(f"2024-06-03 {start}", tz="America/New_York")],
        "horizon_minutes": [horizon], "limit_offset_bps": [offset]})
    market = pd.DataFrame({"price": [50.0], "adv": [1e6], "daily_vol": [0.02],
                           "spread_bps": [10.0]}, index=["S"])
    params = {"fee_schedule": "zero", "spread_profile": FLAT, "volume_profile": FLAT, **model_kw}
    return CostModel(**params).predict(order, market).iloc[0]


def test_market_order_costs_half_spread_plus_impact():
    row = _one("market")
    assert row["spread_bps"] == pytest.approx(5.0)
    assert row["temporary_impact_bps"] == pytest.approx(square_root_impact(10_000, 1e6, 0.02))
    assert row["timing_risk_bps"] == pytest.approx(200 * np.sqrt(1 / 390 / 3))


def test_twap_timing_risk_and_spread_profile_weighting():
    row = _one("twap", horizon=195.0)
    assert row["timing_risk_bps"] == pytest.approx(200 * np.sqrt(0.5 / 3))
    u_shape = default_spread_profile()
    twap = _one("twap", horizon=60, start="09:30", spread_profile=u_shape)
    # the first hour's time-average spread multiplier, from the profile's own integral
    expected = 5.0 * float(u_shape.window_mean(0.0, 60.0))
    assert twap["spread_bps"] == pytest.approx(expected)
    assert expected > 5.0 * 1.4  # the open is expensive


def test_pov_duration_and_participation():
    row = _one("pov", quantity=20_000, horizon=390, pov_rate=0.05)
    # 2% of ADV at 5% participation = 0.4 days of volume = 156 minutes on a flat profile
    assert row["duration_minutes"] == pytest.approx(156.0)
    assert row["participation"] == pytest.approx(0.05)
    assert not row["exceeds_participation_cap"]
    late = _one("pov", quantity=20_000, horizon=60, pov_rate=0.05)
    assert late["exceeds_participation_cap"]  # cannot finish within the hour


def test_is_uses_the_optimal_participation():
    row = _one("is", quantity=50_000, horizon=390, impact_law="almgren_2005",
               risk_aversion=1e-6)
    plan = optimal_participation(50_000, 1e6, 0.02, 50.0, 1.0, risk_aversion=1e-6)
    assert row["participation"] == pytest.approx(plan.rate[()])
    assert row["duration_minutes"] == pytest.approx(plan.duration_days[()] * 390)


def test_vwap_flagged_above_the_cap():
    ok = _one("vwap", quantity=20_000, horizon=390)  # 2% of a day's volume
    over = _one("vwap", quantity=20_000, horizon=39)  # 2% in a tenth of a day = 20%
    assert not ok["exceeds_participation_cap"]
    assert over["exceeds_participation_cap"] and over["participation"] == pytest.approx(0.2)


def test_limit_order_matches_exact_simulation():
    """Closed-form fill probability, opportunity cost and risk of a resting buy limit against
    an exact simulation of (terminal move, running minimum) of a Brownian mid."""
    offset, spread, sigma_bps, horizon = 5.0, 10.0, 200.0, 60.0
    row = _one("limit", horizon=horizon, offset=offset, quantity=1_000)
    market_at_end = _one("market", quantity=1_000)
    cleanup = market_at_end["spread_bps"] + market_at_end["temporary_impact_bps"]

    rng = np.random.default_rng(11)
    n = 1_000_000
    s = sigma_bps * np.sqrt(horizon / 390)
    x_t = rng.normal(0.0, s, n)  # mid move in bps, up = against a buyer
    # minimum of a Brownian bridge from 0 to x_t (exact inverse-CDF sampling)
    minimum = 0.5 * (x_t - np.sqrt(x_t**2 - 2 * s**2 * np.log(rng.uniform(size=n))))
    d = offset + spread / 2  # limit_queue_half_spreads = 1: the ask must come down to the limit
    filled = minimum <= -d
    cost = np.where(filled, -offset, x_t + cleanup)

    assert row["fill_probability"] == pytest.approx(filled.mean(), abs=2e-3)
    assert row["opportunity_cost_bps"] == pytest.approx(np.mean(np.where(filled, 0, x_t)),
                                                        abs=0.15)
    assert row["total_bps"] == pytest.approx(cost.mean(), abs=0.15)
    assert row["timing_risk_bps"] == pytest.approx(cost.std(), rel=0.01)


def test_limit_without_cleanup_and_marketable_limits():
    cancel = _one("limit", offset=5.0, limit_cleanup=False)
    assert cancel["temporary_impact_bps"] == 0.0
    assert cancel["spread_bps"] == pytest.approx(-5.0 * cancel["fill_probability"])
    with_fees = _one("limit", offset=5.0, limit_cleanup=False, fee_schedule="tiger_us")
    one_order = _one("market", fee_schedule="tiger_us")["fees_bps"]
    assert with_fees["fees_bps"] == pytest.approx(with_fees["fill_probability"] * one_order)
    crossing = _one("limit", offset=-6.0)  # beyond the far touch (half spread 5 bps)
    assert crossing["total_bps"] == pytest.approx(_one("market")["total_bps"])


def test_compare_algorithms_ranks_each_order(orders, market):
    out = CostModel().compare_algorithms(orders.iloc[:3], market)
    assert out.index.names == ["order_id", "algorithm"] and len(out) == 3 * 6
    for _, group in out.groupby(level="order_id"):
        assert sorted(group["rank"]) == list(range(1, 7))
        best = group["objective_usd"].idxmin()
        assert group.loc[best, "rank"] == 1
    single = CostModel().predict(orders.iloc[:3].assign(algorithm="vwap"), market)
    vwap = out.xs("vwap", level="algorithm")
    np.testing.assert_allclose(vwap["total_bps"], single["total_bps"])


def test_participation_plan_minimises_the_objective():
    q, adv, sigma, price, lam, eta, beta = 80_000, 1e6, 0.02, 40.0, 2e-6, 0.142, 0.6
    plan = optimal_participation(q, adv, sigma, price, 2.0, risk_aversion=lam)
    grid = np.linspace(0.04, 0.10, 20_001)  # from the finish-in-time rate 0.08/2 to the cap
    n, u = q * price, q / adv
    objective = n * eta * sigma * grid**beta + lam * (sigma * n) ** 2 * u / (3 * grid)
    assert plan.rate[()] == pytest.approx(grid[np.argmin(objective)], abs=1e-5)
    assert plan.feasible[()]
    tight = optimal_participation(q, adv, sigma, price, 0.5, risk_aversion=lam)
    assert not tight.feasible[()] and tight.rate[()] == pytest.approx(0.10)


# ------------------------------------------------------------------------------- fit
def _intraday_bars(days=30, spread_bps=(4.0, 20.0), seed=0):
    """Minute bars with quotes whose spread follows the default U profile exactly."""
    rng = np.random.default_rng(seed)
    profile = default_spread_profile()
    sessions = pd.bdate_range("2024-03-04", periods=days)
    minutes = np.arange(1, 391)
    mult = profile.at(minutes - 0.5)
    frames = []
    for sym, level in zip(["AAA", "BBB"], spread_bps, strict=True):
        for day in sessions:
            stamps = (pd.Timestamp(day).tz_localize("America/New_York")
                      + pd.Timedelta(hours=9, minutes=30) + pd.to_timedelta(minutes, "min"))
            mid = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, 390)))
            half = 0.5 * level * 1e-4 * mult * mid
            frames.append(pd.DataFrame({
                "timestamp": stamps, "symbol": sym, "open": mid, "high": mid * 1.0005,
                "low": mid * 0.9995, "close": mid, "volume": 1000.0, "bid": mid - half,
                "ask": mid + half}))
    return pd.concat(frames, ignore_index=True)


def test_fit_learns_spread_level_profile_and_state():
    bars = _intraday_bars()
    model = CostModel(profile_bucket_minutes=5).fit(bars)  # the default profile's grid
    assert model.spread_method_.tolist() == ["quotes", "quotes"]
    # session-average quoted spread = level x (time-mean of a mean-1 profile) = level
    np.testing.assert_allclose(model.spread_bps_.to_numpy(), [4.0, 20.0], rtol=2e-3)
    probe = np.arange(0.5, 390, 5.0)
    np.testing.assert_allclose(model.spread_profile_.at(probe),
                               default_spread_profile().at(probe), rtol=1e-3)
    assert model.adv_.tolist() == [390_000.0, 390_000.0]
    assert model.daily_vol_.gt(0).all()
    # a fitted model prices orders with no market frame at all
    order = pd.DataFrame({"order_id": ["o"], "symbol": ["BBB"], "side": ["buy"],
                          "quantity": [100], "algorithm": ["market"],
                          "start_time": [pd.Timestamp("2024-05-01 12:00", tz="America/New_York")],
                          "horizon_minutes": [10]})
    out = model.predict(order)
    assert out.loc["o", "spread_bps"] == pytest.approx(10.0 * model.spread_profile_.at(150.0),
                                                       rel=1e-9)


def test_fit_without_quotes_uses_bar_estimators(simulate_ohlc):
    o, h, low, c = simulate_ohlc(300, spread=0.01, daily_vol=0.02, seed=3)
    stamps = pd.bdate_range("2023-01-02", periods=300).tz_localize("America/New_York") + \
        pd.Timedelta(hours=16)
    bars = pd.DataFrame({"timestamp": stamps, "symbol": "Q", "open": o, "high": h, "low": low,
                         "close": c, "volume": 1e6})
    model = CostModel(spread_source="abdi_ranaldo", spread_lookback_days=250).fit(bars)
    assert model.spread_method_["Q"] == "abdi_ranaldo"
    assert model.spread_bps_["Q"] == pytest.approx(
        1e4 * abdi_ranaldo(h[-250:], low[-250:], c[-250:]))
    assert model.daily_vol_["Q"] == pytest.approx(np.std(np.diff(np.log(c))[-63:], ddof=1))


def test_from_settings_uses_the_config_defaults():
    from research.config import CostSettings

    model = CostModel.from_settings(CostSettings(sqrt_impact_y=0.55), max_participation=0.2)
    assert model.sqrt_impact_y == 0.55 and model.max_participation == 0.2
    assert model.impact_law == "square_root" and model.fee_schedule == "tiger_us"


def test_predict_accepts_arrays_and_matches_the_frame_path():
    import numpy as np

    from research.costs import ALGORITHM_CODES, CostModel

    model = CostModel()
    arrays = dict(
        quantity=np.array([1_000.0, 50_000.0]), price=np.array([100.0, 20.0]),
        adv=np.array([5e6, 1e6]), daily_vol=np.array([0.02, 0.03]),
        spread_bps=np.array([3.0, 8.0]),
        algorithm=np.array([ALGORITHM_CODES["market"], ALGORITHM_CODES["twap"]], dtype=np.int64),
        is_sell=np.array([False, True]), start_minute=np.array([30.0, 200.0]),
        horizon_minutes=np.array([1.0, 60.0]), limit_offset_bps=np.zeros(2),
    )
    est = model.predict(arrays)
    direct = model.predict_arrays(**arrays)
    np.testing.assert_array_equal(est.total_bps, direct.total_bps)
    assert est.total_bps.shape == (2,) and np.all(est.total_bps > 0)


def _daily_long(days: pd.DatetimeIndex, closes: np.ndarray, volume: np.ndarray,
                symbols: list[str]) -> pd.DataFrame:
    """Long daily bars (stamped at 16:00 New York) of wide closes and volumes."""
    stamps = (days + pd.Timedelta(hours=16)).tz_localize("America/New_York")
    k = len(symbols)
    c = closes.ravel()
    return pd.DataFrame({"timestamp": np.repeat(stamps, k), "symbol": np.tile(symbols, len(days)),
                         "open": c, "high": c * 1.01, "low": c * 0.99, "close": c,
                         "volume": volume.ravel()})


def test_refresh_state_is_a_refit_of_the_volatility_and_adv_on_the_longer_history():
    """Fitted on 100 sessions, then refreshed with 200: the daily volatility (63 returns) and
    the ADV (21 sessions) are those a fit on the 200 sessions gives; the spread stays the
    first fit's. A symbol whose window is too short keeps its fitted values."""
    from research.costs import CostModel

    rng = np.random.default_rng(11)
    days = pd.bdate_range("2021-01-04", periods=200)
    symbols = ["AAA", "BBB"]
    closes = 50 * np.exp(np.cumsum(rng.normal(0, [0.01, 0.03], (200, 2)), axis=0))
    volume = rng.integers(1_000_000, 5_000_000, (200, 2)).astype(float)
    early = CostModel().fit(_daily_long(days[:100], closes[:100], volume[:100], symbols))
    full = CostModel().fit(_daily_long(days, closes, volume, symbols))
    spread = early.spread_bps_.copy()
    wide_c = pd.DataFrame(closes, index=days, columns=symbols)
    wide_v = pd.DataFrame(volume, index=days, columns=symbols)
    early.refresh_state(wide_c, wide_v)
    pd.testing.assert_series_equal(early.daily_vol_, full.daily_vol_, rtol=1e-13)
    pd.testing.assert_series_equal(early.adv_, full.adv_, rtol=1e-13)
    pd.testing.assert_series_equal(early.last_price_, full.last_price_, rtol=0)
    pd.testing.assert_series_equal(early.spread_bps_, spread)
    assert early.refreshed_through_ == days[-1]
    assert not np.allclose(early.adv_, CostModel().fit(
        _daily_long(days[:100], closes[:100], volume[:100], symbols)).adv_)

    short = CostModel().fit(_daily_long(days[:100], closes[:100], volume[:100], symbols))
    before = (short.daily_vol_.copy(), short.adv_.copy())
    short.refresh_state(wide_c.iloc[-5:], wide_v.iloc[-5:])  # 4 returns, 5 volumes: too few
    pd.testing.assert_series_equal(short.daily_vol_, before[0])
    pd.testing.assert_series_equal(short.adv_, before[1])
    with pytest.raises(ValueError, match="not fitted"):
        CostModel().refresh_state(wide_c, wide_v)
