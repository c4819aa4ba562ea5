"""Explicit fees as versioned data: which fees are charged is read from
``fee_schedules.json`` (or a file of the same format), never hard-coded in formulas.

A :class:`FeeSchedule` holds, per component (commission, platform fee, SEC fee, ...), a list
of versions with effective dates. :meth:`FeeSchedule.as_of` picks the version of every
component in force on a date and returns a :class:`FeeTable`, whose :meth:`FeeTable.compute`
prices a batch of orders in one vectorised pass (dollars per order).

Per component and order, with ``value = quantity * price``::

    raw = per_share * quantity + value_rate * value
    fee = 0                                    if raw == 0 or the side does not pay it
    fee = max(minimum, min(raw, maximum, max_fraction * value))   otherwise

The minimum wins over the caps, as Tiger states for its commission. Schedules:

* ``tiger_us`` — Tiger Brokers US equities (commission, platform fee, agency fee, FINRA TAF on
  sells, SEC Section 31 fee on sells, CAT fee); sources and confidence per entry in the JSON.
* ``zero`` — no fees.
* ``flat_bps`` — ``flat_bps`` basis points of the trade value on both sides (built by
  :func:`fee_schedule` from a parameter; it has no dates).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

FEE_SCHEDULE_FILE = Path(__file__).with_name("fee_schedules.json")
_FORMAT = "qlab.costs.fee_schedules"
_VERSION = 1
_FIELDS = {"effective", "per_share", "value_rate", "minimum", "maximum", "max_fraction", "side",
           "confidence", "source"}


def as_date(value) -> dt.date:
    """A date from a date, datetime, pandas Timestamp or 'YYYY-MM-DD' string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    raise TypeError(f"expected a date, got {value!r}")


@dataclass(frozen=True, slots=True)
class FeeComponent:
    """One fee version. Units: $/share, fraction of value, $ per order."""

    name: str
    effective: dt.date
    per_share: float = 0.0
    value_rate: float = 0.0
    minimum: float = 0.0
    maximum: float = float("inf")
    max_fraction: float = float("inf")
    sells_only: bool = False
    source: str = ""
    confidence: str = ""

    def __post_init__(self) -> None:
        for field in ("per_share", "value_rate", "minimum", "maximum", "max_fraction"):
            value = getattr(self, field)
            if not value >= 0:
                raise ValueError(f"fee {self.name} ({self.effective}): {field} must be >= 0, "
                                 f"got {value}")


@dataclass(frozen=True, eq=False)
class FeeTable:
    """The fee components of a schedule in force on one date, as arrays for vectorised use."""

    schedule: str
    as_of: dt.date | None
    components: tuple[FeeComponent, ...]

    def __post_init__(self) -> None:
        c = self.components
        object.__setattr__(self, "names", tuple(x.name for x in c))
        object.__setattr__(self, "per_share", np.array([x.per_share for x in c], float))
        object.__setattr__(self, "value_rate", np.array([x.value_rate for x in c], float))
        object.__setattr__(self, "minimum", np.array([x.minimum for x in c], float))
        object.__setattr__(self, "maximum", np.array([x.maximum for x in c], float))
        object.__setattr__(self, "max_fraction", np.array([x.max_fraction for x in c], float))
        object.__setattr__(self, "sells_only", np.array([x.sells_only for x in c], float))

    def matrix(self, quantity, price, is_sell, *, children=1) -> np.ndarray:
        """Dollars per (component, order): shape (n_components, n_orders).

        ``children``: each order is sent as this many equal child orders, each paying its own
        per-order minimum and caps."""
        q, price, sell, n = np.broadcast_arrays(
            np.atleast_1d(np.asarray(quantity, dtype=float)), np.asarray(price, dtype=float),
            np.asarray(is_sell, dtype=bool), np.maximum(np.asarray(children, dtype=float), 1.0))
        qc = q / n
        value = qc * price
        raw = self.per_share[:, None] * qc + self.value_rate[:, None] * value
        cap = np.minimum(self.maximum[:, None], self.max_fraction[:, None] * value)
        fee = np.where(raw > 0, np.maximum(self.minimum[:, None], np.minimum(raw, cap)), 0.0)
        pays = (self.sells_only[:, None] == 0) | sell
        return fee * pays * n

    def breakdown(self, quantity, price, is_sell, *, children=1) -> dict[str, np.ndarray]:
        """Dollars per order for each component (see :meth:`matrix`)."""
        m = self.matrix(quantity, price, is_sell, children=children)
        return {name: m[k] for k, name in enumerate(self.names)}

    def compute(self, quantity, price, is_sell, *, children=1) -> np.ndarray:
        """Total fees in dollars per order (see :meth:`matrix`)."""
        if (isinstance(children, int) and children == 1 and isinstance(quantity, np.ndarray) and quantity.ndim == 1
                and isinstance(price, np.ndarray) and price.shape == quantity.shape
                and isinstance(is_sell, np.ndarray) and is_sell.shape == quantity.shape):
            # the hot path (the simulated broker's fills): same numbers, compiled
            from research.costs._fee_kernel import order_fee_totals

            return order_fee_totals(
                quantity.astype(float, copy=False), price.astype(float, copy=False),
                is_sell.astype(bool, copy=False), self.per_share, self.value_rate,
                self.minimum, self.maximum, self.max_fraction, self.sells_only)
        return self.matrix(quantity, price, is_sell, children=children).sum(axis=0)


    def min_order_shares(self, price: float, is_sell: bool, max_fee_bps: float,
                         limit: int = 10**9) -> int | None:
        """The fewest shares an order at ``price`` needs for its fees to be at most
        ``max_fee_bps`` of its notional; None when no order up to ``limit`` shares gets there
        (per-share fees alone above the bound). Fees in bps never rise with the quantity —
        per component max(minimum, min(raw, cap)) / value with raw and cap proportional to
        it — so the smallest such size is found by bisection."""
        if not (np.isfinite(price) and price > 0):
            raise ValueError(f"minimum order size: price must be > 0, got {price!r}")
        if not max_fee_bps > 0:
            raise ValueError(f"minimum order size: max_fee_bps must be > 0, got {max_fee_bps!r}")

        def ok(q: int) -> bool:
            fee = float(self.matrix(q, price, is_sell).sum())
            return fee <= max_fee_bps * 1e-4 * q * price

        if ok(1):
            return 1
        if not ok(limit):
            return None
        low, high = 1, limit  # ok(low) is False, ok(high) is True
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if ok(mid) else (mid, high)
        return high


