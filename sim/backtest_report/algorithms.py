"""The execution algorithms compared at the portfolio level: the same run config traded with
``execution.algorithm`` swapped, on the same data, and the runs paired by rebalance.

A rebalance's **window** runs from the close before its decision session (the decision reads
closes up to it; the orders trade from that session on) to the close before the next
rebalance's session (the last window: to the run's last close). Its P&L is the equity's change
over the window, in $ and in bps of the equity at the window's start. Runs of one config share
the rebalance schedule, so the windows pair by decision session; the difference of each
window's return (alternative minus the config's own algorithm, bps of the window's starting
equity) is the paired observation. Everything the algorithms change (costs, fill timing, shares
left unfilled and so market exposure) is in it.

The mean difference comes with a 95% interval: Student's t over the windows (the headline),
and a seeded percentile bootstrap of the mean as a check that does not assume normality. Both
treat windows as independent; monthly windows of one portfolio are close to that, daily ones
less so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.backtest_report.tables import ReportInputError

#: Resamples of the bootstrap interval (its Monte Carlo error on a 95% bound is ~0.2% of the
#: interval's width at this size).
BOOTSTRAP_RESAMPLES = 10_000


@dataclass(frozen=True)
class AlgorithmRuns:
    """One config run per execution algorithm: ``baseline`` (the config's own algorithm),
    ``results`` (algorithm -> BacktestResult, the baseline first) and ``skipped`` (algorithm ->
    why it could not run on this data)."""

    baseline: str
    results: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)


def with_algorithm(config: Any, algorithm: str) -> Any:
    """``config`` with ``execution.algorithm`` swapped (every other field kept)."""
    return config.model_copy(update={"execution": config.execution.model_copy(
        update={"algorithm": algorithm})})


def run_algorithms(config: Any, algorithms: Iterable[str], run: Callable[[Any], Any], *,
                   baseline_result: Any = None,
                   progress: Callable[[Iterable[str]], Iterable[str]] | None = None
                   ) -> AlgorithmRuns:
    """Run ``config`` once per algorithm with ``run(config) -> BacktestResult``. The config's
    own algorithm is the baseline, always run (or ``baseline_result`` reused). An algorithm
    whose parents cannot be built on this data (VWAP without a fitted volume profile, IS
    without a fitted cost model: :class:`research.trading.AlgorithmInputError`) is skipped with
    its reason; any other failure propagates. ``progress`` wraps the list (e.g. tqdm)."""
    from research.trading import AlgorithmInputError

    baseline = str(getattr(config.execution.algorithm, "value", config.execution.algorithm))
    names = [baseline] + [str(getattr(a, "value", a)) for a in algorithms
                          if str(getattr(a, "value", a)) != baseline]
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in (progress(names) if progress else names):
        if name == baseline and baseline_result is not None:
            results[name] = baseline_result
            continue
        try:
            results[name] = run(with_algorithm(config, name))
        except AlgorithmInputError as exc:
            if name == baseline:
                raise
            skipped[name] = str(exc)
    return AlgorithmRuns(baseline, results, skipped)


def rebalance_windows(equity: pd.Series, decisions: list[dict]) -> pd.DataFrame:
    """One row per rebalance decision (index: its session): ``start`` and ``end`` (the closes
    bounding its window, see the module), ``equity_start``, ``pnl`` ($) and ``return_bps``
    (bps of ``equity_start``). Decisions before the curve's second point have no window."""
    sessions = sorted({pd.Timestamp(d["session"]) for d in decisions
                       if d.get("kind", "rebalance") == "rebalance"})
    index = equity.index
    rows = []
    for k, session in enumerate(sessions):
        start_at = index.searchsorted(session, side="left") - 1
        if start_at < 0:
            raise ReportInputError(f"rebalance of {session:%Y-%m-%d} has no close before it "
                                   "in the equity curve")
        if k + 1 < len(sessions):
            end_at = index.searchsorted(sessions[k + 1], side="left") - 1
        else:
            end_at = len(index) - 1
        if end_at <= start_at:
            continue
        e0, e1 = float(equity.iloc[start_at]), float(equity.iloc[end_at])
        rows.append((session, index[start_at], index[end_at], e0, e1 - e0,
                     (e1 / e0 - 1.0) * 1e4))
    out = pd.DataFrame(rows, columns=["session", "start", "end", "equity_start", "pnl",
                                      "return_bps"])
    return out.set_index("session")


def mean_interval(x: np.ndarray, *, method: str = "t", level: float = 0.95, seed: int = 0,
                  resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float, float]:
    """(mean, low, high) of ``x`` with a ``level`` interval: ``"t"`` (Student's t, n-1 degrees
    of freedom) or ``"bootstrap"`` (percentile interval of ``resamples`` seeded resampled
    means). Fewer than 2 finite values: the interval is NaN."""
    values = np.asarray(x, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    alpha = 1.0 - level
    if method == "t":
        from scipy import stats

        half = stats.t.ppf(1.0 - alpha / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
        return mean, mean - float(half), mean + float(half)
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
        lo, hi = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
        return mean, float(lo), float(hi)
    raise ReportInputError(f"interval method must be 't' or 'bootstrap', got {method!r}")


def paired_differences(runs: AlgorithmRuns) -> pd.DataFrame:
    """Long frame of the paired windows: ``algorithm``, ``session``, ``return_bps`` (the
    alternative's), ``baseline_bps`` and ``diff_bps`` (alternative minus baseline), on the
    sessions both runs rebalanced."""
    base = rebalance_windows(runs.results[runs.baseline].equity,
                             runs.results[runs.baseline].decisions)["return_bps"]
    frames = []
    for name, result in runs.results.items():
        if name == runs.baseline:
            continue
        alt = rebalance_windows(result.equity, result.decisions)["return_bps"]
        both = pd.concat({"return_bps": alt, "baseline_bps": base}, axis=1, join="inner")
        both["diff_bps"] = both["return_bps"] - both["baseline_bps"]
        both.insert(0, "algorithm", name)
        frames.append(both.rename_axis("session").reset_index())
    if not frames:
        return pd.DataFrame(columns=["algorithm", "session", "return_bps", "baseline_bps",
                                     "diff_bps"])
    return pd.concat(frames, ignore_index=True)


def algorithm_table(runs: AlgorithmRuns, *, seed: int = 0, level: float = 0.95
                    ) -> pd.DataFrame:
    """One row per algorithm run: total return, CAGR, Sharpe, max drawdown, cost drag (bps a
    year), the cost components' total (bps of traded), fills and, against the baseline, the
    paired windows ``n_windows``, ``diff_bps`` (mean window difference), its t interval
    (``ci_lo``/``ci_hi``) and bootstrap interval (``boot_lo``/``boot_hi``, seeded), and
    ``final_equity_diff`` ($)."""
    pairs = paired_differences(runs)
    base_final = float(runs.results[runs.baseline].equity.iloc[-1])
    rows = []
    for name, result in runs.results.items():
        m = result.metrics
        row = {"algorithm": name, "total_return": m.total_return, "cagr": m.cagr,
               "sharpe": m.sharpe, "max_drawdown": m.max_drawdown,
               "cost_drag_bps_annual": m.cost_drag_bps_annual,
               "cost_bps_of_traded": result.costs_bps().get("total", float("nan")),
               "fills": len(result.trades),
               "final_equity_diff": float(result.equity.iloc[-1]) - base_final}
        diffs = pairs.loc[pairs["algorithm"] == name, "diff_bps"].to_numpy()
        if name == runs.baseline:
            row.update(n_windows=len(rebalance_windows(result.equity, result.decisions)),
                       diff_bps=0.0, ci_lo=np.nan, ci_hi=np.nan, boot_lo=np.nan,
                       boot_hi=np.nan)
        else:
            mean, lo, hi = mean_interval(diffs, method="t", level=level)
            _, blo, bhi = mean_interval(diffs, method="bootstrap", level=level, seed=seed)
            row.update(n_windows=len(diffs), diff_bps=mean, ci_lo=lo, ci_hi=hi, boot_lo=blo,
                       boot_hi=bhi)
        rows.append(row)
    return pd.DataFrame(rows).set_index("algorithm")
