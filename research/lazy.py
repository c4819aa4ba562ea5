"""Lazy public names for a package (PEP 562), written once for every package that needs them:
``qlab --help`` imports the command modules, and with them their packages, and must not pay
for numpy, pandas, pydantic or the engine until a command runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package`` whose public names are defined in submodules:
    ``where`` maps each name to its submodule (relative to the package). A name is imported
    on first use and cached in the package."""
    import sys

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{submodule}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


def names_of(by_submodule: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """{name: submodule} from {submodule: names}."""
    return {name: module for module, names in by_submodule.items() for name in names}
