"""Fees of the simulated broker: the fee schedule in force on the day of the bar being filled.

:class:`DatedFeeFn` gives the broker's ``fee_fn(quantity, price, side_sign)`` the fee-schedule
version in force on the date of the bar being filled (Tiger commission + platform fee +
regulatory fees). The broker charges fees per order (a child filled over several bars pays
its per-order minimum once), as Tiger bills them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from sim.broker import SimulatedBroker


def backdated_schedule(schedule, first: dt.date):
    """``schedule`` (a :class:`research.costs.FeeSchedule`) with each component's first version
    in force from ``first`` on when it began later: what :class:`DatedFeeFn` "earliest"
    charges, given to a cost model so that it predicts the fees the broker will charge."""
    versions = {name: ((dataclasses.replace(v[0], effective=min(v[0].effective, first)),
                        *v[1:]) if v else v) for name, v in schedule.versions.items()}
    return dataclasses.replace(schedule, versions=versions)


class DatedFeeFn:
    """Broker ``fee_fn`` charging ``schedule.as_of(date of the bar being filled)``.

    ``before_first``: what a fill dated before the schedule's first version pays — "refuse"
    (default: an error, a backtest must not silently use fees that did not exist yet) or
    "earliest" (the first version, for a long history priced at a broker's fees as if they
    had applied; :attr:`backdated` counts the days it happened on, to be reported)."""

    def __init__(self, schedule, before_first: str = "refuse"):
        if before_first not in ("refuse", "earliest"):
            raise ValueError(f"before_first must be 'refuse' or 'earliest', got {before_first!r}")
        self.schedule = schedule
        self.before_first = before_first
        self.broker: SimulatedBroker | None = None
        self._tables: dict = {}
        self.backdated: set = set()

    def bind(self, broker: SimulatedBroker) -> DatedFeeFn:
        self.broker = broker
        return self

    def __call__(self, quantity: np.ndarray, price: np.ndarray, side_sign: np.ndarray) -> np.ndarray:
        b = self.broker
        day = b.replay.timestamps[max(b.last_bar, 0)].date()
        table = self._tables.get(day)
        if table is None:
            first = self.schedule.first_date
            if self.before_first == "earliest" and first is not None and day < first:
                self.backdated.add(day)
                table = self.schedule.as_of(first)
            else:
                table = self.schedule.as_of(day)
            self._tables[day] = table
        return table.compute(quantity, price, np.asarray(side_sign) < 0)
