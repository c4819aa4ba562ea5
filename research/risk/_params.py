"""``get_params`` / ``set_params`` in the scikit-learn style without importing scikit-learn.

``sklearn.base.clone`` only needs ``get_params(deep=False)`` and a constructor taking the
same keywords, so estimators built on this mixin clone, sweep and grid-search like
scikit-learn's own while ``import research.risk`` stays cheap.
"""

from __future__ import annotations

import inspect
from typing import Any


class ParamsMixin:
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
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
