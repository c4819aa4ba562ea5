"""Portfolio risk: covariance, VaR/CVaR, limits, risk budgets, attribution, alerts, backtests.

Flat public API. Heavy dependencies (cvxpy, scipy.stats, pandas, scikit-learn, skfolio) are
imported inside the functions that need them, so importing this package is cheap.

Conventions: returns are daily simple returns; weights are signed fractions of NAV; VaR and
CVaR are positive loss fractions (skfolio's quantile convention, see
:mod:`research.risk.tail_risk`).
"""

from research.risk.alerts import (
    AlertEvent,
    AlertManager,
    AlertSink,
    AlertState,
    CallbackSink,
    LogSink,
    MemorySink,
    Severity,
)
from research.risk.attribution import (
    FactorAttribution,
    RiskContributions,
    euler_gaussian,
    euler_historical,
    euler_volatility,
    factor_attribution,
)
from research.risk.backtest import (
    ChristoffersenTest,
    ExpectedShortfallTest,
    KupiecTest,
    LikelihoodRatioTest,
    TrafficLight,
    VaRBacktest,
    Zone,
    acerbi_szekely_z2,
    backtest_expected_shortfall,
    backtest_var,
    christoffersen,
    conditional_coverage,
    kupiec,
    rolling_var,
    traffic_light,
    traffic_light_bounds,
    transition_counts,
    var_exceptions,
)
from research.risk.budgets import (
    BudgetUsage,
    DailyBudgetTracker,
    RiskBudgetResult,
    allocate_risk_budget,
    budget_usage,
    risk_budget_weights,
    risk_parity_weights,
)
from research.risk.covariance import (
    EWMACovariance,
    LedoitWolf,
    SampleCovariance,
    covariance_to_correlation,
)
from research.risk.errors import (
    InsufficientDataError,
    RiskInputError,
    SingularCovarianceError,
    UnknownSectorError,
)
from research.risk.factor_model import FactorModel
from research.risk.limits import (
    BindingLimit,
    Decision,
    LimitChecker,
    LimitKind,
    LimitStatus,
    PreTradeDecision,
    TargetDecision,
)
from research.risk.manager import RiskManager, RiskSnapshot
from research.risk.tail_risk import TailRisk, cvar, horizon_returns, var, var_cvar

__all__ = [
    "AlertEvent",
    "AlertManager",
    "AlertSink",
    "AlertState",
    "BindingLimit",
    "BudgetUsage",
    "CallbackSink",
    "ChristoffersenTest",
    "DailyBudgetTracker",
    "Decision",
    "EWMACovariance",
    "ExpectedShortfallTest",
    "FactorAttribution",
    "FactorModel",
    "InsufficientDataError",
    "KupiecTest",
    "LedoitWolf",
    "LikelihoodRatioTest",
    "LimitChecker",
    "LimitKind",
    "LimitStatus",
    "LogSink",
    "MemorySink",
    "PreTradeDecision",
    "RiskBudgetResult",
    "RiskContributions",
    "RiskInputError",
    "RiskManager",
    "RiskSnapshot",
    "SampleCovariance",
    "Severity",
    "SingularCovarianceError",
    "TailRisk",
    "TargetDecision",
    "TrafficLight",
    "UnknownSectorError",
    "VaRBacktest",
    "Zone",
    "acerbi_szekely_z2",
    "allocate_risk_budget",
    "backtest_expected_shortfall",
    "backtest_var",
    "budget_usage",
    "christoffersen",
    "conditional_coverage",
    "covariance_to_correlation",
    "cvar",
    "euler_gaussian",
    "euler_historical",
    "euler_volatility",
    "factor_attribution",
    "horizon_returns",
    "kupiec",
    "risk_budget_weights",
    "risk_parity_weights",
    "rolling_var",
    "traffic_light",
    "traffic_light_bounds",
    "transition_counts",
    "var",
    "var_cvar",
    "var_exceptions",
]
