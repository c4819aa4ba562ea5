"""Multi-timeframe validation: one run config replayed on minute bars and on the same bars
aggregated to daily ones, over the same sessions, and where their fills, costs and P&L differ.

Both runs read the same prices (the daily bars are the minute bars' open, high, low, close and
summed volume, :func:`research.data.minute_to_daily`), decide on the same closes and trade the
same strategy; what differs is how an order meets the market:

* **fill prices**: on minute bars a parent is worked along the minute path over its horizon
  (from the session's first bar), so its fills sit wherever the path was; on daily bars a
  child sent at the open fills at the session's close -/+ the half spread and the day's
  impact (:mod:`sim.daily_market`), and one sent on the close bar — the rest of a parent the
  engine cut at ``execution.max_order_notional`` — fills in the next session's opening
  auction, at its open. ``fill_vs_close_bps`` measures each fill against its session's close.
* **participation**: a minute child takes up to the cap of a one-minute bar's volume, a daily
  one of the whole session's: the impact law (square root of the share taken) prices the two
  differently, and a parent too large for the minute bars' cap spills over more bars.
* **spread**: the minute replay pays the bars' own quotes (or the synthesiser's) at the minute
  it trades; the daily replay has no quotes and charges one half spread for the session
  (``data.synth_spread_bps / 2``), flat across the day.
* **costs by component**: delay and timing are the mid's drift between the arrival and the
  fills, so they are minutes of drift on minute bars and a whole session's (open to close) on
  daily bars.

P&L differences follow from these (and from the book each run then holds); the by-position
attribution splits them into holding, trading-vs-the-close and fees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.analytics.attribution import pnl_by_symbol
from research.data.schema import EXCHANGE_TZ

RUNS = ("minute", "daily")


class TimeframeInputError(ValueError):
    """The config cannot be compared across timeframes on these bars (the message says why)."""


@dataclass(frozen=True)
class TimeframeComparison:
    """The two runs (``results``: "minute", "daily"), and the tables of :func:`compare`."""

    results: dict[str, Any]
    summary: pd.DataFrame
    costs: pd.DataFrame
    symbols: pd.DataFrame
    reasons: list[str]


def run_timeframes(config: Any, settings: Any, *, bars: str | None = None, start: Any = None,
                   end: Any = None) -> TimeframeComparison:
    """Replay ``config`` on the minute ``bars`` (default its ``universe.dataset``) by the
    minute and aggregated to daily, ``start``..``end`` (defaults: the config's), and
    compare the runs."""
    from sim.backtest_data import BacktestDataError, run_config_backtest

    try:
        minute = run_config_backtest(config, settings, bars=bars, frequency="minute",
                                     start=start, end=end)
    except BacktestDataError as exc:
        raise TimeframeInputError(f"timeframes: the minute replay cannot run: {exc}") from None
    daily = run_config_backtest(config, settings, bars=bars, frequency="daily", start=start,
                                end=end)
    return compare({"minute": minute, "daily": daily})


def compare_with(result: Any, run: Any) -> TimeframeComparison:
    """``result`` (a minute or a daily replay) against the other timeframe's, which
    ``run(frequency)`` produces on the same bars and sessions (the report's path: the run it
    already has is not replayed again)."""
    own = result.meta["frequency"]
    other = "daily" if own == "minute" else "minute"
    return compare({own: result, other: run(other)})


def compare(results: dict[str, Any]) -> TimeframeComparison:
    """The tables of a minute and a daily run of one config (``results`` keyed by
    :data:`RUNS`): ``summary`` (per run: final equity, return, fills, traded, paid costs,
    fill vs close and participation), ``costs`` (each component in $ and bps of traded, per
    run, and the $ difference daily minus minute), ``symbols`` (per symbol and run: fills,
    shares, fill_vs_close_bps, participation, pnl, holding, trading, fees; and pnl_diff) and
    ``reasons`` (what the numbers say, sentence by sentence)."""
    missing = [r for r in RUNS if r not in results]
    if missing:
        raise TimeframeInputError(f"timeframes: no {missing} run to compare")
    m_eq, d_eq = results["minute"].equity, results["daily"].equity
    if not m_eq.index.equals(d_eq.index):
        raise TimeframeInputError(
            f"timeframes: the runs cover different sessions (minute {m_eq.index[0]:%Y-%m-%d}.."
            f"{m_eq.index[-1]:%Y-%m-%d}, daily {d_eq.index[0]:%Y-%m-%d}.."
            f"{d_eq.index[-1]:%Y-%m-%d})")
    fills = {k: fill_measures(r) for k, r in results.items() if k in RUNS}
    summary = pd.DataFrame({k: _summary(results[k], fills[k]) for k in RUNS})
    summary["daily_minus_minute"] = summary["daily"] - summary["minute"]
    costs = pd.DataFrame({
        **{f"{k}_usd": pd.Series(results[k].costs_dollars) for k in RUNS},
        **{f"{k}_bps": pd.Series(results[k].costs_bps()) for k in RUNS}})
    costs["diff_usd"] = costs["daily_usd"] - costs["minute_usd"]
    costs.index.name = "component"
    per = {}
    for k in RUNS:
        r = results[k]
        pnl = pnl_by_symbol(r.trades, r.account.positions, r.closes)
        f = fills[k]
        by = f.groupby("symbol")
        table = pd.DataFrame({
            "fills": by.size(), "shares": by["quantity"].sum(),
            "fill_vs_close_bps": by.apply(_weighted, "vs_close_bps", include_groups=False),
            "participation": by.apply(_weighted, "participation", include_groups=False)})
        per[k] = table.join(pnl[["pnl", "holding", "trading", "fees"]], how="outer")
    symbols = pd.concat(per, axis=1)
    symbols[("diff", "pnl")] = (symbols[("daily", "pnl")].fillna(0.0)
                                - symbols[("minute", "pnl")].fillna(0.0))
    symbols = symbols.sort_values(("diff", "pnl"), key=np.abs, ascending=False)
    return TimeframeComparison(results, summary, costs, symbols,
                               _reasons(summary, costs, results))


def fill_measures(result: Any) -> pd.DataFrame:
    """A run's fills with ``notional``, ``close`` (its session's), ``vs_close_bps`` (the price
    against that close, signed so that > 0 is a cost: a buy above it, a sell below) and
    ``participation`` (quantity over the volume of the bar it filled on) and
    ``open_auction`` (filled in a daily replay's opening auction)."""
    t = result.trades
    if t.empty:
        return t.assign(notional=[], close=[], vs_close_bps=[], participation=[],
                        open_auction=[])
    day = pd.DatetimeIndex(t["time"]).tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
    marks = result.closes.ffill()
    close = marks.to_numpy()[marks.index.get_indexer(day), marks.columns.get_indexer(t["symbol"])]
    sign = np.where(t["side"] == "buy", 1.0, -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return t.assign(notional=t["quantity"] * t["price"], close=close,
                        vs_close_bps=sign * (t["price"] / close - 1.0) * 1e4,
                        participation=t["quantity"] / t["bar_volume"],
                        # a daily replay's opening-auction bar is stamped 09:30; a minute bar,
                        # stamped at its close, never is
                        open_auction=[(x.hour, x.minute) == (9, 30) for x in
                                      pd.DatetimeIndex(t["time"]).tz_convert(EXCHANGE_TZ)])


def _weighted(group: pd.DataFrame, column: str) -> float:
    """Notional-weighted mean of ``column`` over a group of fills."""
    w = group["notional"].to_numpy(float)
    return float(np.sum(w * group[column].to_numpy(float)) / w.sum()) if w.sum() > 0 else np.nan


def _summary(result: Any, fills: pd.DataFrame) -> pd.Series:
    eq = result.equity
    paid = result.paid_costs.sum() if result.paid_costs is not None else np.nan
    return pd.Series({
        "final_equity": float(eq.iloc[-1]), "total_return": float(eq.iloc[-1] / eq.iloc[0] - 1),
        "fills": float(len(fills)), "traded": float(result.traded_notional),
        "paid_costs_usd": float(paid),
        "fill_vs_close_bps": _weighted(fills, "vs_close_bps") if len(fills) else np.nan,
        "participation": _weighted(fills, "participation") if len(fills) else np.nan,
        "max_participation": float(fills["participation"].max()) if len(fills) else np.nan,
        "fills_at_open_auction": float(fills["open_auction"].sum()) if len(fills) else 0.0})


def _reasons(summary: pd.DataFrame, costs: pd.DataFrame, results: dict[str, Any]) -> list[str]:
    """Sentences written from the tables: nothing here is claimed without its number."""
    s = summary
    out = [
        f"Final equity: daily {s.loc['final_equity', 'daily']:,.0f} $ against minute "
        f"{s.loc['final_equity', 'minute']:,.0f} $ "
        f"({s.loc['final_equity', 'daily_minus_minute']:+,.0f} $).",
        f"Fill prices against the session close (notional-weighted, > 0 a cost): minute "
        f"{s.loc['fill_vs_close_bps', 'minute']:+.1f} bps (fills along the minute path over the "
        f"horizon), daily {s.loc['fill_vs_close_bps', 'daily']:+.1f} bps (at the close -/+ the "
        f"half spread and the day's impact, but {s.loc['fills_at_open_auction', 'daily']:.0f} "
        f"of {s.loc['fills', 'daily']:.0f} fills in the next session's opening auction at its "
        "open: the rest of parents the engine cut at execution.max_order_notional, whose "
        "price is the overnight gap and the session's move away from the close).",
        f"Participation (a fill's share of its bar's volume, notional-weighted): minute "
        f"{s.loc['participation', 'minute']:.2%} of a one-minute bar, daily "
        f"{s.loc['participation', 'daily']:.3%} of a session; fills: "
        f"{s.loc['fills', 'minute']:.0f} against {s.loc['fills', 'daily']:.0f}.",
    ]
    c = costs
    for part in ("spread", "impact", "timing", "delay"):
        if part in c.index:
            out.append(f"{part}: minute {c.loc[part, 'minute_usd']:,.0f} $ "
                       f"({c.loc[part, 'minute_bps']:.2f} bps of traded), daily "
                       f"{c.loc[part, 'daily_usd']:,.0f} $ ({c.loc[part, 'daily_bps']:.2f} bps)"
                       + {"spread": ": the minute bars' quotes against the daily market's one "
                                    "half spread a session",
                          "impact": ": the square-root law on a minute bar's volume against "
                                    "a session's",
                          "timing": ": the mid's drift over the minutes worked against over "
                                    "the session to its close",
                          "delay": ": arrival to first fill, a minute against a session"}[part]
                       + ".")
    return out
