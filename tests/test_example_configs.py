"""Every example run config in configs/ is valid and trades through the replay driver: a smoke
run over the first days of its window on seeded synthetic minute bars of its universe, the
cost model fitted on the sessions before (what `qlab live` would do), no parent refused and
every parent worked to its end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research.config import Settings, load_run_config
from sim.backtest_data import EMBEDDED_DAILY

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
SMOKE_SESSIONS = 6


def test_there_are_example_configs():
    assert len(CONFIGS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_example_config_trades_in_a_short_replay(path, sp500_closes):
    from research.costs import CostModel
    from research.data import SynthParams, synthesize_minute_bars
    from research.data.calendar import sessions
    from sim.driver import ReplayDriver

    config = load_run_config(path)
    if config.universe.dataset == EMBEDDED_DAILY:  # a daily config: the daily replay
        _short_daily_replay(config)
        return
    symbols = config.universe.symbols
    start = pd.Timestamp(config.universe.start)
    days = sessions(start - pd.Timedelta(days=30), start + pd.Timedelta(days=20)).index
    before, run = days[days < start][-10:], days[days >= start][:SMOKE_SESSIONS]
    bars = synthesize_minute_bars(sp500_closes[symbols], before[0], run[-1], SynthParams(seed=5))
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    model = CostModel.from_settings(Settings().costs).fit(bars[day < start])
    closes = sp500_closes[symbols].loc[sp500_closes.index < start]
    loop = ReplayDriver(config, Settings(), bars[day >= start], daily_closes=closes,
                        cost_model=model).run()
    assert loop.decisions, "no rebalance in the smoke window"
    assert loop.engine.parents and not loop.refused
    for pid, ps in loop.engine.parents.items():
        assert ps.done, pid
        assert ps.filled > 0, (pid, ps.done_reason, dict(ps.local_rejects))


def _short_daily_replay(config):
    """The first sessions of a daily config (real closes, the daily market): it decides,
    trades, and refuses no parent."""
    from sim.backtest_data import run_config_backtest

    start = pd.Timestamp(config.universe.start)
    res = run_config_backtest(config, Settings(), end=start + pd.Timedelta(days=14))
    assert res.decisions, "no rebalance in the smoke window"
    assert not res.meta["refused_parents"] and not res.meta["dropped_parents"]
    assert len(res.trades) and res.trades["quantity"].gt(0).all()
