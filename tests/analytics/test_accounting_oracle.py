"""The replay's accounting against vectorbt, an independent engine, on the same share orders.

Semantics shared by construction: both engines are handed the *same* share quantities and fill
prices (no sizing inside either engine: sizing at the decision close vs at the fill is what
makes two backtesters disagree, not their accounting), per-order fees in dollars (vectorbt:
``fees`` as a fraction of the order value plus ``fixed_fees`` per order, the way Tiger's
per-share fee with a minimum has to be passed to it), and both mark positions at the close.
vectorbt is handed the orders by :mod:`tests.vectorbt_oracle` (refusing rather than shrinking
an order, so a cash check can never make it trade something else quietly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.analytics import AccountingInputError, account_fills
from research.domain import Fill, Side
from tests.vectorbt_oracle import portfolio_from_share_orders

FEE_RATE = 0.0005  # 5 bps of the order value
PER_SHARE, MINIMUM = 0.005, 1.0  # and a per-share fee with a per-order minimum


def random_orders(closes: pd.DataFrame, seed: int, trade_probability: float = 0.3):
    """Seeded long-only share orders (one per symbol per session at most) with fill prices
    within 0.3% of the close and per-order fees; sells never exceed the holding."""
    rng = np.random.default_rng(seed)
    n_rows, n_symbols = closes.shape
    size = np.full((n_rows, n_symbols), np.nan)
    price = closes.to_numpy() * (1 + rng.uniform(-0.003, 0.003, (n_rows, n_symbols)))
    held = np.zeros(n_symbols)
    for t in range(n_rows):
        for j in range(n_symbols):
            if rng.random() >= trade_probability:
                continue
            if held[j] > 0 and rng.random() < 0.45:
                quantity = -float(rng.integers(1, held[j] + 1))
            else:
                quantity = float(rng.integers(1, 400))
            size[t, j] = quantity
            held[j] += quantity
    fixed = np.where(np.isnan(size), 0.0, np.maximum(MINIMUM, PER_SHARE * np.abs(size)))
    return size, price, fixed


def as_fills(closes, size, price, fixed, seed) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(~np.isnan(size))
    minutes = rng.integers(1, 390, len(rows))  # some time in the regular session
    stamps = (pd.DatetimeIndex(closes.index[rows]).tz_localize("America/New_York")
              + pd.Timedelta(hours=9, minutes=30) + pd.to_timedelta(minutes, "min"))
    quantity = size[rows, cols]
    fill_price = price[rows, cols]
    return pd.DataFrame({
        "fill_id": [f"F{k}" for k in range(len(rows))],
        "timestamp": stamps,
        "symbol": closes.columns[cols],
        "side": np.where(quantity > 0, "buy", "sell"),
        "quantity": np.abs(quantity),
        "price": fill_price,
        "fees": FEE_RATE * np.abs(quantity) * fill_price + fixed[rows, cols],
    }).sample(frac=1.0, random_state=seed)  # booking must not depend on the fills' order


def vectorbt_portfolio(closes, size, price, fixed, init_cash):
    return portfolio_from_share_orders(closes, size, price, fixed, init_cash, FEE_RATE)


@pytest.mark.parametrize("seed", [0, 1])
def test_equity_agrees_with_vectorbt_to_1e_9(sp500_closes, seed):
    closes = sp500_closes.loc["2020-01-01":"2022-12-31", ["AAPL", "JPM", "KO", "RRC", "XOM"]]
    size, price, fixed = random_orders(closes, seed)
    init_cash = 1_000_000.0
    fills = as_fills(closes, size, price, fixed, seed)
    assert len(fills) > 500 and (fills["side"] == "sell").sum() > 100

    ours = account_fills(closes, fills, init_cash)
    theirs = vectorbt_portfolio(closes, size, price, fixed, init_cash)

    assert theirs.orders.count() == len(fills)  # vectorbt executed every order as given
    np.testing.assert_allclose(ours.equity.to_numpy(), theirs.value().to_numpy(), rtol=1e-9,
                               atol=0)
    np.testing.assert_allclose(ours.cash.to_numpy(), theirs.cash().to_numpy(), rtol=1e-9,
                               atol=1e-6)
    np.testing.assert_array_equal(ours.positions.to_numpy(), theirs.assets().to_numpy())
    assert ours.fees.sum() == pytest.approx(theirs.orders.fees.sum(), rel=1e-9)
    # the curve moved: a test on a flat curve could not fail
    assert ours.equity.max() / ours.equity.min() > 1.01


def test_short_positions_agree_with_vectorbt(sp500_closes):
    """Sells beyond the holding open shorts: a sale credits cash, the short is marked at the
    close (negative market value) in both engines."""
    closes = sp500_closes.loc["2021-01-01":"2022-12-31", ["AAPL", "JPM", "KO", "RRC", "XOM"]]
    rng = np.random.default_rng(5)
    trades = rng.random(closes.shape) < 0.3
    size = np.where(trades, rng.choice([-1, 1], closes.shape) * rng.integers(1, 300, closes.shape),
                    np.nan)
    price = closes.to_numpy() * (1 + rng.uniform(-0.003, 0.003, closes.shape))
    fixed = np.where(np.isnan(size), 0.0, np.maximum(MINIMUM, PER_SHARE * np.abs(size)))
    ours = account_fills(closes, as_fills(closes, size, price, fixed, 5), 1_000_000.0)
    theirs = vectorbt_portfolio(closes, size, price, fixed, 1_000_000.0)
    assert (ours.positions < 0).to_numpy().any()
    assert theirs.orders.count() == int(trades.sum())
    np.testing.assert_allclose(ours.equity.to_numpy(), theirs.value().to_numpy(), rtol=1e-9,
                               atol=0)
    np.testing.assert_array_equal(ours.positions.to_numpy(), theirs.assets().to_numpy())


def test_broker_fills_and_signed_quantities_book_the_same(sp500_closes):
    closes = sp500_closes.loc["2022-03-01":"2022-03-10", ["AAPL", "KO"]]
    at = pd.Timestamp("2022-03-02 10:15", tz="America/New_York")
    broker_fills = [
        Fill("f1", "c1", "AAPL", Side.BUY, 100, 165.0, at, fees=1.0),
        Fill("f2", "c2", "KO", Side.BUY, 50, 61.0, at, fees=1.0),
        Fill("f3", "c1", "AAPL", Side.SELL, 40, 170.0, at + pd.Timedelta(days=2), fees=1.0),
    ]
    signed = pd.DataFrame({"timestamp": [at, at, at + pd.Timedelta(days=2)],
                           "symbol": ["AAPL", "KO", "AAPL"], "quantity": [100, 50, -40],
                           "price": [165.0, 61.0, 170.0], "fees": [1.0, 1.0, 1.0]})
    a = account_fills(closes, broker_fills, 100_000.0)
    b = account_fills(closes, signed, 100_000.0)
    pd.testing.assert_frame_equal(a.positions, b.positions)
    pd.testing.assert_series_equal(a.equity, b.equity)
    # by hand on 2022-03-04 (two sessions on): 100,000 - 16,500 - 3,050 - 2 + 6,800 - 1 cash
    day = pd.Timestamp("2022-03-04")
    assert a.cash[day] == pytest.approx(87_247.0, rel=1e-15)
    assert a.equity[day] == pytest.approx(
        87_247.0 + 60 * closes.loc[day, "AAPL"] + 50 * closes.loc[day, "KO"], rel=1e-15)
    assert a.cash[pd.Timestamp("2022-03-01")] == 100_000.0  # nothing before the first fill
    assert a.traded_notional[day] == pytest.approx(6_800.0)
    # the account's metrics count every fill's notional and fees
    years = (len(closes) - 1) / 252
    assert a.metrics().turnover_annual == pytest.approx(
        (16_500 + 3_050 + 6_800) / a.equity.mean() / years, rel=1e-12)
    assert a.metrics().cost_drag_bps_annual == pytest.approx(
        3.0 / a.equity.mean() / years * 1e4, rel=1e-12)


def test_no_fills_leave_the_cash(sp500_closes):
    closes = sp500_closes.loc["2022-03-01":"2022-03-10", ["AAPL", "KO"]]
    account = account_fills(closes, [], 5_000.0)
    assert (account.equity == 5_000.0).all() and (account.positions == 0).all().all()


def test_intraday_bars_book_a_fill_on_the_first_close_at_or_after_it():
    stamps = pd.date_range("2022-03-01 09:31", periods=4, freq="1min", tz="America/New_York")
    closes = pd.DataFrame({"AAPL": [10.0, 11.0, 12.0, 13.0]}, index=stamps)
    fills = pd.DataFrame({"timestamp": [stamps[1] - pd.Timedelta(seconds=20), stamps[2]],
                          "symbol": ["AAPL", "AAPL"], "quantity": [1, 1],
                          "price": [10.5, 12.0], "fees": [0.0, 0.0]})
    account = account_fills(closes, fills, 100.0)
    assert account.positions["AAPL"].tolist() == [0, 1, 2, 2]
    assert account.equity.tolist() == [100.0, 100 - 10.5 + 11, 100 - 22.5 + 24, 100 - 22.5 + 26]


@pytest.mark.parametrize("change, message", [
    ({"symbol": "ZZZ"}, "fill row 1 .*symbol 'ZZZ' has no column"),
    ({"price": -1.0}, "fill row 1 .*price -1.0 must be finite and > 0"),
    ({"price": np.nan}, "fill row 1 .*price"),
    ({"fees": -0.5}, "fill row 1 .*fees -0.5 must be finite dollars >= 0"),
    ({"side": "short"}, "fill row 1 .*side 'short' must be one of"),
    ({"quantity": 0}, "fill row 1 .*quantity 0 must be finite and > 0"),
    ({"timestamp": pd.Timestamp("2022-03-05 10:00", tz="America/New_York")},
     "fill row 1: timestamp .* falls on 2022-03-05, which has no close"),
    ({"fill_id": "a"}, "fill row 1 .*fill_id 'a' is a duplicate"),
])
def test_bad_fills_are_refused_with_row_and_field(sp500_closes, change, message):
    closes = sp500_closes.loc["2022-03-01":"2022-03-10", ["AAPL", "KO"]]
    fills = pd.DataFrame({"fill_id": ["a", "b"],
                          "timestamp": pd.DatetimeIndex(["2022-03-02 10:00"] * 2,
                                                        tz="America/New_York"),
                          "symbol": ["AAPL", "KO"], "side": ["buy", "buy"], "quantity": [1, 2],
                          "price": [160.0, 60.0], "fees": [1.0, 1.0]})
    for field, value in change.items():
        fills[field] = fills[field].astype(object)
        fills.loc[1, field] = value
    with pytest.raises(AccountingInputError, match=message):
        account_fills(closes, fills, 10_000.0)


def test_a_held_symbol_without_a_close_is_an_error_not_a_stale_price(sp500_closes):
    closes = sp500_closes.loc["2022-03-01":"2022-03-10", ["AAPL", "KO"]].copy()
    closes.loc["2022-03-07", "KO"] = np.nan
    buy_ko = pd.DataFrame({"timestamp": [pd.Timestamp("2022-03-02")], "symbol": ["KO"],
                           "quantity": [5], "price": [60.0], "fees": [0.0]})
    with pytest.raises(AccountingInputError, match="KO is held .*no close on 2022-03-07"):
        account_fills(closes, buy_ko, 1_000.0)
    # not held: a missing close does not matter
    buy_aapl = buy_ko.assign(symbol="AAPL", price=160.0)
    assert np.isfinite(account_fills(closes, buy_aapl, 1_000.0).equity).all()


def test_cash_carries_no_rounding_drift_over_many_fills():
    """20,000 fills at prices with full mantissas, where a plain running float sum drifts
    (a cumulative sum of these flows misses the exact value on most days): cash equals the
    exact rational sum of the same flows, rounded once."""
    from fractions import Fraction

    rng = np.random.default_rng(3)
    days = pd.bdate_range("2024-01-01", periods=250)
    closes = pd.DataFrame({"A": 0.1, "B": 0.7}, index=days)
    n = 20_000
    fills = pd.DataFrame({
        "timestamp": days[np.sort(rng.integers(0, 250, n))],
        "symbol": rng.choice(["A", "B"], n),
        "quantity": rng.choice([-3, -1, 1, 2, 7], n),
        "fees": rng.uniform(0.005, 0.1, n),
        "price": rng.uniform(0.05, 0.8, n),
    })
    initial = 12_345.678
    account = account_fills(closes, fills, initial)
    exact = Fraction(initial)
    end_of_day = fills.groupby("timestamp").size().cumsum()
    flows = [-Fraction(float(q * p)) - Fraction(f)
             for q, p, f in zip(fills["quantity"], fills["price"], fills["fees"], strict=True)]
    done = 0
    for day, upto in end_of_day.items():
        exact += sum(flows[done:upto], Fraction(0))
        done = upto
        assert account.cash[day] == float(exact), day
