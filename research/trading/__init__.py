"""The trading loop: run config -> rebalance decisions -> parent orders with their execution
algorithms -> the execution engine with the risk manager, on a bar clock. One kernel: ``sim``
replays it over the simulated broker, ``live`` trades it through Tiger."""

from research.trading.algorithm_params import (
    AlgorithmInputError,
    AlgorithmPlanner,
    almgren_chriss_params,
    limit_params,
    per_bar_volume_profile,
    pov_params,
    vwap_params,
    vwap_volume_profile,
)
from research.trading.cost_watch import CostWatch
from research.trading.loop import (
    JOIN_COVERAGE,
    STALE_SESSIONS,
    TradingLoop,
    risk_settings_for,
)
from research.trading.rebalance import (
    REBALANCE_FREQUENCIES,
    config_rebalance_dates,
    is_rebalance_session,
    rebalance_dates,
    rebalance_orders,
    rebalance_parents,
    target_shares,
)
from research.trading.weight_decisions import target_weight_decisions

__all__ = [
    "JOIN_COVERAGE", "REBALANCE_FREQUENCIES", "STALE_SESSIONS", "AlgorithmInputError",
    "AlgorithmPlanner", "CostWatch", "TradingLoop",
    "almgren_chriss_params", "config_rebalance_dates", "is_rebalance_session", "limit_params",
    "per_bar_volume_profile", "pov_params", "rebalance_dates", "rebalance_orders",
    "rebalance_parents", "risk_settings_for", "target_shares", "target_weight_decisions",
    "vwap_params", "vwap_volume_profile",
]
