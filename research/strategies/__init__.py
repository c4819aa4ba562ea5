"""Portfolio strategies that output target weights, and the parent orders they imply."""

from research.strategies.equal_weight import EqualWeight
from research.strategies.inverse_volatility import InverseVolatility
from research.strategies.parent_orders import (
    PARENT_ORDER_COLUMNS,
    SIDES,
    ParentOrderError,
    load_parent_orders,
    validate_parent_orders,
)
from research.strategies.rebalance import WeightStrategy, rebalance_dates, rebalance_orders

__all__ = [
    "PARENT_ORDER_COLUMNS", "SIDES", "EqualWeight", "InverseVolatility", "ParentOrderError",
    "WeightStrategy", "load_parent_orders", "rebalance_dates", "rebalance_orders",
    "validate_parent_orders",
]
