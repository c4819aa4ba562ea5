"""Broker-independent execution: the Broker port, order lifecycle, journal, pre-trade
validation, circuit breakers, execution algorithms, the engine (with its restart recovery,
``recovery.py``, and its timed, retried broker calls, ``broker_calls.py``, which leave out an
adapter's own rate-limit waits, ``pacing.py``) and execution quality (TCA)."""

from __future__ import annotations

from research.execution.algorithms import (
    AlgoContext,
    ExecutionAlgorithm,
    ISAlgorithm,
    LimitAlgorithm,
    MarketAlgorithm,
    POVAlgorithm,
    TWAPAlgorithm,
    VWAPAlgorithm,
    almgren_chriss_schedule_fn,
    build_algorithm,
    volume_profile_from_history,
)
from research.execution.breakers import MarketBreakers, SystemBreaker
from research.execution.broker import Broker
from research.execution.engine import EngineStats, ExecutionEngine, ParentState
from research.execution.errors import (
    BrokerError,
    BrokerUnavailable,
    IllegalTransition,
    OverfillError,
    RateLimited,
    ReconciliationError,
    Rejected,
    SubmitTimeout,
)
from research.execution.ids import client_order_id
from research.execution.journal import EventKind, Journal, JournalEvent
from research.execution.lifecycle import LEGAL_TRANSITIONS, ChildOrder, is_legal
from research.execution.model import (
    Account,
    AlgoDecision,
    BreakerEvent,
    BrokerOrder,
    ChildRequest,
    ExecutionReport,
    MarketSnapshot,
    ParentOrder,
    RejectReason,
    ReportKind,
    RiskDecision,
    TradingState,
    ValidationResult,
)
from research.execution.quality import (
    CostPredictor,
    ExecutionQuality,
    PeroldDecomposition,
    execution_quality,
    perold_decomposition,
)
from research.execution.risk_check import RiskManagerCheck
from research.execution.validation import PreTradeRiskCheck, PreTradeValidator, TokenBucket

__all__ = [
    "RiskManagerCheck",
    "LEGAL_TRANSITIONS",
    "Account",
    "AlgoContext",
    "AlgoDecision",
    "BreakerEvent",
    "Broker",
    "BrokerError",
    "BrokerOrder",
    "BrokerUnavailable",
    "ChildOrder",
    "ChildRequest",
    "CostPredictor",
    "EngineStats",
    "EventKind",
    "ExecutionAlgorithm",
    "ExecutionEngine",
    "ExecutionQuality",
    "ExecutionReport",
    "ISAlgorithm",
    "IllegalTransition",
    "Journal",
    "JournalEvent",
    "LimitAlgorithm",
    "MarketAlgorithm",
    "MarketBreakers",
    "MarketSnapshot",
    "OverfillError",
    "POVAlgorithm",
    "ParentOrder",
    "ParentState",
    "PeroldDecomposition",
    "PreTradeRiskCheck",
    "PreTradeValidator",
    "RateLimited",
    "ReconciliationError",
    "RejectReason",
    "Rejected",
    "ReportKind",
    "RiskDecision",
    "SubmitTimeout",
    "SystemBreaker",
    "TWAPAlgorithm",
    "TokenBucket",
    "TradingState",
    "VWAPAlgorithm",
    "ValidationResult",
    "almgren_chriss_schedule_fn",
    "build_algorithm",
    "client_order_id",
    "execution_quality",
    "is_legal",
    "perold_decomposition",
    "volume_profile_from_history",
]
