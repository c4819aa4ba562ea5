"""A two-name book traded through the real accounting: the hand-checked case that the report's
weights and the attribution's P&L by symbol are both tested on."""

from __future__ import annotations

import pandas as pd


def booked():
    """(closes, fills, account): AAPL and XOM over three sessions, booked by
    research.analytics.account_fills from $1,000."""
    from research.analytics import account_fills

    days = pd.DatetimeIndex(["2022-01-03", "2022-01-04", "2022-01-05"])
    closes = pd.DataFrame({"AAPL": [10.0, 11.0, 12.0], "XOM": [50.0, 40.0, 45.0]}, index=days)
    fills = pd.DataFrame({
        "timestamp": pd.to_datetime(["2022-01-04 15:00", "2022-01-04 15:00",
                                     "2022-01-05 15:00"]).tz_localize("America/New_York"),
        "symbol": ["AAPL", "XOM", "AAPL"], "side": ["buy", "buy", "sell"],
        "quantity": [10, 2, 5], "price": [10.5, 41.0, 11.5], "fees": [1.0, 0.5, 1.0]})
    return closes, fills, account_fills(closes, fills, 1_000.0)
