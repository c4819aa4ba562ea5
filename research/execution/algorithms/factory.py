"""Build the algorithm object of a parent order from its strategy and journaled params."""

from __future__ import annotations

from research.domain import Algorithm
from research.execution.algorithms.base import ExecutionAlgorithm
from research.execution.algorithms.limit import LimitAlgorithm
from research.execution.algorithms.market import MarketAlgorithm
from research.execution.algorithms.pov import POVAlgorithm
from research.execution.algorithms.shortfall import (
    ISAlgorithm,
    ScheduleFn,
    almgren_chriss_schedule_fn,
)
from research.execution.algorithms.twap import TWAPAlgorithm
from research.execution.algorithms.vwap import VWAPAlgorithm
from research.execution.model import ParentOrder

_IS_KEYS = ("sigma", "eta", "gamma", "epsilon", "risk_aversion")


def build_algorithm(parent: ParentOrder, schedule_fn: ScheduleFn | None = None) -> ExecutionAlgorithm:
    """Algorithm for ``parent``. Params by strategy:

    * limit: ``offset_bps`` (default 0), ``tif_bars`` (default horizon), ``fallback_to_market``
    * vwap: ``volume_profile`` (list, one weight per bar of the horizon; from past data)
    * pov: ``rate`` (default 0.1)
    * is: ``sigma``, ``eta``, ``gamma``, ``epsilon``, ``risk_aversion`` (Almgren-Chriss,
      per-bar units unless ``horizon`` is given), or an injected ``schedule_fn``.
    * twap, vwap, pov, is: ``min_child_shares`` (default 1), the smallest child but the last
      (fee-aware slicing).
    """
    p = parent.params
    s = parent.algorithm
    min_child = int(p.get("min_child_shares", 1))  # fee-aware slicing; 1 = every slice
    try:
        if s is Algorithm.MARKET:
            return MarketAlgorithm()
        if s is Algorithm.LIMIT:
            return LimitAlgorithm(
                offset_bps=float(p.get("offset_bps", 0.0)),
                tif_bars=int(p.get("tif_bars", parent.horizon_bars)),
                fallback_to_market=bool(p.get("fallback_to_market", True)),
            )
        if s is Algorithm.TWAP:
            return TWAPAlgorithm(parent.quantity, parent.horizon_bars, min_child)
        if s is Algorithm.VWAP:
            return VWAPAlgorithm(parent.quantity, p["volume_profile"][: parent.horizon_bars],
                                 min_child)
        if s is Algorithm.POV:
            return POVAlgorithm(float(p.get("rate", 0.1)), min_child)
        if s is Algorithm.IS:
            fn = schedule_fn
            if fn is None:
                fn = almgren_chriss_schedule_fn(*(float(p[k]) for k in _IS_KEYS))
            return ISAlgorithm(parent.quantity, parent.horizon_bars, fn, p.get("horizon"),
                               min_child)
    except KeyError as exc:
        raise ValueError(
            f"parent {parent.parent_id}: strategy {s.value} needs parameter {exc.args[0]!r}"
        ) from None
    raise ValueError(f"parent {parent.parent_id}: unknown strategy {s!r}")
