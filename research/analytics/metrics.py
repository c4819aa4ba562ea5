"""Performance metrics of a dated equity curve, with one set of conventions for every engine.

Conventions (stated once, here; every function in this module follows them):

* A year is 252 sessions. The curve's length in years is ``(number of equity points - 1) / 252``:
  one daily return per session after the first.
* Daily returns are simple returns of the equity curve, ``E_t / E_{t-1} - 1``.
* The risk-free rate is an annual rate, 0 unless given; its daily rate is ``rate / 252``.
* CAGR = ``(E_last / E_first) ** (1 / years) - 1``.
* Volatility = ``std(daily returns, ddof=1) * sqrt(252)``.
* Sharpe = ``mean(daily return - daily risk-free) / std(daily return, ddof=1) * sqrt(252)``.
* Sortino = ``mean(daily return - daily risk-free) / downside deviation * sqrt(252)``, the
  downside deviation being ``sqrt(mean(min(daily return, 0) ** 2))`` over *all* days (the
  target is 0; days above it count as zeros, they are not dropped).
* Max drawdown = the largest peak-to-trough fall of the equity curve, as a positive fraction
  of the peak (0.25 means the curve fell 25% below its running maximum).
* Calmar = CAGR / max drawdown.
* Turnover (annual) = ``sum(|traded notional|) / mean(equity) / years``: 1.0 means the book
  traded its average size once a year (buys and sells both count).
* Cost drag (bps a year) = ``sum(costs) / mean(equity) / years * 1e4``, costs in dollars
  (fees, and slippage where the engine knows it).
* Against a benchmark (its daily simple returns on the same sessions):
  beta = ``cov(r, r_b, ddof=1) / var(r_b, ddof=1)``;
  alpha (Jensen's, arithmetic, annual) = ``(mean(r - rf) - beta * mean(r_b - rf)) * 252``;
  tracking error = ``std(r - r_b, ddof=1) * sqrt(252)``;
  information ratio = ``mean(r - r_b) * 252 / tracking error``.

A ratio whose denominator is zero (a flat curve's Sharpe, Calmar without a drawdown, a
benchmark that never moves) is undefined and comes back as NaN, never as a large number.

Bad input raises :class:`MetricsInputError` naming the series and what is wrong: empty or a
single point, NaN or infinite values, equity not > 0, an index that is not a DatetimeIndex,
dates not strictly increasing, a benchmark or cost series with dates outside the curve's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

SESSIONS_PER_YEAR = 252


class MetricsInputError(ValueError):
    """An equity, benchmark, notional or cost series the metrics cannot be computed from."""


@dataclass(frozen=True)
class PerformanceMetrics:
    """The metrics of one equity curve (fractions, not percent; cost drag in bps a year).

    Benchmark-relative fields are NaN when no benchmark was given; turnover and cost drag are
    NaN when no traded notional or costs were given."""

    start: pd.Timestamp
    end: pd.Timestamp
    sessions: int
    final_equity: float
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    turnover_annual: float = math.nan
    cost_drag_bps_annual: float = math.nan
    alpha: float = math.nan
    beta: float = math.nan
    tracking_error: float = math.nan
    information_ratio: float = math.nan

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else math.nan


def _finite_values(series: pd.Series, name: str) -> np.ndarray:
    """The series' values as floats, or an error naming the first date with NaN or inf."""
    values = series.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise MetricsInputError(f"{name} has a NaN or infinite value on "
                                f"{series.index[int(np.argmax(bad))]}")
    return values


def _validated_equity(equity: pd.Series, name: str = "equity") -> pd.Series:
    if not isinstance(equity, pd.Series):
        raise MetricsInputError(f"{name} must be a pandas Series, got {type(equity).__name__}")
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise MetricsInputError(f"{name} must have a DatetimeIndex (dated sessions), got "
                                f"{type(equity.index).__name__}")
    if len(equity) < 2:
        raise MetricsInputError(f"{name} needs at least 2 dated points, got {len(equity)}")
    steps = np.diff(equity.index.asi8)
    if (steps <= 0).any():
        at = int(np.argmax(steps <= 0)) + 1
        raise MetricsInputError(f"{name} dates must be strictly increasing: "
                                f"{equity.index[at]} follows {equity.index[at - 1]} (row {at})")
    values = _finite_values(equity, name)
    return pd.Series(values, index=equity.index, name=equity.name)


def _validated_positive(equity: pd.Series, name: str = "equity") -> pd.Series:
    equity = _validated_equity(equity, name)
    non_positive = equity.to_numpy() <= 0
    if non_positive.any():
        at = int(np.argmax(non_positive))
        raise MetricsInputError(f"{name} must be > 0 (returns are undefined otherwise): "
                                f"{equity.iloc[at]} on {equity.index[at]}")
    return equity


