"""The replay driver: a run config traded through the trading loop over the simulated broker,
for every execution algorithm, across sessions (Thanksgiving week: a holiday and an early
close), with the broker's book and the loop's book in agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings

ALGORITHMS = ("market", "limit", "twap", "vwap", "pov", "is")
HISTORY_END = pd.Timestamp("2022-11-21")  # the cost model sees the sessions before it only


def config_for(algorithm: str, **execution) -> RunConfig:
    return RunConfig(
        name="replay",
        universe={"symbols": ["AAPL", "JPM", "RRC"]},
        strategy={"kind": "inverse_volatility", "rebalance": "daily", "lookback_days": 20,
                  "capital": 2e6},
        execution={"algorithm": algorithm, "horizon_minutes": 30, **execution},
        # limits that do not bind: these tests are about execution (risk: tests/trading)
        risk=LIMITS_OFF,
    )


@pytest.fixture(scope="module")
def split_bars(sp500_closes):
    from research.data import SynthParams, synthesize_minute_bars

    bars = synthesize_minute_bars(sp500_closes[["AAPL", "JPM", "RRC"]], "2022-11-01",
                                  "2022-11-28", SynthParams(seed=1))
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(
        None).dt.normalize()
    return bars[day < HISTORY_END], bars[day >= HISTORY_END]


@pytest.fixture(scope="module")
def cost_model(split_bars):
    from research.costs import CostModel

    return CostModel.from_settings(Settings().costs).fit(split_bars[0])


def replay(algorithm, split_bars, cost_model, sp500_closes, **execution):
    from sim.driver import ReplayDriver

    closes = sp500_closes[["AAPL", "JPM", "RRC"]]
    closes = closes.loc[closes.index < HISTORY_END]
    driver = ReplayDriver(config_for(algorithm, **execution), Settings(), split_bars[1],
                          daily_closes=closes, cost_model=cost_model)
    return driver, driver.run()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_completes_in_the_replay(algorithm, split_bars, cost_model,
                                                sp500_closes):
    driver, loop = replay(algorithm, split_bars, cost_model, sp500_closes)
    e = loop.engine
    sessions = {d["session"] for d in loop.decisions}
    # every session, but the 24th (Thanksgiving); the 25th closes at 13:00
    assert sessions == {"2022-11-21", "2022-11-22", "2022-11-23", "2022-11-25", "2022-11-28"}
    assert e.parents and not loop.refused
    for pid, ps in e.parents.items():
        assert ps.parent.algorithm.value == algorithm
        assert ps.done, pid
        # a session's parents fill completely; the early close (13:00) leaves no parent open
        assert ps.filled == ps.parent.quantity, (pid, ps.done_reason, dict(ps.local_rejects))
    held = {s: p.quantity for s, p in driver.broker.positions().items()}
    assert held == loop.book()
    fills = driver.broker.fills()
    assert sum(f.quantity for f in fills) == sum(c.filled_quantity
                                                 for c in e.children.values())


def test_each_session_is_decided_on_the_closes_before_it(split_bars, cost_model, sp500_closes):
    """The 25th is decided on the 23rd's last replayed prices (the loop closes each session it
    traded; in the simulated market they carry the run's own permanent impact), not on a
    value of the daily file it was started with."""
    driver, loop = replay("twap", split_bars, cost_model, sp500_closes)
    assert loop.closes.index[0] < HISTORY_END  # started with closes before the replay only
    stamps = pd.DatetimeIndex(driver.replay.timestamps)
    last_of_23rd = int(np.flatnonzero(stamps.day == 23)[-1])
    bar_close = driver.replay.close[last_of_23rd]
    row = loop.closes.loc[pd.Timestamp("2022-11-23"), list(driver.replay.symbols)].to_numpy()
    # the bar's close moved by this run's own permanent impact (a few bps at most here)
    np.testing.assert_allclose(row, bar_close, rtol=2e-4)
    weights_25th = next(d for d in loop.decisions if d["session"] == "2022-11-25")
    assert weights_25th["bar"] == last_of_23rd + 1  # decided on the 25th's first bar


def test_parents_and_their_parameters_come_from_the_policy(split_bars, cost_model,
                                                           sp500_closes):
    _, loop = replay("limit", split_bars, cost_model, sp500_closes, limit_offset_bps=2.0,
                     limit_cleanup_minutes=10)
    for ps in loop.engine.parents.values():
        assert ps.parent.horizon_bars == 30
        assert ps.parent.params == {"offset_bps": 2.0, "tif_bars": 20,
                                    "fallback_to_market": True}
    _, loop = replay("pov", split_bars, cost_model, sp500_closes, pov_rate=0.05)
    assert {ps.parent.params["rate"] for ps in loop.engine.parents.values()} == {0.05}


def test_same_inputs_same_orders(split_bars, cost_model, sp500_closes):
    def orders(loop):
        return [(c.client_order_id, c.quantity, c.order_type.value, c.limit_price,
                 c.decision_bar) for c in loop.engine.children.values()]

    first = orders(replay("vwap", split_bars, cost_model, sp500_closes)[1])
    assert first == orders(replay("vwap", split_bars, cost_model, sp500_closes)[1])
