"""Small seeded study data for the TCA tests: 3 symbols, 7 sessions of synthetic minute bars
(5 of history), 20 synthetic parent orders on the last 2 sessions."""

from __future__ import annotations

import pandas as pd
import pytest

STUDY_FIRST_DAY = "2022-02-08"


@pytest.fixture(scope="session")
def tca_bars(sp500_closes) -> pd.DataFrame:
    from research.data import SynthParams, synthesize_minute_bars

    return synthesize_minute_bars(sp500_closes[["AAPL", "JPM", "KO"]], "2022-01-31",
                                  "2022-02-09", SynthParams(seed=5))


@pytest.fixture(scope="session")
def tca_orders(tca_bars) -> pd.DataFrame:
    from sim.orders import synthetic_parent_orders

    day = tca_bars["timestamp"].dt.tz_localize(None).dt.normalize()
    window = tca_bars[day >= pd.Timestamp(STUDY_FIRST_DAY)]
    return synthetic_parent_orders(window, 20, seed=11, daily_bars=tca_bars,
                                   horizons=(15, 30, 60))


@pytest.fixture(scope="session")
def tca_result(tca_bars, tca_orders):
    from sim.tca import compare_strategies

    return compare_strategies(tca_bars, tca_orders, seed=4, code_version="test")
