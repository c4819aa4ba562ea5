"""Performance attribution of a backtest, pure functions: by position, by sector
(Brinson-Fachler against a benchmark) and by factor (OLS on factor returns).

Every decomposition sums *exactly* (to floating-point rounding) to the return it explains:

* by position, one period: r_p = sum_i w_i r_i + w_cash r_cash, with w the weights at the
  start of the period (value / NAV, the cash weight 1 - sum_i w_i) and r_i each position's
  return over it — the book is not traded within the period, so this is the NAV's return;
* Brinson-Fachler (Brinson & Fachler 1985), one period, sectors s, benchmark total
  R_b = sum_s wb_s rb_s: allocation_s = (wp_s - wb_s)(rb_s - R_b), selection_s =
  wb_s (rp_s - rb_s), interaction_s = (wp_s - wb_s)(rp_s - rb_s); their sum over sectors
  is R_p - R_b because both weight sets sum to 1 (cash is a sector of its own);
* by factor, over T periods: r_t = alpha + sum_k beta_k f_kt + e_t by OLS with an intercept,
  so sum_t r_t = T alpha + sum_k beta_k sum_t f_kt + sum_t e_t (the residual's sum is ~0 by
  construction and is reported, not dropped).

Multi-period returns are reported per period and as arithmetic sums; compounding them
(linking) is left to the caller, who must then say which linking scheme was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

CASH = "cash"


class AttributionInputError(ValueError):
    """Weights, returns or factors an attribution cannot use."""


def _finite(frame: pd.DataFrame | pd.Series, name: str) -> None:
    values = np.asarray(frame, dtype=float)
    if not np.isfinite(values).all():
        raise AttributionInputError(f"{name} contains NaN or infinite values")


def position_contributions(weights: pd.DataFrame, returns: pd.DataFrame,
                           cash_return: float | pd.Series = 0.0) -> pd.DataFrame:
    """Contribution of each position (w_i r_i) and of cash per period: rows periods, columns
    the symbols plus ``"cash"``; the row sums are the portfolio returns.

    ``weights``: start-of-period weights (fractions of NAV, long or short, any sum; the rest
    is cash), ``returns``: each symbol's return over the period, same index and columns;
    ``cash_return``: the cash rate per period (a number or a series by period)."""
    if not weights.index.equals(returns.index) or list(weights.columns) != list(returns.columns):
        raise AttributionInputError("weights and returns must have the same periods and symbols")
    if CASH in weights.columns:
        raise AttributionInputError(f"{CASH!r} is reserved for the cash line; rename the symbol")
    _finite(weights, "weights")
    _finite(returns, "returns")
    out = weights * returns
    cash = pd.Series(cash_return, index=weights.index, dtype=float)
    _finite(cash, "cash_return")
    out[CASH] = (1.0 - weights.sum(axis=1)) * cash
    return out


@dataclass(frozen=True)
class BrinsonFachler:
    """One period's sector attribution; frames indexed by sector. ``active`` = R_p - R_b =
    allocation + selection + interaction (summed over sectors)."""

    table: pd.DataFrame  # wp, wb, rp, rb, allocation, selection, interaction, total
    portfolio_return: float
    benchmark_return: float

    @property
    def active(self) -> float:
        return self.portfolio_return - self.benchmark_return

    def totals(self) -> dict[str, float]:
        t = self.table
        return {k: float(t[k].sum()) for k in ("allocation", "selection", "interaction")}


def brinson_fachler(portfolio_weights: Mapping[str, float], portfolio_returns: Mapping[str, float],
                    benchmark_weights: Mapping[str, float],
                    benchmark_returns: Mapping[str, float]) -> BrinsonFachler:
    """Brinson-Fachler over sectors for one period (inputs by sector; see the module).

    Both weight sets must sum to 1 (give cash as a sector of its own); a sector in either
    side's weights needs the benchmark's return (the allocation effect prices it), and a
    sector the portfolio holds needs the portfolio's return."""
    sectors = sorted(set(portfolio_weights) | set(benchmark_weights))
    wp = pd.Series({s: float(portfolio_weights.get(s, 0.0)) for s in sectors})
    wb = pd.Series({s: float(benchmark_weights.get(s, 0.0)) for s in sectors})
    for name, w in (("portfolio_weights", wp), ("benchmark_weights", wb)):
        _finite(w, name)
        if abs(float(w.sum()) - 1.0) > 1e-9:
            raise AttributionInputError(f"{name} sum to {float(w.sum()):.12g}, not 1 (add the "
                                        "cash as a sector)")
    missing = [s for s in sectors if s not in benchmark_returns]
    if missing:
        raise AttributionInputError(f"benchmark_returns lack sector(s) {missing}")
    rb = pd.Series({s: float(benchmark_returns[s]) for s in sectors})
    held_without = [s for s in sectors if wp[s] != 0 and s not in portfolio_returns]
    if held_without:
        raise AttributionInputError(f"portfolio_returns lack held sector(s) {held_without}")
    # a sector the portfolio does not hold has no return of its own: rp = rb makes its
    # selection and interaction 0 (what is not held cannot be selected)
    rp = pd.Series({s: float(portfolio_returns[s]) if wp[s] != 0 else rb[s] for s in sectors})
    _finite(rb, "benchmark_returns")
    _finite(rp, "portfolio_returns")
    total_b = float((wb * rb).sum())
    table = pd.DataFrame({"wp": wp, "wb": wb, "rp": rp, "rb": rb})
    table["allocation"] = (wp - wb) * (rb - total_b)
    table["selection"] = wb * (rp - rb)
    table["interaction"] = (wp - wb) * (rp - rb)
    table["total"] = table[["allocation", "selection", "interaction"]].sum(axis=1)
    table.index.name = "sector"
    return BrinsonFachler(table, float((wp * rp).sum()), total_b)


