"""Covariance estimators of daily returns (scikit-learn style: ``fit`` → ``covariance_``)."""

from research.risk.covariance._base import (
    BaseCovariance,
    cholesky_or_raise,
    covariance_to_correlation,
)
from research.risk.covariance.ewma import EWMACovariance
from research.risk.covariance.ledoit_wolf import LedoitWolf, ledoit_wolf_shrunk
from research.risk.covariance.sample import SampleCovariance

__all__ = [
    "BaseCovariance",
    "EWMACovariance",
    "LedoitWolf",
    "SampleCovariance",
    "cholesky_or_raise",
    "covariance_to_correlation",
    "ledoit_wolf_shrunk",
]
