"""The report's verdict: a few sentences written from the numbers (no claim is fixed in text:
every comparison is decided here from the values passed in)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from research.analytics.metrics import SESSIONS_PER_YEAR


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1%}"


def _num(x: float, fmt: str = ".2f") -> str:
    return "n/a" if not math.isfinite(x) else format(x, fmt)


def performance_sentence(metrics: Any, benchmark: Any | None) -> str:
    """Return, risk and drawdown of the portfolio, against the benchmark's when given."""
    years = (metrics.sessions - 1) / SESSIONS_PER_YEAR  # equity points, the first the start
    text = (f"Over {metrics.start:%Y-%m-%d}..{metrics.end:%Y-%m-%d} ({years:.1f} years) the "
            f"portfolio compounded {_pct(metrics.cagr)} a year with Sharpe "
            f"{_num(metrics.sharpe)} and a worst drawdown of {_pct(metrics.max_drawdown)}")
    if benchmark is None:
        return text + "."
    better = metrics.cagr > benchmark.cagr
    safer = metrics.max_drawdown < benchmark.max_drawdown
    text += (f"; the benchmark compounded {_pct(benchmark.cagr)} (Sharpe "
             f"{_num(benchmark.sharpe)}, worst drawdown {_pct(benchmark.max_drawdown)}). "
             f"The portfolio {'beat' if better else 'trailed'} it by "
             f"{_pct(abs(metrics.cagr - benchmark.cagr))} a year with a "
             f"{'shallower' if safer else 'deeper'} worst drawdown")
    if math.isfinite(metrics.beta):
        text += (f" (beta {_num(metrics.beta)}, alpha {_pct(metrics.alpha)} a year, "
                 f"information ratio {_num(metrics.information_ratio)})")
    return text + "."


def cost_sentence(metrics: Any, costs_bps: dict[str, float]) -> str:
    """What trading cost, a year and per dollar traded, and its share of the return."""
    drag = metrics.cost_drag_bps_annual
    text = (f"Trading paid {_num(drag, '.1f')} bps of equity a year (spread, impact, fees) at "
            f"a turnover of {_num(metrics.turnover_annual)}x a year; the implementation "
            f"shortfall was {_num(costs_bps.get('total', math.nan), '.1f')} bps of the traded "
            "notional")
    if math.isfinite(drag) and math.isfinite(metrics.cagr) and metrics.cagr > 0:
        text += f", the drag {drag / 1e4 / metrics.cagr:.1%} of the annual return"
    return text + "."


def algorithm_sentences(table: pd.DataFrame, baseline: str, skipped: dict[str, str]
                        ) -> list[str]:
    """One sentence per alternative algorithm: resolved better, resolved worse, or not
    resolved (its 95% t interval contains 0), and one per skipped algorithm."""
    out = []
    for name, row in table.drop(index=baseline, errors="ignore").iterrows():
        lo, hi, mean = row["ci_lo"], row["ci_hi"], row["diff_bps"]
        interval = f"{mean:+.2f} bps per rebalance window [{lo:+.2f}, {hi:+.2f}], " \
                   f"{int(row['n_windows'])} windows"
        if lo == hi == mean == 0.0:
            judged = f"identical to {baseline} on this data (every window equal)"
        elif not (math.isfinite(lo) and math.isfinite(hi)):
            judged = "too few windows to judge"
        elif lo > 0:
            judged = f"better than {baseline}"
        elif hi < 0:
            judged = f"worse than {baseline}"
        else:
            judged = f"not resolved from {baseline} (the interval contains 0)"
        out.append(f"**{name}**: {judged}: {interval}; final equity "
                   f"{row['final_equity_diff']:+,.0f} $ against {baseline}'s.")
    out += [f"**{name}**: not run: {why}" for name, why in skipped.items()]
    return out


def verdict_markdown(metrics: Any, benchmark: Any | None, costs_bps: dict[str, float],
                     table: pd.DataFrame | None = None, baseline: str | None = None,
                     skipped: dict[str, str] | None = None,
                     assumptions: list[str] | None = None) -> str:
    """The verdict as markdown: performance, costs, the algorithms (if compared) and the
    assumptions the data forced."""
    parts = [performance_sentence(metrics, benchmark), cost_sentence(metrics, costs_bps)]
    if table is not None and baseline is not None:
        lines = algorithm_sentences(table, baseline, skipped or {})
        if lines:
            parts.append(f"Execution algorithms against the config's own ({baseline}), "
                         "paired by rebalance, 95% t intervals:\n\n"
                         + "\n".join(f"- {line}" for line in lines))
    if assumptions:
        parts.append("These numbers rest on what the data lacked and was modelled:\n\n"
                     + "\n".join(f"- {a}" for a in assumptions))
    return "\n\n".join(parts)
