"""The portfolio strategy a run config names (``strategy.kind``)."""

from __future__ import annotations

from typing import Any

from research.strategies.equal_weight import EqualWeight
from research.strategies.inverse_volatility import InverseVolatility


def portfolio_strategy(config: Any):
    """The portfolio strategy of ``config.strategy`` (target weights from daily closes).

    Kind-specific parameters come from the strategy's sub-model (``strategy.multi_factor``,
    ``strategy.optimised``, ``strategy.risk_budget``; their defaults when absent); position and
    sector caps from ``config.risk``; sectors from :func:`research.data.sectors.sector_map`
    (the embedded GICS map and the config's ``universe.sectors``).
    """
    strategy = config.strategy
    kind = strategy.kind
    if kind == "inverse_volatility":
        return InverseVolatility(strategy.lookback_days)
    if kind in ("equal_weight", "buy_and_hold"):
        return EqualWeight()
    if kind == "multi_factor":
        from research.config import MultiFactorParams
        from research.data.sectors import sector_map
        from research.strategies.multi_factor import MultiFactor

        p = strategy.multi_factor or MultiFactorParams()
        cap = p.max_position_weight
        return MultiFactor(
            factor_weights=dict(p.factor_weights), top_n=p.top_n, weighting=p.weighting,
            sector_neutral=p.sector_neutral,
            sectors=_sectors(config, sector_map(config.universe.sectors))
            if p.sector_neutral else None,
            max_position_weight=config.risk.max_position_weight if cap is None else cap,
            momentum_days=p.momentum_days, skip_days=p.skip_days,
            volatility_days=p.volatility_days)
    if kind == "optimised":
        from research.config import OptimisedParams
        from research.data.sectors import sector_map
        from research.strategies.optimised import HORIZON_DAYS, OptimisedPortfolio

        p = strategy.optimised or OptimisedParams()
        return OptimisedPortfolio(
            objective=p.objective, lookback_days=strategy.lookback_days,
            return_lookback_days=p.return_lookback_days, risk_aversion=p.risk_aversion,
            turnover_cost_bps=p.turnover_cost_bps,
            max_position_weight=config.risk.max_position_weight,
            max_sector_weight=config.risk.max_sector_weight,
            sectors=sector_map(config.universe.sectors),
            horizon_days=HORIZON_DAYS[strategy.rebalance])
    if kind in ("risk_parity", "risk_budget"):
        from research.strategies.risk_budget import RiskBudget

        budgets = strategy.risk_budget.budgets if strategy.risk_budget else None
        return RiskBudget(budgets=budgets if kind == "risk_budget" else None,
                          lookback_days=strategy.lookback_days)
    raise ValueError(f"strategy.kind {kind!r} has no portfolio strategy")


def _sectors(config: Any, table: dict[str, str]) -> dict[str, str]:
    """The sector of every universe symbol; a symbol without one is an error naming it."""
    missing = [s for s in config.universe.symbols if s not in table]
    if missing:
        raise ValueError(f"strategy.multi_factor.sector_neutral: no sector known for {missing} "
                         "(name them in universe.sectors)")
    return dict(table)
