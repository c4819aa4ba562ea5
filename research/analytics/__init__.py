"""Performance metrics, attribution and portfolio accounting of backtests, and the fast
vectorbt research path."""

from research.analytics.accounting import (
    AccountingInputError,
    PortfolioAccount,
    account_fills,
    fills_frame,
)
from research.analytics.attribution import (
    AttributionInputError,
    BrinsonFachler,
    FactorReturnAttribution,
    brinson_fachler,
    factor_return_attribution,
    pnl_by_symbol,
    position_contributions,
    sector_weights_and_returns,
)
from research.analytics.metrics import (
    SESSIONS_PER_YEAR,
    MetricsInputError,
    PerformanceMetrics,
    alpha,
    benchmark_description,
    beta,
    cagr,
    calmar,
    cost_drag_bps_annual,
    covering_benchmark,
    daily_returns,
    information_ratio,
    max_drawdown,
    performance_metrics,
    sharpe,
    sortino,
    tracking_error,
    turnover_annual,
    volatility,
    years,
)
from research.analytics.vectorbt_path import (
    ZERO_VOLATILITY_RULES,
    FlatCosts,
    GridResult,
    InverseVolatilityParams,
    VectorbtPathInputError,
    backtest_target_weights,
    decision_rows,
    inverse_volatility_grid,
    inverse_volatility_targets,
    lookahead_dates,
)

__all__ = [
    "SESSIONS_PER_YEAR", "AccountingInputError", "PortfolioAccount", "account_fills", "fills_frame", "MetricsInputError", "PerformanceMetrics", "alpha", "benchmark_description", "beta", "cagr",
    "calmar", "cost_drag_bps_annual", "covering_benchmark", "daily_returns", "information_ratio", "max_drawdown",
    "performance_metrics", "sharpe", "sortino", "tracking_error", "turnover_annual",
    "volatility", "years", "ZERO_VOLATILITY_RULES", "FlatCosts", "GridResult",
    "InverseVolatilityParams", "VectorbtPathInputError", "backtest_target_weights",
    "decision_rows", "inverse_volatility_grid", "inverse_volatility_targets", "lookahead_dates",
    "AttributionInputError", "BrinsonFachler", "FactorReturnAttribution", "brinson_fachler",
    "factor_return_attribution", "pnl_by_symbol", "position_contributions", "sector_weights_and_returns",
]
