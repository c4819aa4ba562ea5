"""Risk attribution and risk budgets of a replay's book, for the ``risk_limits`` report.

The book at a date is the replay's positions (shares) at that close times the daily closes it
traded on, over its equity. By position: the live risk manager's own Euler decomposition
(:class:`research.risk.RiskManager` refit on the trailing ``var_lookback_days`` returns with the
run's risk settings: the configured VaR method, horizon and covariance) — CVaR contributions
that add up to the book's CVaR. By factor: a time-series factor model
(:class:`research.risk.FactorModel`, OLS on the skfolio factor ETFs MTUM, QUAL, SIZE, USMV,
VLUE; data from 2014) on the same trailing window, the book's daily volatility split into
factor contributions and the specific rest. Both at month ends ("over time") and at the last
date. Risk budgets: the risk-parity replay's book (or, without one, the cvxpy risk-parity
weights of :func:`research.risk.risk_parity_weights`) next to the strategy's targets and the
capped book on the last date.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def book_weights(result: Any, closes: pd.DataFrame) -> pd.DataFrame:
    """Signed weights of the replay's book at each close (dates x symbols)."""
    positions = result.account.positions
    px = closes.reindex(index=positions.index, columns=positions.columns).ffill()
    return positions * px / result.equity.reindex(positions.index).to_numpy()[:, None]


def month_ends(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The last session of each month in ``index`` (its last date included)."""
    s = pd.Series(index, index=index)
    return pd.DatetimeIndex(s.groupby([index.year, index.month]).max().to_numpy())


def _returns_before(closes: pd.DataFrame, day: pd.Timestamp, rows: int) -> pd.DataFrame:
    """The ``rows`` daily returns up to and including ``day`` (what is known at its close)."""
    window = closes.loc[:day].iloc[-(rows + 1):]
    return window.pct_change().iloc[1:].dropna()


def position_attribution(result: Any, closes: pd.DataFrame, risk_settings: Any,
                         dates: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """CVaR contributions by position (fractions of NAV at the configured horizon) at
    ``dates`` (default: month ends), from the risk manager the replay ran with."""
    from research.data.sectors import sector_map
    from research.risk import RiskManager

    weights = book_weights(result, closes)
    dates = month_ends(weights.index) if dates is None else dates
    rows = int(risk_settings.var_lookback_days)
    out = {}
    manager = RiskManager(risk_settings, sector_map(result.config.universe.sectors))
    for day in dates:
        returns = _returns_before(closes[weights.columns], day, rows)
        w = weights.loc[day].fillna(0.0)
        if len(returns) <= returns.shape[1] or not w.any():
            continue
        snap = manager.update(returns, w.to_dict(), nav=float(result.equity.loc[day]),
                              as_of=day)
        out[day] = pd.Series(snap.contributions_cvar, index=snap.symbols)
    return pd.DataFrame(out).T.rename_axis("date")


def factor_returns() -> pd.DataFrame:
    """Daily returns of the skfolio factor ETFs (2014 on)."""
    from research.data import load_factor_prices

    return load_factor_prices().pct_change().iloc[1:].dropna()


def factor_attribution_over_time(result: Any, closes: pd.DataFrame, lookback: int = 252,
                                 dates: pd.DatetimeIndex | None = None,
                                 factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The book's annualised volatility split into factor contributions and ``specific`` at
    ``dates`` (default: month ends with ``lookback`` sessions of factor data before them); the
    columns add up to ``total``. Empty when the replay ends before the factor data allows."""
    from research.risk import FactorModel, factor_attribution

    factors = factor_returns() if factors is None else factors
    weights = book_weights(result, closes)
    asset_returns = closes[weights.columns].pct_change()
    common = asset_returns.index.intersection(factors.index)
    dates = month_ends(weights.index) if dates is None else dates
    out = {}
    scale = math.sqrt(252)
    for day in dates:
        window = common[common <= day][-lookback:]
        w = weights.loc[day].fillna(0.0) if day in weights.index else None
        if len(window) < lookback or w is None or not w.any():
            continue
        assets = asset_returns.loc[window].dropna(axis=1)
        model = FactorModel().fit(assets, factors.loc[window])
        split = factor_attribution(w.reindex(assets.columns).fillna(0.0).to_dict(), model)
        row = dict(zip(split.factor_names, (split.factor_contributions * scale).tolist(),
                       strict=True))
        row["specific"] = split.specific_contribution * scale
        row["total"] = split.total_volatility * scale
        out[day] = row
    return pd.DataFrame(out).T.rename_axis("date")


def risk_budget_comparison(study: Any, closes: pd.DataFrame) -> pd.DataFrame:
    """On the replay's last date: the strategy's last targets (before the limits), the capped
    book (after them) and the risk-parity weights — the risk-parity replay's own book under
    the same limits when the study ran one (``study.budgeted``), else the cvxpy risk-parity
    solution on the trailing Ledoit-Wolf covariance — with each one's share of the volatility
    on that covariance and its sector."""
    from research.data.sectors import sector_map
    from research.risk import LedoitWolf, risk_parity_weights

    res = study.limited
    weights = book_weights(res, closes)
    day = weights.index[-1]
    rows = int(study.settings.risk.var_lookback_days)
    returns = _returns_before(closes[weights.columns], day, rows)
    cov = LedoitWolf().fit(returns.to_numpy()).covariance_
    names = list(returns.columns)
    strategy = pd.Series(res.decisions[-1]["strategy_weights"]).reindex(names).fillna(0.0) \
        if res.decisions else pd.Series(0.0, index=names)
    if study.budgeted is not None:
        parity = book_weights(study.budgeted, closes).iloc[-1].reindex(names).fillna(0.0)
    else:
        parity = pd.Series(risk_parity_weights(cov, names=names).weights, index=names)
    table = pd.DataFrame({"strategy_target": strategy,
                          "capped_book": weights.loc[day].reindex(names).fillna(0.0),
                          "risk_parity": parity})
    for col in list(table.columns):
        w = table[col].to_numpy()
        variance = float(w @ cov @ w)
        table[f"{col}_risk_share"] = w * (cov @ w) / variance if variance > 0 else 0.0
    sectors = sector_map(res.config.universe.sectors)  # every name has one: the replay ran
    table["sector"] = [sectors[s] for s in names]
    return table


def caps_check(table: pd.DataFrame, limits: dict[str, float]) -> pd.DataFrame:
    """Largest position and sector weight of each weight column against the caps."""
    rows = []
    for col in ("strategy_target", "capped_book", "risk_parity"):
        sector = table.groupby("sector")[col].apply(lambda w: w.abs().sum())
        rows.append({"weights": col, "largest_position": float(table[col].abs().max()),
                     "position_cap": limits["position_weight"],
                     "largest_sector": float(sector.max()), "sector": str(sector.idxmax()),
                     "sector_cap": limits["sector_weight"]})
    return pd.DataFrame(rows).set_index("weights")


__all__ = ["book_weights", "caps_check", "factor_attribution_over_time", "factor_returns",
           "month_ends", "position_attribution", "risk_budget_comparison"]