@dataclass(frozen=True, eq=False)
class FeeSchedule:
    """Versioned fee components of one broker/venue set-up."""

    name: str
    description: str
    versions: dict[str, tuple[FeeComponent, ...]]

    def as_of(self, date) -> FeeTable:
        """The components in force on ``date``. A date before a component's first version is an
        error (a backtest must not silently use fees that did not exist yet)."""
        return _as_of(self, as_date(date))

    @property
    def first_date(self) -> dt.date | None:
        firsts = [v[0].effective for v in self.versions.values() if v]
        return max(firsts) if firsts else None


@lru_cache(maxsize=4096)
def _as_of_cached(schedule: FeeSchedule, date: dt.date) -> FeeTable:
    picked = []
    for name, versions in schedule.versions.items():
        in_force = [v for v in versions if v.effective <= date]
        if not in_force:
            raise ValueError(
                f"fee schedule {schedule.name!r}: no {name} version in force on {date} (its "
                f"first version is effective {versions[0].effective}); use the 'zero' or "
                f"'flat_bps' schedule for earlier dates"
            )
        picked.append(in_force[-1])
    return FeeTable(schedule.name, date, tuple(picked))


def _as_of(schedule: FeeSchedule, date: dt.date) -> FeeTable:
    return _as_of_cached(schedule, date)


def _component(name: str, entry: dict, where: str) -> FeeComponent:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    side = entry.get("side", "both")
    if side not in ("both", "sell"):
        raise ValueError(f"{where}: side must be 'both' or 'sell', got {side!r}")
    try:
        effective = dt.date.fromisoformat(entry["effective"])
    except (KeyError, ValueError):
        raise ValueError(f"{where}: 'effective' must be a YYYY-MM-DD date") from None
    return FeeComponent(
        name=name, effective=effective,
        per_share=float(entry.get("per_share", 0.0)),
        value_rate=float(entry.get("value_rate", 0.0)),
        minimum=float(entry.get("minimum", 0.0)),
        maximum=float(entry.get("maximum", float("inf"))),
        max_fraction=float(entry.get("max_fraction", float("inf"))),
        sells_only=side == "sell",
        source=str(entry.get("source", "")), confidence=str(entry.get("confidence", "")),
    )


def load_fee_schedules(path: str | Path = FEE_SCHEDULE_FILE) -> dict[str, FeeSchedule]:
    """Read a fee-schedule file (JSON, format ``qlab.costs.fee_schedules`` version 1)."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != _FORMAT or data.get("version") != _VERSION:
        raise ValueError(f"{path}: not a {_FORMAT} file of version {_VERSION} "
                         f"(format={data.get('format')!r}, version={data.get('version')!r})")
    out = {}
    for name, spec in data["schedules"].items():
        versions = {}
        for comp, entries in spec.get("components", {}).items():
            parsed = [_component(comp, e, f"{path.name}: {name}.{comp}[{i}]")
                      for i, e in enumerate(entries)]
            dates = [p.effective for p in parsed]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError(f"{path.name}: {name}.{comp} versions must have increasing "
                                 f"effective dates")
            versions[comp] = tuple(parsed)
        out[name] = FeeSchedule(name, spec.get("description", ""), versions)
    return out


@lru_cache(maxsize=1)
def _builtin() -> dict[str, FeeSchedule]:
    return load_fee_schedules(FEE_SCHEDULE_FILE)


@lru_cache(maxsize=64)
def _flat(bps: float) -> FeeSchedule:
    comp = FeeComponent("flat_fee", dt.date.min, value_rate=bps * 1e-4,
                        source="research flat-rate schedule")
    return FeeSchedule("flat_bps", f"{bps:g} bps of trade value on both sides",
                       {"flat_fee": (comp,)})


FEE_SCHEDULES = ("tiger_us", "zero", "flat_bps")


def fee_schedule(name: str = "tiger_us", *, flat_bps: float = 0.0) -> FeeSchedule:
    """A built-in schedule by name: ``tiger_us``, ``zero`` or ``flat_bps`` (with ``flat_bps``)."""
    if name == "flat_bps":
        if not flat_bps >= 0:
            raise ValueError(f"flat_bps must be >= 0, got {flat_bps}")
        return _flat(float(flat_bps))
    schedules = _builtin()
    if name not in schedules:
        raise ValueError(f"unknown fee schedule {name!r}; built-in: {FEE_SCHEDULES}")
    return schedules[name]


def compute_fees(quantity, price, is_sell, date, *, schedule: str | FeeSchedule = "tiger_us",
                 flat_bps: float = 0.0, children=1) -> np.ndarray:
    """Total fees in dollars per order under ``schedule`` as in force on ``date``."""
    sched = schedule if isinstance(schedule, FeeSchedule) else fee_schedule(schedule,
                                                                            flat_bps=flat_bps)
    return sched.as_of(date).compute(quantity, price, is_sell, children=children)
