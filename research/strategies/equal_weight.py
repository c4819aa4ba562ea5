"""Equal weight: 1/N across the symbols that have a price before the decision date."""

from __future__ import annotations

import pandas as pd

from research.strategies._history import closes_before


class EqualWeight:
    """Target weight 1/N for each of the N symbols with a last close before the decision.

    Attributes after :meth:`fit`: ``weights_`` (pd.Series, fraction of NAV, sums to 1),
    ``symbols_`` (the columns seen).
    """

    #: Closes a decision reads (the trading loop hands it no more): which symbols have a price.
    history_sessions = 1

    def fit(self, closes: pd.DataFrame) -> EqualWeight:
        """Learn weights from ``closes`` as given: the caller passes only past data."""
        self.symbols_ = list(closes.columns)
        self.weights_ = self._weights(closes)
        return self

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        """Weights for a decision on ``asof``'s date, from closes strictly before it (pure)."""
        return self._weights(closes_before(closes, asof))

    @staticmethod
    def _weights(closes: pd.DataFrame) -> pd.Series:
        if closes.empty:
            raise ValueError("no closes before the decision date")
        priced = closes.ffill().iloc[-1].notna()
        if not priced.any():
            raise ValueError("no symbol has a close before the decision date")
        return (priced / priced.sum()).astype(float).rename("weight")

    def __repr__(self) -> str:
        return "EqualWeight()"