def daily_returns(equity: pd.Series) -> np.ndarray:
    """Simple returns ``E_t / E_{t-1} - 1`` of a validated curve (one fewer than points)."""
    values = _validated_positive(equity).to_numpy()
    return values[1:] / values[:-1] - 1.0


def years(equity: pd.Series) -> float:
    """The curve's length in years of 252 sessions (one return per session after the first)."""
    return (len(_validated_equity(equity)) - 1) / SESSIONS_PER_YEAR


def cagr(equity: pd.Series) -> float:
    values = _validated_positive(equity).to_numpy()
    return (values[-1] / values[0]) ** (SESSIONS_PER_YEAR / (len(values) - 1)) - 1.0


def volatility(equity: pd.Series) -> float:
    returns = daily_returns(equity)
    if len(returns) < 2:
        return math.nan
    return float(returns.std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR))


def sharpe(equity: pd.Series, risk_free_rate: float = 0.0) -> float:
    returns = daily_returns(equity)
    if len(returns) < 2:
        return math.nan
    excess = returns.mean() - risk_free_rate / SESSIONS_PER_YEAR
    return _ratio(float(excess), float(returns.std(ddof=1))) * math.sqrt(SESSIONS_PER_YEAR)


def sortino(equity: pd.Series, risk_free_rate: float = 0.0) -> float:
    returns = daily_returns(equity)
    excess = returns.mean() - risk_free_rate / SESSIONS_PER_YEAR
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return _ratio(float(excess), downside) * math.sqrt(SESSIONS_PER_YEAR)


def max_drawdown(equity: pd.Series) -> float:
    values = _validated_positive(equity).to_numpy()
    return float(np.max(1.0 - values / np.maximum.accumulate(values)))


def calmar(equity: pd.Series) -> float:
    return _ratio(cagr(equity), max_drawdown(equity))


def _dated_amounts(amounts, equity: pd.Series, name: str) -> float:
    """The total of a dollar series (or a plain number) whose dates lie within the curve's."""
    if isinstance(amounts, pd.Series):
        if len(amounts) and not isinstance(amounts.index, pd.DatetimeIndex):
            raise MetricsInputError(f"{name} must have a DatetimeIndex, got "
                                    f"{type(amounts.index).__name__}")
        values = _finite_values(amounts, name)
        outside = (amounts.index < equity.index[0]) | (amounts.index > equity.index[-1])
        if outside.any():
            raise MetricsInputError(
                f"{name} has an amount on {amounts.index[int(np.argmax(outside))]}, outside "
                f"the equity curve's dates {equity.index[0]} to {equity.index[-1]}")
        return math.fsum(values.tolist())
    total = float(amounts)
    if not math.isfinite(total):
        raise MetricsInputError(f"{name} total must be finite, got {amounts!r}")
    return total


def turnover_annual(equity: pd.Series, traded_notional) -> float:
    """``traded_notional``: dollars traded (signed or not; absolute values are summed), as a
    dated Series within the curve's dates or as one total."""
    equity = _validated_positive(equity)
    if isinstance(traded_notional, pd.Series):
        traded_notional = traded_notional.abs()
    elif float(traded_notional) < 0:
        raise MetricsInputError(f"traded notional total must be >= 0, got {traded_notional}")
    total = _dated_amounts(traded_notional, equity, "traded notional")
    return total / float(equity.mean()) / years(equity)


def cost_drag_bps_annual(equity: pd.Series, costs) -> float:
    """``costs``: dollars paid (fees, slippage), as a dated Series within the curve's dates or
    as one total. A negative cost (a rebate) is allowed and lowers the drag."""
    equity = _validated_positive(equity)
    total = _dated_amounts(costs, equity, "costs")
    return total / float(equity.mean()) / years(equity) * 1e4


