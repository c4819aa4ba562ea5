"""One market order on hand-built bars: the shortfall checked against a hand computation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from sim.tca import compare_strategies

NY = ZoneInfo("America/New_York")


def _session(day: datetime, price: np.ndarray, spread: float) -> pd.DataFrame:
    ts = [day.replace(hour=9, minute=31, tzinfo=NY) + timedelta(minutes=i) for i in range(390)]
    return pd.DataFrame({"timestamp": ts, "symbol": "AAA", "open": price, "high": price,
                         "low": price, "close": price, "volume": 1e6,
                         "bid": price - spread / 2, "ask": price + spread / 2})


def test_market_buy_pays_half_spread_plus_tiger_fees():
    wiggle = 100.0 + 0.01 * (np.arange(390) % 2)  # history: some variance for the models
    bars = pd.concat([_session(datetime(2024, 3, 4), wiggle, 0.02),
                      _session(datetime(2024, 3, 5), np.full(390, 100.0), 0.02)],
                     ignore_index=True)
    orders = pd.DataFrame({"order_id": ["O1"], "symbol": ["AAA"], "side": ["buy"],
                           "quantity": [100], "horizon_minutes": [15],
                           "decision_time": [pd.Timestamp("2024-03-05 10:00", tz=NY)]})
    res = compare_strategies(bars, orders, ("market",), code_version="test")
    row = res.per_order.iloc[0]
    # paper notional $10,000 -> 1 bps = $1. Fill: 100 @ ask 100.01 (no range -> no impact).
    # Tiger fixed plan, buy of 100 shares: commission max(0.99, 100 x 0.0039) = $0.99,
    # platform fee max(1.00, 100 x 0.004) = $1.00, agency fee 100 x 0.00396 = $0.396.
    fees = 0.99 + 1.00 + 0.396
    assert row["fill_rate"] == 1.0
    assert row["spread_bps"] == pytest.approx(1.0, abs=1e-9)
    assert row["impact_bps"] == pytest.approx(0.0, abs=1e-9)
    assert row["delay_bps"] == pytest.approx(0.0, abs=1e-12)
    assert row["fees_bps"] == pytest.approx(fees, abs=1e-9)
    assert row["is_bps"] == pytest.approx(1.0 + fees, abs=1e-9)
