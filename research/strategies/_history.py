"""Point-in-time slicing shared by the strategies: decisions see only the past."""

from __future__ import annotations

import numpy as np
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


def complete_returns(closes: pd.DataFrame, sessions: int, what: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(daily simple returns of the last ``sessions`` sessions, complete-window mask) of the
    rows given: returns of the names with every close of the window, shape (sessions,
    n_complete); a name without them (not yet listed, a gap) is left out and marked False."""
    if len(closes) < sessions + 1:
        raise ValueError(f"{what} needs {sessions + 1} closes before the decision date, got "
                         f"{len(closes)}")
    values = closes.iloc[-(sessions + 1):].to_numpy(dtype=float)
    complete = ~np.isnan(values).any(axis=0)
    if (values[:, complete] <= 0).any():
        bad = closes.columns[complete & (values <= 0).any(axis=0)].tolist()
        raise ValueError(f"{what}: non-positive close in the window for {bad}")
    if not complete.any():
        raise ValueError(f"{what}: no symbol has a complete {sessions}-session window before "
                         "the decision date")
    kept = values[:, complete]
    return kept[1:] / kept[:-1] - 1.0, complete
