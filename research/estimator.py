"""``get_params`` / ``set_params`` / ``__repr__`` in the scikit-learn style without importing
scikit-learn, for every estimator of the library (risk models, covariance estimators, the
cost model, the Almgren-Chriss schedule).

``sklearn.base.clone`` only needs ``get_params(deep=False)`` and a constructor taking the
same keywords, so estimators built on this mixin clone, sweep and grid-search like
scikit-learn's own while ``import research.risk`` and ``import research.costs`` stay cheap.
"""

from __future__ import annotations

import inspect
from typing import Any


class ParamsMixin:
    """The constructor's keywords are the parameters; each is stored under its own name."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> ParamsMixin:
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """The parameters that differ from the constructor's defaults (scikit-learn's form:
        a model with twenty-odd parameters stays readable)."""
        defaults = {name: p.default
                    for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not _same(v, defaults.get(k, inspect.Parameter.empty))]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(value: Any, default: Any) -> bool:
    """``value`` is the default: the same object, or an equal value of the same type (an
    array or a frame is never compared by value)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False
