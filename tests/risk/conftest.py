"""Shared fixtures: skfolio's embedded real data (offline) and small seeded synthetic sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def sp500_returns() -> pd.DataFrame:
    """Daily simple returns of skfolio's 20 S&P 500 names, 1990-01-03 .. 2022-12-28."""
    from skfolio.datasets import load_sp500_dataset

    return load_sp500_dataset().pct_change().dropna()


@pytest.fixture(scope="session")
def last_year(sp500_returns: pd.DataFrame) -> pd.DataFrame:
    return sp500_returns.iloc[-252:]


@pytest.fixture(scope="session")
def factor_returns() -> pd.DataFrame:
    """Daily returns of the five iShares factor ETFs (MTUM, QUAL, SIZE, USMV, VLUE)."""
    from skfolio.datasets import load_factors_dataset

    return load_factors_dataset().pct_change().dropna()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)
