"""Inverse volatility: weights proportional to 1 / (daily return volatility over a lookback)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from research.strategies._history import closes_before


class InverseVolatility:
    """Target weights w_i = (1/sigma_i) / sum_j (1/sigma_j).

    sigma_i is the sample standard deviation (ddof=1) of the last ``lookback_days`` daily log
    returns before the decision date (so ``lookback_days + 1`` closes). A symbol without a full
    window (not yet listed, or a missing close in the window) gets weight 0 and is listed in
    ``excluded_``; a symbol with zero volatility raises (1/0 is not a weight).

    Attributes after :meth:`fit`: ``weights_`` (pd.Series, fraction of NAV, sums to 1),
    ``volatility_`` (pd.Series, daily, fraction), ``excluded_`` (list of symbols).
    """

    def __init__(self, lookback_days: int = 63):
        self.lookback_days = lookback_days

    @property
    def history_sessions(self) -> int:
        """Closes a decision reads (the trading loop hands it no more)."""
        return int(self.lookback_days) + 1

    def fit(self, closes: pd.DataFrame) -> InverseVolatility:
        """Learn weights from the last window of ``closes``: the caller passes only past data."""
        self.weights_, self.volatility_, self.excluded_ = self._compute(closes)
        return self

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        """Weights for a decision on ``asof``'s date, from closes strictly before it (pure)."""
        return self._compute(closes_before(closes, asof))[0]

    def _compute(self, closes: pd.DataFrame) -> tuple[pd.Series, pd.Series, list[str]]:
        if not isinstance(self.lookback_days, int | np.integer) or self.lookback_days < 2:
            raise ValueError(f"lookback_days must be an integer >= 2, got {self.lookback_days!r}")
        window = closes.iloc[-(self.lookback_days + 1):]
        if len(window) < self.lookback_days + 1:
            raise ValueError(f"inverse volatility needs {self.lookback_days + 1} closes before "
                             f"the decision date, got {len(window)}")
        values = window.to_numpy(dtype=float)
        if (values <= 0).any():
            bad = window.columns[(values <= 0).any(axis=0)].tolist()
            raise ValueError(f"non-positive close in the lookback window for {bad}")
        returns = np.diff(np.log(values), axis=0)
        complete = ~np.isnan(returns).any(axis=0)
        vol = np.full(returns.shape[1], np.nan)
        vol[complete] = returns[:, complete].std(axis=0, ddof=1)
        flat = complete & (vol == 0)
        if flat.any():
            names = window.columns[flat].tolist()
            raise ValueError(
                f"zero volatility over the {self.lookback_days}-session lookback for {names}: "
                f"their closes did not change since {_last_move(closes, names)}, as when a name "
                "has no bars any more (delisted, halted) and its last close is carried; it can "
                "be neither sized nor traded: leave it out of the universe or end the run "
                "before then")
        if not complete.any():
            raise ValueError("no symbol has a complete lookback window before the decision date")
        inverse = np.where(complete, 1.0 / np.where(complete, vol, 1.0), 0.0)
        weights = pd.Series(inverse / inverse.sum(), index=closes.columns, name="weight")
        volatility = pd.Series(vol, index=closes.columns, name="daily_volatility")
        return weights, volatility, closes.columns[~complete].tolist()

    def __repr__(self) -> str:
        return f"InverseVolatility(lookback_days={self.lookback_days})"


def _last_move(closes: pd.DataFrame, names: list[str]) -> str:
    """The last session on which each of ``names``' close changed (``SYM YYYY-MM-DD``)."""
    out = []
    for name in names:
        moved = closes[name].diff().fillna(0.0).ne(0.0)
        day = closes.index[moved.to_numpy()].max() if moved.any() else closes.index[0]
        out.append(f"{name} {pd.Timestamp(day):%Y-%m-%d}")
    return ", ".join(out)