def sector_weights_and_returns(weights: Mapping[str, float], returns: Mapping[str, float],
                               sectors: Mapping[str, str]) -> tuple[dict[str, float],
                                                                    dict[str, float]]:
    """Asset weights and returns aggregated to sectors: wp_s = sum of the weights, rp_s the
    weight-averaged return (only where wp_s != 0). Weights that do not sum to 1 leave the
    rest as a ``"cash"`` sector with return 0."""
    w, r = {}, {}
    for symbol, weight in weights.items():
        if symbol not in sectors:
            raise AttributionInputError(f"no sector for {symbol!r}")
        if symbol not in returns:
            raise AttributionInputError(f"no return for {symbol!r}")
        s = sectors[symbol]
        w[s] = w.get(s, 0.0) + float(weight)
        r[s] = r.get(s, 0.0) + float(weight) * float(returns[symbol])
    rates = {s: r[s] / w[s] for s in w if w[s] != 0}
    rest = 1.0 - sum(w.values())
    if abs(rest) > 1e-12:
        w[CASH] = rest
        rates[CASH] = 0.0
    return w, rates


@dataclass(frozen=True)
class FactorReturnAttribution:
    """OLS of portfolio returns on factor returns. ``contributions``: alpha, each factor and
    the residual as sums over the periods; they add up to ``total`` (sum of the returns)."""

    alpha: float  # per period
    betas: pd.Series
    contributions: pd.Series
    residuals: pd.Series
    r_squared: float
    periods: int

    @property
    def total(self) -> float:
        return float(self.contributions.sum())


def factor_return_attribution(portfolio_returns: pd.Series, factor_returns: pd.DataFrame
                       ) -> FactorReturnAttribution:
    """Regress ``portfolio_returns`` on ``factor_returns`` (periods in common only, e.g. the
    daily returns of ``research.data.load_factor_prices()``) with an intercept."""
    joined = pd.concat([portfolio_returns.rename("__portfolio__"), factor_returns], axis=1,
                       join="inner")
    _finite(joined, "portfolio or factor returns (on their common periods)")
    k = factor_returns.shape[1]
    if len(joined) < k + 2:
        raise AttributionInputError(f"{len(joined)} common periods for {k} factors: the "
                                    f"regression needs at least {k + 2}")
    y = joined["__portfolio__"].to_numpy(float)
    x = np.column_stack([np.ones(len(joined)), joined[factor_returns.columns].to_numpy(float)])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coef
    sums = x.sum(axis=0)
    contributions = pd.Series(np.r_[coef * sums, residuals.sum()],
                              index=["alpha", *factor_returns.columns, "residual"])
    centred = y - y.mean()
    ss_tot = float(centred @ centred)
    r2 = 1.0 - float(residuals @ residuals) / ss_tot if ss_tot > 0 else float("nan")
    return FactorReturnAttribution(float(coef[0]), pd.Series(coef[1:], index=factor_returns.columns),
                             contributions, pd.Series(residuals, index=joined.index), r2,
                             len(joined))


__all__ = ["CASH", "AttributionInputError", "BrinsonFachler", "FactorReturnAttribution",
           "brinson_fachler", "factor_return_attribution", "position_contributions",
           "sector_weights_and_returns"]
