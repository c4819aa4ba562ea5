"""Point-in-time slicing shared by the strategies: decisions see only the past."""

from __future__ import annotations

import pandas as pd

from research.data.schema import EXCHANGE_TZ


def closes_before(closes: pd.DataFrame, asof) -> pd.DataFrame:
    """Rows of a wide close frame (index: session dates) strictly before ``asof``'s date.

    A decision taken at any time on day D may use closes up to D-1: D's close does not exist yet.
    """
    if not isinstance(closes.index, pd.DatetimeIndex):
        raise TypeError("closes must be indexed by date (a DatetimeIndex)")
    day = pd.Timestamp(asof)
    if day.tzinfo is not None:
        day = day.tz_convert(EXCHANGE_TZ).tz_localize(None)
    index = closes.index.tz_localize(None) if closes.index.tz is not None else closes.index
    return closes.loc[index < day.normalize()]
