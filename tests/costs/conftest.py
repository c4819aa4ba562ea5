"""Fixtures of the cost-model tests: seeded simulated bars and small order batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_daily_ohlc(days: int, spread: float, daily_vol: float, seed: int,
                        prints_per_day: int = 390, chunk: int = 2500):
    """Daily OHLC built from trade prints: the log mid is a random walk (``daily_vol`` per
    day, continuous across days) and every print trades at mid * (1 +- spread/2), buy or sell
    with probability 1/2 — every bar trades. Returns (open, high, low, close) arrays."""
    rng = np.random.default_rng(seed)
    step = daily_vol / np.sqrt(prints_per_day)
    last = 0.0
    parts = []
    for first in range(0, days, chunk):
        n = min(chunk, days - first)
        log_mid = last + np.cumsum(rng.standard_normal(n * prints_per_day) * step)
        last = log_mid[-1]
        side = rng.choice([-1.0, 1.0], size=n * prints_per_day)
        prints = (np.exp(log_mid) * (1.0 + side * spread / 2)).reshape(n, prints_per_day)
        parts.append(np.stack([prints[:, 0], prints.max(1), prints.min(1), prints[:, -1]]))
    o, h, low, c = np.concatenate(parts, axis=1)
    return o, h, low, c


@pytest.fixture(scope="session")
def simulate_ohlc():
    """The simulator itself, for tests that need their own parameters."""
    return simulate_daily_ohlc


@pytest.fixture(scope="session")
def true_spread_bars():
    """40,000 days, true spread 1%, 3%/day volatility (seed 20240601).

    At this length the Abdi-Ranaldo estimate has a sampling sd of ~3% of the spread (measured
    over 10 seeds at 20,000 days: 4.7%), so a 10% tolerance is ~3 sd, not a lucky seed."""
    return simulate_daily_ohlc(40_000, spread=0.01, daily_vol=0.03, seed=20240601)


@pytest.fixture
def market() -> pd.DataFrame:
    return pd.DataFrame(
        {"price": [50.0, 200.0, 10.0], "adv": [2e6, 1e7, 5e5],
         "daily_vol": [0.02, 0.015, 0.03], "spread_bps": [4.0, 1.5, 12.0]},
        index=pd.Index(["AAA", "BBB", "CCC"], name="symbol"),
    )


@pytest.fixture
def orders() -> pd.DataFrame:
    strategies = ["market", "limit", "twap", "vwap", "pov", "is"]
    n = 12
    return pd.DataFrame({
        "order_id": [f"ord-{i}" for i in range(n)],
        "symbol": ["AAA", "BBB", "CCC"] * 4,
        "side": ["buy", "sell"] * 6,
        "quantity": [1_000, 20_000, 500, 40_000, 3_000, 10_000, 200, 100_000, 7_000, 15_000,
                     60_000, 2_500],
        "algorithm": strategies * 2,
        "start_time": pd.Timestamp("2024-06-03 10:15", tz="America/New_York"),
        "horizon_minutes": [30, 60, 60, 120, 90, 180, 15, 240, 45, 60, 390, 30],
        "limit_offset_bps": [np.nan, 2.0, np.nan, np.nan, np.nan, np.nan, np.nan, 5.0,
                             np.nan, np.nan, np.nan, np.nan],
    })
