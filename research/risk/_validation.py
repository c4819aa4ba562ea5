"""Input checks shared by the risk modules.

Every check raises a :class:`~research.risk.errors.RiskInputError` subclass naming what is
wrong and where (row label, column name, symbol), so that a bad feed never turns into a
silent NaN further down. pandas objects are handled by duck typing to keep ``import
research.risk`` free of a pandas import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from research.risk.errors import InsufficientDataError, RiskInputError


def _labels(obj: Any, attr: str) -> list[Any] | None:
    labels = getattr(obj, attr, None)  # pandas index/columns; list.index is a method
    return None if labels is None or callable(labels) else list(labels)


def _where_not_finite(values: np.ndarray, rows: list[Any] | None, cols: list[Any] | None) -> str:
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    first = np.argwhere(bad)[0]
    row = first[0] if rows is None else rows[first[0]]
    where = f"row {row!s}"
    if values.ndim == 2:
        col = first[1] if cols is None else cols[first[1]]
        where += f", column {col!r}"
    return f"{count} NaN/inf value(s); first at {where}"


def _float_array(returns: Any, name: str) -> np.ndarray:
    """``returns`` (array, Series or frame) as float64, or a RiskInputError naming it."""
    values = returns.to_numpy(dtype=float) if hasattr(returns, "to_numpy") else returns
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise RiskInputError(f"{name} must be numeric: {exc}") from None


def as_returns_matrix(
    returns: Any, *, name: str = "returns"
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """A finite float64 ``(n_observations, n_assets)`` array and the column names if any."""
    columns = _labels(returns, "columns")
    rows = _labels(returns, "index")
    values = _float_array(returns, name)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise RiskInputError(f"{name} must be 2-D (observations x assets), got {values.ndim}-D")
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise InsufficientDataError(f"{name} is empty (shape {values.shape})")
    if not np.isfinite(values).all():
        raise RiskInputError(f"{name} contains {_where_not_finite(values, rows, columns)}")
    names = None if columns is None else tuple(str(c) for c in columns)
    if names is not None and len(set(names)) != len(names):
        raise RiskInputError(f"{name} has duplicate column names")
    return np.ascontiguousarray(values), names


def as_return_series(returns: Any, *, name: str = "returns") -> np.ndarray:
    """A finite float64 1-D array of returns (a 1-column frame is accepted)."""
    rows = _labels(returns, "index")
    values = _float_array(returns, name)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise RiskInputError(
            f"{name} must be a 1-D return series, got shape {values.shape}; "
            "pass portfolio returns (returns @ weights) for a portfolio"
        )
    if values.size == 0:
        raise InsufficientDataError(f"{name} is empty")
    if not np.isfinite(values).all():
        raise RiskInputError(f"{name} contains {_where_not_finite(values, rows, None)}")
    return values


def check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise RiskInputError(f"confidence must be in (0, 1), got {confidence}")
    return confidence


def check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1:
        raise RiskInputError(f"horizon must be a positive whole number of days, got {horizon!r}")
    return int(horizon)


def as_weight_vector(
    weights: Any,
    names: Sequence[str] | None,
    n_assets: int,
    *,
    name: str = "weights",
    declared_sum: float | None = None,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Weights (fractions of NAV, signed) aligned to ``names``.

    A mapping or Series is aligned by symbol: a symbol absent from ``names`` is an error
    (it has no return history), a name absent from the mapping has weight 0. When
    ``declared_sum`` is given the weights must add up to it within ``tolerance``.
    """
    if isinstance(weights, Mapping) or hasattr(weights, "items"):  # dict or Series
        items = dict(weights.items())
        if names is None:
            raise RiskInputError(f"{name} given by symbol but the returns have no column names")
        position = {s: i for i, s in enumerate(names)}
        unknown = sorted(str(s) for s in items if s not in position)
        if unknown:
            raise RiskInputError(f"{name} hold symbol(s) with no return history: {unknown}")
        vector = np.zeros(n_assets)
        for symbol, value in items.items():
            vector[position[symbol]] = float(value)
    else:
        vector = np.asarray(weights, dtype=float).ravel()
        if vector.shape[0] != n_assets:
            raise RiskInputError(f"{name} has {vector.shape[0]} entries for {n_assets} assets")
    if not np.isfinite(vector).all():
        bad = int(np.flatnonzero(~np.isfinite(vector))[0])
        label = names[bad] if names is not None else bad
        raise RiskInputError(f"{name} has a NaN/inf weight for {label!r}")
    if declared_sum is not None:
        total = float(vector.sum())
        if not math.isclose(total, declared_sum, rel_tol=0.0, abs_tol=tolerance):
            raise RiskInputError(
                f"{name} sum to {total:.10g}, not the declared {declared_sum:g} "
                f"(tolerance {tolerance:g})"
            )
    return vector
