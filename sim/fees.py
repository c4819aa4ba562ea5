"""Fees of the simulated broker: the fee schedule in force on the day of the bar being filled.

:class:`DatedFeeFn` gives the broker's ``fee_fn(quantity, price, side_sign)`` the fee-schedule
version in force on the date of the bar being filled (Tiger commission + platform fee +
regulatory fees). The broker charges fees per order (a child filled over several bars pays
its per-order minimum once), as Tiger bills them.
"""

from __future__ import annotations

import numpy as np

from sim.broker import SimulatedBroker


class DatedFeeFn:
    """Broker ``fee_fn`` charging ``schedule.as_of(date of the bar being filled)``."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.broker: SimulatedBroker | None = None
        self._tables: dict = {}

    def bind(self, broker: SimulatedBroker) -> DatedFeeFn:
        self.broker = broker
        return self

    def __call__(self, quantity: np.ndarray, price: np.ndarray, side_sign: np.ndarray) -> np.ndarray:
        b = self.broker
        day = b.replay.timestamps[max(b.last_bar, 0)].date()
        table = self._tables.get(day)
        if table is None:
            table = self._tables[day] = self.schedule.as_of(day)
        return table.compute(quantity, price, np.asarray(side_sign) < 0)
