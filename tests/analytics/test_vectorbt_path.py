"""The fast research path: what it trades, when, and that a grid is only many runs at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from research.analytics import (
    FlatCosts,
    InverseVolatilityParams,
    VectorbtPathInputError,
    backtest_target_weights,
    decision_rows,
    inverse_volatility_grid,
    inverse_volatility_targets,
    lookahead_dates,
)
from research.strategies import InverseVolatility

SYMBOLS = ["AAPL", "JPM", "KO", "PFE", "XOM"]


@pytest.fixture(scope="module")
def closes(sp500_closes) -> pd.DataFrame:
    return sp500_closes.loc["2019-01-01":"2020-12-31", SYMBOLS]


GRID = [InverseVolatilityParams(20, 5), InverseVolatilityParams(40, 21),
        InverseVolatilityParams(63, 21), InverseVolatilityParams(30, 10),
        InverseVolatilityParams(25, 1)]


def test_targets_are_the_inverse_volatility_strategy_decided_at_the_close(closes):
    weights = inverse_volatility_targets(closes, 20)
    assert weights.iloc[:20].isna().all().all() and weights.iloc[20:].notna().all().all()
    strategy = InverseVolatility(lookback_days=20)
    for t in (20, 57, 300, len(closes) - 2):
        # the strategy reads closes strictly before its decision date: the next session's
        expected = strategy.target_weights(closes, closes.index[t + 1])
        np.testing.assert_allclose(weights.iloc[t].to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_decisions_fall_on_multiples_of_the_period_from_a_full_window():
    assert decision_rows(100, InverseVolatilityParams(63, 21)).tolist() == [63, 84]
    assert decision_rows(100, InverseVolatilityParams(20, 30)).tolist() == [30, 60, 90]
    assert decision_rows(64, InverseVolatilityParams(63, 21)).tolist() == []  # 63 is the last


def test_a_decision_trades_at_the_next_close_with_its_costs(closes):
    """One decision, all in one stock, by hand: nothing moves on the decision's session; at the
    next close the book buys as many shares as the cash pays for, slippage and fees included."""
    t, cash = 100, 1_000_000.0
    decided = pd.DataFrame(np.nan, index=closes.index, columns=closes.columns)
    decided.iloc[t] = [0.0, 0.0, 1.0, 0.0, 0.0]  # all in KO
    costs = FlatCosts(slippage_bps=5.0, fee_bps=5.0)
    equity = backtest_target_weights(closes, {"ko": decided}, costs, cash).equity["ko"]
    ko = closes["KO"].to_numpy()
    shares = cash / (ko[t + 1] * 1.0005 * 1.0005)
    assert (equity.iloc[:t + 1] == cash).all()
    assert equity.iloc[t + 1] == pytest.approx(shares * ko[t + 1], rel=1e-12)
    assert equity.iloc[-1] == pytest.approx(shares * ko[-1], rel=1e-12)


def test_between_trades_the_equity_is_vectorbts_over_every_session(closes):
    """The path simulates only the sessions with trades and marks the book to market itself;
    vectorbt run over every session (sizes on the trading sessions, NaN elsewhere) must give the
    same daily value."""
    params = InverseVolatilityParams(30, 10)
    result = inverse_volatility_grid(closes, [params])
    decided = np.full(closes.shape, np.nan)
    rows = decision_rows(len(closes), params)
    decided[rows] = inverse_volatility_targets(closes, 30).to_numpy()[rows]
    executed = np.full(closes.shape, np.nan)
    executed[1:] = decided[:-1]
    full = vbt.Portfolio.from_orders(
        closes, executed, size_type="targetpercent", direction="longonly", fees=5e-4,
        slippage=5e-4, init_cash=1_000_000.0, cash_sharing=True, group_by=True,
        call_seq="auto", freq="1D")
    np.testing.assert_allclose(result.equity[(30, 10)].to_numpy(), full.value().to_numpy(),
                               rtol=1e-9, atol=0)
    metrics = result.metrics.loc[(30, 10)]
    average = full.value().mean()
    notional = (full.orders.size.values * full.orders.price.values).sum()
    assert metrics["turnover_annual"] == pytest.approx(
        notional / average / ((len(closes) - 1) / 252), rel=1e-9)


def test_a_grid_is_each_set_run_alone(closes):
    together = inverse_volatility_grid(closes, GRID, chunk_size=2)  # crosses chunk boundaries
    assert list(together.metrics.index) == [(p.lookback, p.rebalance_every) for p in GRID]
    for p in GRID:
        alone = inverse_volatility_grid(closes, [p])
        label = (p.lookback, p.rebalance_every)
        np.testing.assert_allclose(together.equity[label].to_numpy(),
                                   alone.equity[label].to_numpy(), rtol=1e-12, atol=0)
        pd.testing.assert_series_equal(together.metrics.loc[label], alone.metrics.loc[label],
                                       rtol=1e-12)
    # the sets really differ (a grid of copies could not tell a mix-up)
    assert together.metrics["final_equity"].nunique() == len(GRID)
    assert together.metrics.loc[(25, 1), "turnover_annual"] > together.metrics.loc[
        (63, 21), "turnover_annual"]


def test_prices_after_a_session_do_not_change_anything_up_to_it(closes):
    t = 250
    rng = np.random.default_rng(7)
    changed = closes.copy()
    changed.iloc[t + 1:] *= rng.uniform(0.8, 1.25, changed.iloc[t + 1:].shape)
    base = inverse_volatility_grid(closes, GRID)
    moved = inverse_volatility_grid(changed, GRID)
    np.testing.assert_array_equal(base.equity.iloc[:t + 1].to_numpy(),
                                  moved.equity.iloc[:t + 1].to_numpy())
    assert not np.allclose(base.equity.iloc[t + 1:], moved.equity.iloc[t + 1:])


def test_a_rule_that_reads_tomorrows_return_is_caught(closes):
    def inverse_vol(frame):
        return inverse_volatility_targets(frame, 20)

    def peeking(frame):  # all in the stock that rises most over the session it trades into
        ahead = frame.shift(-2) / frame.shift(-1) - 1  # close t+1 -> t+2: not known at t
        best = np.nan_to_num(ahead.to_numpy(), nan=-1.0).argmax(axis=1)
        weights = np.zeros(frame.shape)
        weights[np.arange(len(frame)), best] = 1.0
        weights[-2:] = np.nan
        return pd.DataFrame(weights, index=frame.index, columns=frame.columns)

    at = closes.index[250]
    assert lookahead_dates(inverse_vol, closes, at) == []
    # the decisions on the two sessions before the changed closes read them
    assert lookahead_dates(peeking, closes, at) == [closes.index[249], at]
    # and it is what would make such a backtest look good
    honest = backtest_target_weights(closes, {"x": inverse_vol(closes)}).metrics.loc["x"]
    cheat = backtest_target_weights(closes, {"x": peeking(closes)}).metrics.loc["x"]
    assert cheat["sharpe"] > 5 > honest["sharpe"]


def test_a_stale_price_window_is_refused_or_excluded_by_choice(sp500_closes):
    early = sp500_closes.iloc[:200]  # RRC's close does not move in early 1990
    with pytest.raises(VectorbtPathInputError, match="RRC's close did not move in the 63 "
                                                     "sessions to 1990-04-02"):
        inverse_volatility_grid(early, [InverseVolatilityParams(63, 21)])
    result = inverse_volatility_grid(early, [InverseVolatilityParams(63, 21)],
                                     zero_volatility="exclude")
    assert result.excluded["symbol"].unique().tolist() == ["RRC"]
    assert result.excluded["date"].iloc[0] == pd.Timestamp("1990-04-02")


def test_bad_input_is_refused(closes):
    holed = closes.copy()
    holed.iloc[10, 2] = np.nan
    with pytest.raises(VectorbtPathInputError, match="close of KO on 2019-01-16 is nan"):
        inverse_volatility_grid(holed, GRID)
    with pytest.raises(VectorbtPathInputError, match="listed twice"):
        inverse_volatility_grid(closes, [GRID[0], GRID[0]])
    with pytest.raises(VectorbtPathInputError, match="lookback must be an integer >= 2"):
        InverseVolatilityParams(1, 5)
    with pytest.raises(VectorbtPathInputError, match="slippage_bps must be finite and >= 0"):
        FlatCosts(slippage_bps=-1.0)
    partial = pd.DataFrame(np.nan, index=closes.index, columns=closes.columns)
    partial.iloc[5, 0] = 1.0
    with pytest.raises(VectorbtPathInputError, match="some symbols only"):
        backtest_target_weights(closes, {"p": partial})
    levered = pd.DataFrame(np.nan, index=closes.index, columns=closes.columns)
    levered.iloc[5] = 0.3
    with pytest.raises(VectorbtPathInputError, match="weights sum to 1.5 on 2019-01-09"):
        backtest_target_weights(closes, {"l": levered})
