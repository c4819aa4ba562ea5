"""SessionCloses: the trading loop's daily closes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.trading.closes import SessionCloses


def test_the_running_last_close_is_the_walk_back_s_after_appends_and_clears():
    """The last close kept as sessions are appended (and carried closes cleared) is what a
    walk back through the rows finds, for every day: a long replay's lookup costs one row,
    not a walk back to the session a name stopped trading."""
    rng = np.random.default_rng(0)
    values = rng.uniform(1, 2, (60, 6))
    values[rng.uniform(size=values.shape) < 0.4] = np.nan
    values[25:, 5] = np.nan  # a name whose closes end
    days = pd.bdate_range("2020-01-01", periods=60)
    closes = SessionCloses(pd.DataFrame(values[:30], index=days[:30]))
    for i in range(30, 60):
        closes.append(days[i], values[i])
        if i % 7 == 0:
            closes.forget_last(3, np.array([True, False, True, False, False, False]))
    for day in [*days, days[-1] + pd.Timedelta(days=1)]:
        k = int(np.searchsorted(days, day))
        held = closes.values_before(day)
        expected = np.array([col[np.isfinite(col)][-1] if np.isfinite(col).any() else np.nan
                             for col in held.T]) if k else np.full(6, np.nan)
        np.testing.assert_array_equal(closes.last_prices_before(day), expected)
    assert np.isfinite(closes.last_prices_before(days[-1] + pd.Timedelta(days=1))[5])
