"""The execution policy of a run config turned into each parent's algorithm and **all** its
parameters, from past data only — written once, for live trading, replays and the TCA study.

Per algorithm (``execution.*`` fields of the run config):

* market: no parameter.
* limit: one passive limit at the mid -/+ ``limit_offset_bps``; it works the horizon less the
  last ``limit_cleanup_minutes`` (at least one bar), then the rest goes at market if
  ``limit_fallback_to_market``.
* twap: no parameter (equal slices over the horizon).
* vwap: slices along the expected volume of each bar of the horizon, from the time-of-day
  volume profile fitted on past sessions (``CostModel.volume_profile_``: estimated from minute
  bars when it was fitted on them, else the documented default U-shape).
* pov: ``pov_rate`` of the market volume realised since arrival.
* fee-aware slicing (twap, vwap, pov, is; ``max_child_fee_bps`` set): ``min_child_shares``,
  the fewest shares a child needs for the run's fee schedule (per-order minimums) to charge at
  most ``max_child_fee_bps`` of its notional at the arrival mid; no child but the last is
  smaller (:func:`research.execution.algorithms.base.fee_aware_child`).
* is: the Almgren–Chriss (2000) trade list, its coefficients from the fitted cost model's
  per-symbol state (daily volatility, ADV and spread, all from past bars) and the policy's
  ``is_impact_y`` and ``risk_aversion``: the square-root cost Y·σ·P·sqrt(X/ADV) per share is
  matched by the linear temporary impact η·X/T at the order's own size X and horizon T.

A parent whose algorithm cannot be built (an input is missing) raises
:class:`AlgorithmInputError` naming the parent, the algorithm and the input — before anything
is journaled, so a restart never replays a poisoned parent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from research.domain import Algorithm, Side
from research.execution.algorithms import ExecutionAlgorithm, build_algorithm
from research.execution.model import ParentOrder

SESSION_MINUTES = 390
#: Algorithms that slice a parent into several children (fee-aware slicing applies to them).
#: The algorithms that cut a parent into children (fee-aware slicing applies to them).
SLICED_ALGORITHMS = (Algorithm.TWAP, Algorithm.VWAP, Algorithm.POV, Algorithm.IS)
#: Fee-schedule date for a plan without a session date: the latest version in force.
_LATEST_FEES = "2100-01-01"


class AlgorithmInputError(ValueError):
    """A parent's execution algorithm lacks an input; the message names parent, algorithm and
    input. Raised before the parent is registered with the engine."""

    def __init__(self, parent_id: str, algorithm: str, missing: str):
        self.parent_id, self.algorithm, self.missing = parent_id, algorithm, missing
        super().__init__(f"parent {parent_id}: algorithm {algorithm} cannot be built: {missing}")


def limit_params(offset_bps: float, horizon_bars: int, cleanup_bars: int,
                 fallback_to_market: bool) -> dict[str, Any]:
    """A limit working ``horizon_bars - cleanup_bars`` bars (at least one), then the rest at
    market when ``fallback_to_market``."""
    return {"offset_bps": float(offset_bps), "tif_bars": max(1, int(horizon_bars - cleanup_bars)),
            "fallback_to_market": bool(fallback_to_market)}


def pov_params(rate: float) -> dict[str, Any]:
    """POV: follow ``rate`` of the market volume realised since arrival."""
    return {"rate": float(rate)}


def vwap_params(per_bar_profile: np.ndarray, start_bar: int, horizon_bars: int
                ) -> dict[str, Any]:
    """VWAP: slices along :func:`vwap_volume_profile`."""
    return {"volume_profile": vwap_volume_profile(per_bar_profile, start_bar, horizon_bars)}


def vwap_volume_profile(per_bar_profile: np.ndarray, start_bar: int, horizon_bars: int
                        ) -> list[int]:
    """Expected volume of each of the ``horizon_bars`` bars from ``start_bar`` (bars after the
    open) of a per-bar session profile, in parts per million of the profile's total; bars past
    the session's end get the profile's average share (the profile says nothing about them).

    Whole numbers because the profile is journaled with its parent before the parent's first
    order (a full-day VWAP carries 390 of them): as 17-digit floats the first bar of a 20-name
    rebalance spent ~4 ms writing them. A ppm is at most 0.02% of a one-minute bar's share,
    far below a share of any child the schedule rounds to."""
    prof = np.asarray(per_bar_profile, dtype=float)
    prof = prof / prof.sum()
    k = max(0, int(start_bar))
    seg = prof[k:k + horizon_bars]
    if len(seg) < horizon_bars:
        seg = np.concatenate([seg, np.full(horizon_bars - len(seg), 1.0 / len(prof))])
    return np.rint(seg * 1e6).astype(np.int64).tolist()


def almgren_chriss_params(*, price: float, daily_vol: float, adv: float, spread_bps: float,
                          quantity: int, horizon_minutes: float, impact_y: float,
                          risk_aversion: float) -> dict[str, float]:
    """Almgren–Chriss coefficients in days (σ $/share/day^½, η $/share per share/day, ε
    $/share) for an order of ``quantity`` shares over ``horizon_minutes``; see the module
    docstring for the linearisation. No permanent impact term (γ = 0): it does not change the
    optimal trade list."""
    sigma = price * daily_vol
    horizon_days = horizon_minutes / SESSION_MINUTES
    x = float(quantity)
    eta = impact_y * sigma * math.sqrt(x / adv) * horizon_days / x
    eps = price * spread_bps * 0.5e-4 if math.isfinite(spread_bps) else 0.0
    return {"sigma": sigma, "eta": max(eta, 1e-12), "gamma": 0.0, "epsilon": eps,
            "risk_aversion": float(risk_aversion), "horizon": horizon_days}


def per_bar_volume_profile(cost_model: Any, bar_minutes: float) -> np.ndarray:
    """The fitted time-of-day volume profile as expected shares of each bar of a session."""
    minutes = np.asarray(cost_model.volume_profile_.minute_grid(), dtype=float)
    width = max(1, int(round(bar_minutes)))
    n = int(math.ceil(len(minutes) / width))
    padded = np.concatenate([minutes, np.zeros(n * width - len(minutes))])
    per_bar = padded.reshape(n, width).sum(axis=1)
    return per_bar / per_bar.sum()


def fee_aware_min_child(fee_schedule: Any, max_child_fee_bps: float, parent: ParentOrder,
                        price: float, day: Any = None) -> int:
    """Fee-aware slicing: the fewest shares a child of ``parent`` needs for ``fee_schedule`` to
    charge at most ``max_child_fee_bps`` of its notional at ``price`` (the arrival mid); the
    whole parent when no child size gets there (it goes as one). The trading loop's planner
    and the TCA study both size children with it.

    A session before the schedule's first version is sized with that first version: this
    only sizes children (what a fill is charged, or whether such a date may be traded at all,
    is the broker's fee function's to say)."""
    if not (math.isfinite(price) and price > 0):
        raise AlgorithmInputError(parent.parent_id, parent.algorithm.value,
                                  "fee-aware slicing needs a price, and there is none")
    when = pd.Timestamp(day if day is not None else _LATEST_FEES).date()
    first = fee_schedule.first_date
    table = fee_schedule.as_of(max(when, first) if first is not None else when)
    size = table.min_order_shares(price, parent.side is Side.SELL, float(max_child_fee_bps),
                                  limit=max(parent.quantity, 1))
    return parent.quantity if size is None else int(size)


class AlgorithmPlanner:
    """Builds each parent's algorithm parameters from the run config's execution policy and a
    fitted cost model (past data only; ``None``: the algorithms that need market state —
    VWAP and IS — are refused with a message saying so).

    ``plan(parents, prices, start_minute)`` returns (parent with its ``params`` set, its built
    algorithm) pairs — the engine registers the parent with that very algorithm, so it is built
    once — or raises :class:`AlgorithmInputError` for the first parent that cannot be built;
    nothing is registered with the engine before every parent of the batch is known to build.
    """

    def __init__(self, policy: Any, *, bar_minutes: float = 1.0, cost_model: Any = None,
                 fee_schedule: Any = None):
        self.policy = policy
        self.fee_schedule = fee_schedule
        self.algorithm = Algorithm(policy.algorithm)
        self.bar_minutes = float(bar_minutes)
        self.cost_model = cost_model
        self.horizon_bars = max(1, int(round(policy.horizon_minutes / self.bar_minutes)))
        self._volume_profile = None
        if cost_model is not None and hasattr(cost_model, "volume_profile_"):
            self._volume_profile = per_bar_volume_profile(cost_model, self.bar_minutes)

    def check(self) -> None:
        """Raise at start-up when the policy's algorithm can never be built (its input is not
        there at all), instead of on the first rebalance."""
        if getattr(self.policy, "max_child_fee_bps", None) is not None and (
                self.fee_schedule is None):
            raise AlgorithmInputError("(every parent)", self.algorithm.value,
                                      "execution.max_child_fee_bps needs the run's fee schedule, "
                                      "and none was given")
        if self.algorithm in (Algorithm.VWAP, Algorithm.IS) and self.cost_model is None:
            needs = ("the time-of-day volume profile" if self.algorithm is Algorithm.VWAP
                     else "daily volatility, ADV and spread per symbol")
            raise AlgorithmInputError("(every parent)", self.algorithm.value,
                                      f"{needs} of a fitted cost model, and none was given")

    def plan(self, parents: Sequence[ParentOrder], prices: Sequence[float],
             start_minute: float, day: Any = None
             ) -> list[tuple[ParentOrder, ExecutionAlgorithm]]:
        """``day``: the session (its fee-schedule version prices fee-aware slicing; None: the
        latest version)."""
        out = []
        for p, px in zip(parents, prices, strict=True):  # every parent builds before any is used
            params = self._params(p, float(px), start_minute)
            if p.algorithm in SLICED_ALGORITHMS and getattr(self.policy, "max_child_fee_bps", None):
                params["min_child_shares"] = self.min_child_shares(p, float(px), day)
            planned = replace(p, params=params)
            try:
                out.append((planned, build_algorithm(planned)))
            except ValueError as exc:
                raise AlgorithmInputError(p.parent_id, p.algorithm.value, str(exc)) from None
        return out

    def min_child_shares(self, parent: ParentOrder, price: float, day: Any = None) -> int:
        """Fee-aware slicing's smallest child of ``parent`` (:func:`fee_aware_min_child`)."""
        return fee_aware_min_child(self.fee_schedule, float(self.policy.max_child_fee_bps),
                                   parent, price, day)

    def _params(self, parent: ParentOrder, price: float, start_minute: float) -> dict[str, Any]:
        ex, algo = self.policy, parent.algorithm
        if algo is Algorithm.LIMIT:
            cleanup = int(round(ex.limit_cleanup_minutes / self.bar_minutes))
            return limit_params(ex.limit_offset_bps, parent.horizon_bars, cleanup,
                                ex.limit_fallback_to_market)
        if algo is Algorithm.POV:
            return pov_params(ex.pov_rate)
        if algo is Algorithm.VWAP:
            if self._volume_profile is None:
                raise AlgorithmInputError(parent.parent_id, algo.value,
                                          "no volume profile: no fitted cost model")
            start_bar = int(max(0.0, start_minute) // self.bar_minutes)
            return vwap_params(self._volume_profile, start_bar, parent.horizon_bars)
        if algo is Algorithm.IS:
            return {**self._market_state(parent, price), "risk_aversion": ex.risk_aversion}
        return {}

    def _market_state(self, parent: ParentOrder, price: float) -> dict[str, float]:
        model, sym = self.cost_model, parent.symbol

        def value(attr: str) -> float:
            series = getattr(model, attr, None) if model is not None else None
            v = float(series.get(sym, np.nan)) if series is not None else math.nan
            return v

        vol, adv, spread = value("daily_vol_"), value("adv_"), value("spread_bps_")
        missing = [name for name, v, ok in (
            ("daily volatility", vol, math.isfinite(vol) and vol > 0),
            ("ADV", adv, math.isfinite(adv) and adv > 0),
            ("a price", price, math.isfinite(price) and price > 0)) if not ok]
        if missing:
            raise AlgorithmInputError(parent.parent_id, parent.algorithm.value,
                                      f"no {' or '.join(missing)} for {sym} in the fitted cost "
                                      "model (past bars)")
        ac = almgren_chriss_params(price=price, daily_vol=vol, adv=adv, spread_bps=spread,
                                   quantity=parent.quantity,
                                   horizon_minutes=parent.horizon_bars * self.bar_minutes,
                                   impact_y=self.policy.is_impact_y,
                                   risk_aversion=self.policy.risk_aversion)
        ac.pop("risk_aversion")
        return ac


__all__ = ["AlgorithmInputError", "AlgorithmPlanner", "almgren_chriss_params", "limit_params",
           "per_bar_volume_profile", "pov_params", "vwap_params", "vwap_volume_profile"]