def _paired_returns(equity: pd.Series, benchmark: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    equity = _validated_positive(equity)
    benchmark = _validated_positive(benchmark, "benchmark")
    missing = equity.index.difference(benchmark.index)
    if len(missing):
        raise MetricsInputError(f"benchmark has no value on {len(missing)} of the equity "
                                f"curve's dates, first {missing[0]}")
    paired = benchmark.reindex(equity.index).to_numpy()
    return daily_returns(equity), paired[1:] / paired[:-1] - 1.0


def beta(equity: pd.Series, benchmark: pd.Series) -> float:
    returns, bench = _paired_returns(equity, benchmark)
    if len(returns) < 2:
        return math.nan
    return _ratio(float(np.cov(returns, bench, ddof=1)[0, 1]), float(bench.var(ddof=1)))


def alpha(equity: pd.Series, benchmark: pd.Series, risk_free_rate: float = 0.0) -> float:
    returns, bench = _paired_returns(equity, benchmark)
    b = beta(equity, benchmark)
    daily_rf = risk_free_rate / SESSIONS_PER_YEAR
    return float((returns.mean() - daily_rf) - b * (bench.mean() - daily_rf)) * SESSIONS_PER_YEAR


def tracking_error(equity: pd.Series, benchmark: pd.Series) -> float:
    returns, bench = _paired_returns(equity, benchmark)
    if len(returns) < 2:
        return math.nan
    return float((returns - bench).std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR))


def information_ratio(equity: pd.Series, benchmark: pd.Series) -> float:
    returns, bench = _paired_returns(equity, benchmark)
    return _ratio(float((returns - bench).mean()) * SESSIONS_PER_YEAR,
                  tracking_error(equity, benchmark))


def benchmark_description(benchmark: pd.Series | None) -> str | None:
    """What ``benchmark`` is (its ``attrs["description"]``), for an output's conventions: a
    price index against total-return closes flatters alpha, and the reader must be told."""
    if benchmark is None:
        return None
    return str(benchmark.attrs.get("description") or
               "a benchmark series given without a description (price or total return unknown)")


def covering_benchmark(benchmark: pd.Series | None, dates: pd.DatetimeIndex
                       ) -> tuple[pd.Series | None, str | None]:
    """(``benchmark``, or None when the run reaches past its data; what it is, and why it was
    left out). A run before the benchmark's first level or after its last (the embedded S&P
    500 ends in 2022) gets null benchmark metrics and says so, rather than no result at all;
    a gap inside the benchmark's range is left to :func:`performance_metrics` to refuse."""
    text = benchmark_description(benchmark)
    if benchmark is None:
        return None, None
    levels = benchmark[np.isfinite(benchmark.to_numpy(dtype=float))]
    known = pd.DatetimeIndex(levels.index)
    if len(known) and known.tz is not None and pd.DatetimeIndex(dates).tz is None:
        known = known.tz_localize(None)
    if not len(known):
        return None, f"{text}; it has no level at all, so the benchmark metrics are null"
    outside = dates[(dates < known.min()) | (dates > known.max())]
    if not len(outside):
        return benchmark, text
    return None, (f"{text}; it has no level on {len(outside)} of the run's {len(dates)} "
                  f"sessions (it covers {known.min():%Y-%m-%d} to {known.max():%Y-%m-%d}; the "
                  f"first outside: {outside[0]:%Y-%m-%d}), so alpha, beta, tracking error and "
                  "the information ratio are null")


def performance_metrics(equity: pd.Series, benchmark: pd.Series | None = None,
                        traded_notional=None, costs=None,
                        risk_free_rate: float = 0.0) -> PerformanceMetrics:
    """Every metric of ``equity`` (dollars, dated sessions) under the module's conventions."""
    if not math.isfinite(risk_free_rate):
        raise MetricsInputError(f"risk_free_rate must be finite, got {risk_free_rate!r}")
    equity = _validated_positive(equity)
    values = equity.to_numpy()
    extra = {}
    if traded_notional is not None:
        extra["turnover_annual"] = turnover_annual(equity, traded_notional)
    if costs is not None:
        extra["cost_drag_bps_annual"] = cost_drag_bps_annual(equity, costs)
    if benchmark is not None:
        extra.update(alpha=alpha(equity, benchmark, risk_free_rate), beta=beta(equity, benchmark),
                     tracking_error=tracking_error(equity, benchmark),
                     information_ratio=information_ratio(equity, benchmark))
    return PerformanceMetrics(
        start=equity.index[0], end=equity.index[-1], sessions=len(equity),
        final_equity=float(values[-1]), total_return=float(values[-1] / values[0] - 1.0),
        cagr=cagr(equity), volatility=volatility(equity),
        sharpe=sharpe(equity, risk_free_rate), sortino=sortino(equity, risk_free_rate),
        max_drawdown=max_drawdown(equity), calmar=calmar(equity), **extra)


__all__ = [
    "SESSIONS_PER_YEAR", "MetricsInputError", "PerformanceMetrics", "alpha",
    "benchmark_description", "beta", "cagr", "calmar", "covering_benchmark", "cost_drag_bps_annual", "daily_returns", "information_ratio", "max_drawdown",
    "performance_metrics", "sharpe", "sortino", "tracking_error", "turnover_annual",
    "volatility", "years",
]
