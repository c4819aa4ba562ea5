"""What a config's backtest trades on: its bars resolved (the embedded real daily closes, a
dataset of the store, or a file), the replay's frequency settled, and the run started — one
place that ``qlab backtest``, the backtest report, sweeps and ``validate-run`` all call.

Bars (``--bars``, default the config's ``universe.dataset``):

* ``sp500_daily`` (:data:`EMBEDDED_DAILY`): the embedded real daily closes of 20 S&P 500
  stocks, 1990-01-02..2022-12-28 (skfolio) — closes only, so the daily market models the
  open, the range and the volume (``meta.assumptions`` of the result says how);
* a dataset of the local store, daily or minute bars;
* a CSV/Parquet file in the bar schema.

Frequency (``--frequency``, default: the data's own): minute bars replay minute by minute;
daily bars, or minute bars aggregated to daily ones when ``daily`` is asked, replay through
:mod:`sim.daily_market`. Daily data cannot be replayed by the minute.

Engine (``--engine``): ``replay`` (the trading loop over the simulated broker) or ``vectorbt``
(the fast research path on the daily closes, :mod:`sim.backtest_vectorbt`; daily only, minute
bars are aggregated to daily ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ, Frequency
from research.data.sources import EMBEDDED_DAILY_DATASET

#: The name under which a run config or ``--bars`` selects the embedded real daily closes.
EMBEDDED_DAILY = EMBEDDED_DAILY_DATASET  # one name, research's


class BacktestDataError(ValueError):
    """The bars cannot be backtested as asked (the message names the input)."""


def _daily_frame_frequency(frame: pd.DataFrame) -> Frequency:
    from sim.replay import bar_minutes_of

    stamps = pd.DatetimeIndex(frame["timestamp"]).unique().sort_values()
    return Frequency.MINUTE if bar_minutes_of(stamps) is not None else Frequency.DAILY


ENGINES = ("replay", "vectorbt")


def run_config_backtest(config: Any, settings: Any, *, bars: str | None = None,
                        frequency: str | None = None, start: Any = None, end: Any = None,
                        run_id: str | None = None, engine: str = "replay",
                        costs: Any = None):
    """Backtest ``config`` (a RunConfig) over ``bars`` from ``start`` to ``end`` (defaults: the
    config's universe) at ``frequency`` (default: the data's own) on ``engine``; returns
    :class:`sim.backtest.BacktestResult`. ``costs``: the vectorbt engine's
    :class:`research.analytics.FlatCosts` (default 5 bps slippage, 5 bps fees). Raises
    :class:`BacktestDataError` on inputs that cannot be backtested, naming them."""
    from research.data import load_sp500_closes, load_sp500_index
    from sim.backtest import run_backtest, run_daily_backtest

    if engine not in ENGINES:
        raise BacktestDataError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    spec = bars or config.universe.dataset
    start = start or config.universe.start
    end = end or config.universe.end
    asked = None if frequency is None else Frequency.parse(frequency)
    if engine == "vectorbt":
        from functools import partial

        from research.analytics import FlatCosts
        from sim.backtest_vectorbt import run_vectorbt_backtest

        if asked == Frequency.MINUTE:
            raise BacktestDataError("the vectorbt engine backtests daily closes only "
                                    "(--frequency daily, or the replay engine)")
        asked = Frequency.DAILY
        run_daily_backtest = partial(run_vectorbt_backtest, costs=costs or FlatCosts())
    if start is None:
        raise BacktestDataError("no start and no universe.start in the config: name the first "
                                "session to trade (the data before it is the lookback)")
    first = pd.Timestamp(start).normalize()
    last = None if end is None else pd.Timestamp(end).normalize()
    if last is not None and last < first:
        raise BacktestDataError(f"end {last:%Y-%m-%d} is before start {first:%Y-%m-%d}")
    benchmark = load_sp500_index()
    embedded = load_sp500_closes()
    symbols = list(config.universe.symbols)

    if spec == EMBEDDED_DAILY:
        if asked == Frequency.MINUTE:
            raise BacktestDataError(f"{EMBEDDED_DAILY} is daily closes: it cannot be replayed "
                                    "by the minute (--frequency daily, or minute bars)")
        symbols = symbols or list(embedded.columns)
        unknown = sorted(set(symbols) - set(embedded.columns))
        if unknown:
            raise BacktestDataError(f"{EMBEDDED_DAILY} has no closes for {unknown}; it holds "
                                    f"{list(embedded.columns)}")
        closes = embedded[symbols]
        return run_daily_backtest(config, settings, closes, start=first, end=last,
                                  benchmark=benchmark, run_id=run_id,
                                  data=f"embedded real daily closes ({EMBEDDED_DAILY})")

    from sim.tca.study_bars import load_study_bars

    try:
        frame, description, synthetic = load_study_bars(spec, settings, None, end)
    except (OSError, ValueError, KeyError) as exc:  # KeyError: DatasetNotFound
        raise BacktestDataError(f"bars {spec}: {exc.args[0] if exc.args else exc}") from None
    symbols = symbols or sorted(frame["symbol"].unique())
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        raise BacktestDataError(f"{description} has no bars for universe symbol(s) {missing}")
    frame = frame[frame["symbol"].isin(symbols)]
    own = _daily_frame_frequency(frame)
    freq = asked or own
    if freq == Frequency.MINUTE and own == Frequency.DAILY:
        raise BacktestDataError(f"{description} holds daily bars: it cannot be replayed by the "
                                "minute")
    tag = f"{'SYNTHETIC ' if synthetic else ''}{description}"
    day = frame["timestamp"].dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()
    if freq == Frequency.DAILY:
        from research.data import minute_to_daily
        from sim.daily_market import wide_daily_bars

        daily = minute_to_daily(frame) if own == Frequency.MINUTE else frame
        wide = wide_daily_bars(daily)
        closes = wide.pop("close")[symbols]
        # the lookbacks reach before the data: the embedded real closes supply them when
        # these are their prices (synthetic bars end on them), checked on the common sessions
        history, history_note = _lookback_closes(closes, embedded, first, synthetic)
        closes = pd.concat([history.loc[history.index < closes.index[0]], closes])
        if not (closes.index < first).any() or not (closes.index >= first).any():
            raise BacktestDataError(f"{tag} needs data before {first:%Y-%m-%d} (the lookbacks) "
                                    "and from it on (to trade)")
        result = run_daily_backtest(config, settings, closes, start=first, end=last,
                                    bars=wide, benchmark=benchmark, run_id=run_id,
                                    data=tag + (" aggregated to daily bars"
                                                if own == Frequency.MINUTE else ""))
        result.meta["assumptions"].append(history_note)
        return result

    from research.costs import CostModel
    from sim.driver import daily_closes_of
    from sim.tca.study_bars import HISTORY_CALENDAR_DAYS

    # the cost model is fitted on the weeks before the first session, as the TCA study's is
    fit_from = first - pd.Timedelta(days=HISTORY_CALENDAR_DAYS)
    history, traded = frame[(day < first) & (day >= fit_from)], frame[day >= first]
    if last is not None:
        traded = traded[day[day >= first] <= last]
    if history.empty or traded.empty:
        raise BacktestDataError(f"{tag} needs bars before {first:%Y-%m-%d} (to fit the cost "
                                "model) and from it on (to trade)")
    closes, history_note = _lookback_closes(daily_closes_of(frame)[symbols], embedded, first,
                                            synthetic)
    model = CostModel.for_run(config.cost_model, settings.costs).fit(history)
    return run_backtest(config, settings, traded.reset_index(drop=True), daily_closes=closes,
                        cost_model=model, benchmark=benchmark, run_id=run_id, data=tag,
                        assumptions=[history_note])


#: Largest relative difference between a file's daily closes and the embedded real ones on
#: their common sessions for the two to be taken as the same prices (a vendor's other
#: dividend adjustment, a different close auction, or other names entirely exceed it).
SAME_PRICES_TOLERANCE = 0.01


def _lookback_closes(own: pd.DataFrame, embedded: pd.DataFrame, first: pd.Timestamp,
                     synthetic: bool) -> tuple[pd.DataFrame, str]:
    """The daily closes the lookbacks read before ``first`` (``own``: the data's daily
    closes, all of them), and a sentence saying whose: the data's own sessions, or — when the
    data's closes are the embedded real ones within :data:`SAME_PRICES_TOLERANCE` on their
    common sessions (bars synthesised around them are) — the embedded history before them
    (years instead of weeks). A dataset labelled synthetic is checked like any other."""
    symbols = list(own.columns)
    before = own.loc[own.index < first]
    if set(symbols) <= set(embedded.columns):
        real = embedded[symbols]
        common = own.index.intersection(real.index)
        gap = (own.loc[common] / real.loc[common] - 1.0).abs().to_numpy()
        gap = gap[np.isfinite(gap)]  # a session a name has no bar in says nothing either way
        if gap.size and bool(gap.max() <= SAME_PRICES_TOLERANCE):
            start = own.index[0]
            closes = pd.concat([real.loc[real.index < start], before])
            what = "synthesised around them, " if synthetic else ""
            return closes, (f"lookback history: the embedded real daily closes before "
                            f"{start:%Y-%m-%d} (the bars are {what}their prices within "
                            f"{SAME_PRICES_TOLERANCE:.0%} on {len(common)} common session(s))")
    return before, (f"lookback history: the data's own {len(before)} session(s) before "
                    f"{first:%Y-%m-%d}")
