"""What cost awareness saved: a config with ``strategy.no_trade_band: cost_aware`` against the
same config with the band off, on the same data and seed, paired by rebalance window
(:func:`.algorithms.rebalance_windows`: the runs share the rebalance schedule).

Per window, in each run: ``turnover`` (traded notional of the window's sessions over the
window's starting equity), ``cost_bps`` (what trading paid in those sessions — spread, impact,
fees, the backtest's cost drag — in bps of the starting equity) and ``return_bps`` (the
equity's return over the window, net of everything). The paired observation is the band's
value minus the band-off value; its mean comes with the report's 95% intervals
(:func:`.algorithms.mean_interval`: Student's t, and a seeded bootstrap as a check), windows
treated as independent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.backtest_report.algorithms import mean_interval, rebalance_windows
from sim.backtest_report.tables import ReportInputError

MEASURES = ("turnover", "cost_bps", "return_bps")


def without_band(config: Any) -> Any:
    """``config`` with ``strategy.no_trade_band`` off (every other field kept)."""
    return config.model_copy(update={"strategy": config.strategy.model_copy(
        update={"no_trade_band": "off"})})


def window_measures(result: Any) -> pd.DataFrame:
    """One row per rebalance window of ``result`` (index: its decision session): ``start``,
    ``end``, ``turnover``, ``cost_bps``, ``return_bps`` and ``skipped`` (trades the band
    skipped at the window's rebalance)."""
    windows = rebalance_windows(result.equity, result.decisions)
    traded = result.account.traded_notional.cumsum()
    paid = result.paid_costs.reindex(result.equity.index, fill_value=0.0).cumsum()
    skipped = {pd.Timestamp(d["session"]): d.get("skipped_by_no_trade_band", 0)
               for d in result.decisions}
    # the window's sessions are those after its starting close, up to its ending one
    base = windows["equity_start"]
    out = pd.DataFrame({
        "start": windows["start"], "end": windows["end"],
        "turnover": (traded.loc[windows["end"]].to_numpy()
                     - traded.loc[windows["start"]].to_numpy()) / base,
        "cost_bps": (paid.loc[windows["end"]].to_numpy()
                     - paid.loc[windows["start"]].to_numpy()) / base * 1e4,
        "return_bps": windows["return_bps"],
        "skipped": [int(skipped.get(s, 0)) for s in windows.index]})
    return out


def cost_awareness_table(banded: Any, unbanded: Any, *, seed: int = 0,
                         level: float = 0.95) -> pd.DataFrame:
    """Per measure (rows: turnover, cost_bps, return_bps): the mean window value with the band
    (``with_band``) and without (``without_band``), the paired mean difference (``diff``,
    with minus without), its t interval (``ci_lo``/``ci_hi``) and bootstrap interval
    (``boot_lo``/``boot_hi``), and ``n_windows`` paired."""
    on, off = window_measures(banded), window_measures(unbanded)
    both = on.add_suffix("_on").join(off.add_suffix("_off"), how="inner")
    if both.empty:
        raise ReportInputError("cost awareness: the runs share no rebalance window")
    rows = {}
    for m in MEASURES:
        diff = (both[f"{m}_on"] - both[f"{m}_off"]).to_numpy(float)
        mean, lo, hi = mean_interval(diff, method="t", level=level)
        _, blo, bhi = mean_interval(diff, method="bootstrap", level=level, seed=seed)
        rows[m] = {"with_band": float(both[f"{m}_on"].mean()),
                   "without_band": float(both[f"{m}_off"].mean()), "diff": mean,
                   "ci_lo": lo, "ci_hi": hi, "boot_lo": blo, "boot_hi": bhi,
                   "n_windows": len(diff)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("measure")


def cost_awareness_sentence(table: pd.DataFrame, skipped: int) -> str:
    """What the band did, from the table: each measure's paired difference, resolved or not."""
    def part(measure: str, what: str, fmt: str) -> str:
        r = table.loc[measure]
        if r["diff"] == 0 and not (r["ci_hi"] > 0 or r["ci_lo"] < 0):
            return f"{what} nothing (every window equal)"
        if not (np.isfinite(r["ci_lo"]) and np.isfinite(r["ci_hi"])):
            return f"{what} {format(r['diff'], fmt)} (too few windows to judge)"
        judged = "resolved" if (r["ci_lo"] > 0 or r["ci_hi"] < 0) else "not resolved"
        return (f"{what} {format(r['diff'], fmt)} [{format(r['ci_lo'], fmt)}, "
                f"{format(r['ci_hi'], fmt)}] ({judged})")

    n = int(table["n_windows"].iloc[0])
    return (f"The cost-aware no-trade band skipped {skipped} trade(s); against the same config "
            f"without it, per rebalance window ({n} paired, 95% t intervals): turnover "
            + part("turnover", "changed by", "+.4f") + ", cost "
            + part("cost_bps", "by", "+.2f") + " bps of equity, net return "
            + part("return_bps", "by", "+.2f") + " bps.")
