"""The simulated venue ``qlab live --dry-run --replay DATASET`` trades against: recorded minute
bars played as the live feed, the simulated broker in Tiger's place, offline and without
credentials — so the live driver (its start-up, reconciliation, kill switch, metrics, status,
logs) can be watched working on a fresh machine.

The venue hands the live entry point what Tiger would: a broker, the daily closes before the
first session (the strategy's and the risk model's lookbacks), the bars before it (the cost
model's fit) and a feed of bars; the live driver does the rest exactly as it does live.
``qlab/cli.py`` (the composition root) gives it to ``live`` — live never imports sim.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from research.data.schema import EXCHANGE_TZ
from research.execution import MarketSnapshot
from sim.broker import SimulatedBroker
from sim.replay import BarReplay

#: Sessions of minute bars kept before the first replayed session to fit the cost model.
HISTORY_SESSIONS = 10


@dataclass
class ReplayVenue:
    """A simulated venue over recorded bars (see the module docstring)."""

    broker: SimulatedBroker
    closes: pd.DataFrame
    history: pd.DataFrame
    first_session: pd.Timestamp
    description: str

    def feed(self) -> Iterator[MarketSnapshot]:
        """The bars as the live feed delivers them: each one after the broker has filled what
        was working against it (the order the replay driver keeps too)."""
        broker = self.broker
        for t in range(broker.last_bar + 1, broker.replay.n_bars):
            broker.process_bar(t)
            yield broker.snapshot(t)


def replay_venue(config: Any, settings: Any, spec: str, since: str | None = None
                 ) -> ReplayVenue:
    """The venue for ``config`` over the minute bars ``spec`` (a dataset of the store or a
    file) from the session ``since`` (default: the config's first rebalance session after
    :data:`HISTORY_SESSIONS` of history, so the replay shows the loop trading)."""
    from research.costs import fee_schedule
    from research.data import BarStore, SynthParams, ensure_synthetic_datasets, load_sp500_closes
    from research.data.sources import SYNTH_MINUTE_DATASET
    from sim.backtest_data import EMBEDDED_DAILY
    from sim.driver import daily_closes_of
    from sim.fees import DatedFeeFn
    from sim.replay import bar_minutes_of
    from sim.tca.study_bars import load_study_bars

    if spec == SYNTH_MINUTE_DATASET:
        ensure_synthetic_datasets(BarStore(settings.data.store_path),
                                  SynthParams.from_settings(settings.data))
    if spec == EMBEDDED_DAILY:
        raise ValueError(f"--replay {spec}: the embedded daily closes; the live loop replays "
                         f"minute bars (e.g. {SYNTH_MINUTE_DATASET})")
    try:
        frame, description, synthetic = load_study_bars(spec, settings, None, None)
    except (OSError, KeyError) as exc:  # KeyError: DatasetNotFound
        raise ValueError(f"--replay {spec}: {exc.args[0] if exc.args else exc}") from None
    symbols = list(config.universe.symbols)
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        raise ValueError(f"--replay {spec}: no bars for universe symbol(s) {missing}")
    frame = frame[frame["symbol"].isin(symbols)].reset_index(drop=True)
    stamps = pd.DatetimeIndex(frame["timestamp"])
    if bar_minutes_of(stamps.unique().sort_values()) is None:
        raise ValueError(f"--replay {spec}: daily bars; the live loop replays minute bars")
    day = stamps.tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
    sessions = day.unique().sort_values()
    if since is None:
        if len(sessions) <= HISTORY_SESSIONS:
            raise ValueError(f"--replay {spec}: {len(sessions)} session(s); need more than "
                             f"{HISTORY_SESSIONS} (history for the cost model)")
        from research.trading import config_rebalance_dates

        ready = sessions[HISTORY_SESSIONS:]
        rebalances = config_rebalance_dates(config, sessions)
        rebalances = rebalances[rebalances >= ready[0]]
        first = rebalances[0] if len(rebalances) else ready[0]
    else:
        from research.config import parse_iso_date

        try:
            first = pd.Timestamp(parse_iso_date(since))
        except ValueError as exc:
            raise ValueError(f"--since: {exc}") from None
        if not (sessions >= first).any() or not (sessions < first).any():
            raise ValueError(f"--replay {spec}: --since {first:%Y-%m-%d} needs sessions before "
                             f"it (history) and from it on ({sessions[0]:%Y-%m-%d}.."
                             f"{sessions[-1]:%Y-%m-%d})")
    kept = sessions[sessions < first][-HISTORY_SESSIONS:]
    history = frame[(day >= kept[0]) & (day < first)]
    traded = frame[day >= first].reset_index(drop=True)
    embedded = load_sp500_closes()
    if set(symbols) <= set(embedded.columns):  # years of real closes: the lookbacks
        closes = embedded[symbols].loc[embedded.index < first]
    else:
        closes = daily_closes_of(frame[day < first])[symbols]
    replay = BarReplay.from_frame(traded, symbols)
    fee_fn = DatedFeeFn(fee_schedule(config.cost_model.fee_schedule,
                                     flat_bps=settings.costs.flat_fee_bps))
    broker = SimulatedBroker(replay, settings.simulation,
                             latency_bars=settings.execution.latency_bars, fee_fn=fee_fn,
                             initial_cash=config.strategy.capital)
    fee_fn.bind(broker)
    tag = "SYNTHETIC " if synthetic else ""
    return ReplayVenue(broker, closes, history, first,
                       f"{tag}{description} from {first:%Y-%m-%d} through the simulated broker")
