"""Portfolio strategies that output target weights, and the parent-order file schema.
(The rebalance decision that turns weights into orders is :mod:`research.trading`.)"""

from research.strategies.equal_weight import EqualWeight
from research.strategies.factory import portfolio_strategy
from research.strategies.inverse_volatility import InverseVolatility
from research.strategies.multi_factor import MultiFactor
from research.strategies.optimised import OptimisedPortfolio
from research.strategies.parent_orders import (
    PARENT_ORDER_COLUMNS,
    SIDES,
    ParentOrderError,
    load_parent_orders,
    validate_parent_orders,
)
from research.strategies.risk_budget import RiskBudget

__all__ = [
    "PARENT_ORDER_COLUMNS", "SIDES", "EqualWeight", "InverseVolatility", "MultiFactor",
    "OptimisedPortfolio", "ParentOrderError", "RiskBudget",
    "load_parent_orders", "portfolio_strategy", "validate_parent_orders",
]
