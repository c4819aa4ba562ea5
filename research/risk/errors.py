"""Errors raised by the risk package.

All of them subclass :class:`ValueError` so that callers who only care about "bad input"
can catch one type; the subclasses let the execution engine tell a data problem (NaN,
too little history) from a model problem (a covariance that cannot be inverted).
"""

from __future__ import annotations


class RiskInputError(ValueError):
    """Input to a risk computation is malformed: NaN, wrong shape, unknown name, bad sum."""


class InsufficientDataError(RiskInputError):
    """Too few observations for the estimator or measure that was asked for."""


class SingularCovarianceError(RiskInputError):
    """A covariance (or regressor cross-product) matrix that must be inverted is singular."""


class UnknownSectorError(RiskInputError, KeyError):
    """A symbol has no entry in the sector map used by the sector-concentration limit."""

    def __str__(self) -> str:  # KeyError would otherwise print the message in quotes
        return str(self.args[0]) if self.args else ""
