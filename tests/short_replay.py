"""Inputs of a short replay on seeded synthetic minute bars, shared by the example-config smoke
test and the paired tests of the trading package: the bars of the run, the daily closes before
it and the cost model fitted on the ten sessions before (what `qlab live` would do)."""

from __future__ import annotations

import pandas as pd

from research.config import Settings


def replay_inputs(sp500_closes: pd.DataFrame, symbols: list[str], start: pd.Timestamp,
                  sessions_run: int):
    """(bars of the first ``sessions_run`` sessions from ``start``, closes before it, cost
    model fitted on the ten sessions before it)."""
    from research.costs import CostModel
    from research.data import SynthParams, synthesize_minute_bars
    from research.data.calendar import sessions

    days = sessions(start - pd.Timedelta(days=30), start + pd.Timedelta(days=20)).index
    before, run = days[days < start][-10:], days[days >= start][:sessions_run]
    bars = synthesize_minute_bars(sp500_closes[symbols], before[0], run[-1], SynthParams(seed=5))
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    model = CostModel.from_settings(Settings().costs).fit(bars[day < start])
    closes = sp500_closes[symbols].loc[sp500_closes.index < start]
    return bars[day >= start], closes, model
