"""Multi-factor: 12-1 momentum, low volatility and short-term reversal z-scores, combined with
configurable weights; the top names held long only, equally or by score, under a position cap.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from research.estimator import ParamsMixin
from research.strategies._history import closes_before
from research.strategies._weights import capped_weights
from research.strategies.factor_scores import factor_scores, zscores


class MultiFactor(ParamsMixin):
    """Target weights of the ``top_n`` names by combined score S_i = sum_f a_f z_{f,i}.

    ``factor_weights`` (factor -> a_f; factors of :mod:`research.strategies.factor_scores`),
    ``top_n``, ``weighting`` ("equal": 1/top_n each; "score": proportional to max(S_i, 0),
    equal when no selected score is positive), ``sector_neutral`` (z-scores within the
    ``sectors`` map, symbol -> sector; required then), ``max_position_weight`` (cap, excess
    re-spread, see ``capped_weights``), and the factor windows in sessions. A symbol with a
    missing score in a weighted factor is not ranked (weight 0). Ties rank in column order.

    Attributes after :meth:`fit`: ``weights_``, ``scores_`` (raw, per factor), ``combined_``.
    """

    def __init__(self, factor_weights: Mapping[str, float] | None = None, top_n: int = 5,
                 weighting: str = "equal", sector_neutral: bool = False,
                 sectors: Mapping[str, str] | None = None, max_position_weight: float = 1.0,
                 momentum_days: int = 252, skip_days: int = 21, volatility_days: int = 63):
        self.factor_weights = factor_weights
        self.top_n = top_n
        self.weighting = weighting
        self.sector_neutral = sector_neutral
        self.sectors = sectors
        self.max_position_weight = max_position_weight
        self.momentum_days = momentum_days
        self.skip_days = skip_days
        self.volatility_days = volatility_days

    @property
    def history_sessions(self) -> int:
        """Closes a decision reads (the longest factor window plus one; the trading loop
        hands it no more)."""
        return max(self.momentum_days, self.volatility_days, self.skip_days) + 1

    def fit(self, closes: pd.DataFrame) -> MultiFactor:
        """Learn from ``closes`` as given (the caller passes only past data)."""
        self.weights_, self.scores_, self.combined_ = self._compute(closes)
        return self

    def target_weights(self, closes: pd.DataFrame, asof) -> pd.Series:
        """Weights for a decision on ``asof``'s date, from closes strictly before it (pure)."""
        return self._compute(closes_before(closes, asof))[0]

    def _check(self) -> dict[str, float]:
        weights = dict(self.factor_weights or {"momentum": 1.0, "low_volatility": 1.0,
                                               "reversal": 1.0})
        weights = {f: float(a) for f, a in weights.items() if a != 0}
        if not weights:
            raise ValueError("multi_factor: every factor weight is 0")
        if not isinstance(self.top_n, int | np.integer) or self.top_n < 1:
            raise ValueError(f"multi_factor: top_n must be an integer >= 1, got {self.top_n!r}")
        if self.weighting not in ("equal", "score"):
            raise ValueError(f"multi_factor: weighting must be 'equal' or 'score', got "
                             f"{self.weighting!r}")
        if self.sector_neutral and self.sectors is None:
            raise ValueError("multi_factor: sector_neutral needs a sector map")
        return weights

    def _compute(self, closes: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
        weights = self._check()
        sectors = None
        if self.sector_neutral:
            missing = [s for s in closes.columns if s not in self.sectors]
            if missing:
                raise ValueError(f"multi_factor: no sector for {missing} (sector_neutral)")
            sectors = self.sectors
        raw = factor_scores(closes, list(weights), momentum_days=self.momentum_days,
                            skip_days=self.skip_days, volatility_days=self.volatility_days)
        z = pd.DataFrame({f: zscores(raw[f], sectors) for f in weights})
        combined = sum(a * z[f] for f, a in weights.items()).rename("score")
        ranked = combined.dropna()
        if ranked.empty:
            raise ValueError("multi_factor: no symbol has every factor's window before the "
                             "decision date")
        order = np.argsort(-ranked.to_numpy(), kind="stable")  # ties: column order
        chosen = ranked.index[order[: self.top_n]]
        if self.weighting == "score":
            raw_w = np.maximum(ranked[chosen].to_numpy(), 0.0)
            raw_w = raw_w if raw_w.sum() > 0 else np.ones(len(chosen))
        else:
            raw_w = np.ones(len(chosen))
        w = capped_weights(raw_w / raw_w.sum(), self.max_position_weight)
        out = pd.Series(0.0, index=closes.columns, name="weight")
        out[chosen] = w
        return out, raw, combined
