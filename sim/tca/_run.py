"""One strategy's run over the study window: the real engine, the real risk manager (through a
thin adapter) and a fresh simulated broker with Tiger's fees (:class:`sim.fees.DatedFeeFn`),
then per-parent TCA."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.config import ExecutionPolicy, ExecutionSettings, SimulationSettings
from research.domain import Algorithm, Side
from research.execution import (
    ExecutionEngine,
    Journal,
    ParentOrder,
    execution_quality,
)
from research.trading.algorithm_params import (
    SLICED_ALGORITHMS,
    almgren_chriss_params,
    fee_aware_min_child,
    limit_params,
    pov_params,
    vwap_params,
)
from sim.broker import SimulatedBroker
from sim.fees import DatedFeeFn
from sim.fill_costs import decompose_fills, half_spreads
from sim.runner import run_replay
from sim.tca._inputs import StudyInputs

#: Per-parent output columns of one run (bps of the paper notional quantity x arrival mid).
RUN_COLUMNS = ("order_id", "filled", "fill_rate", "arrival_mid", "is_bps", "delay_bps",
               "spread_bps", "impact_bps", "timing_bps", "opportunity_bps", "fees_bps",
               "child_orders", "child_rejects")


@dataclass(frozen=True)
class StrategyParams:
    """Parameters of the strategies under test (documented in the JSON's assumptions).

    limit: one passive limit at the mid (offset ``limit_offset_bps``, positive = passive) for
    the horizon minus ``limit_cleanup_bars``; the rest is then sent as a market order (clean
    up) so limit and market are compared on completed orders where the session allows.
    pov: ``pov_rate`` of realised volume. vwap: the past volume profile. is: Almgren-Chriss with
    coefficients from the cost model fitted on history (square-root law linearised at the
    order's size and horizon), ``is_risk_aversion`` (1/$).

    Built from a run config's :class:`~research.config.ExecutionPolicy` (:meth:`from_policy`),
    the same fields the trading loop executes with: execution parameters are the execution
    policy's, never the cost model's settings (tuning the predictor must not change how the
    orders it is judged on are worked).
    """

    limit_offset_bps: float = 0.0
    limit_cleanup_bars: int = 5
    pov_rate: float = 0.10
    is_risk_aversion: float = 1e-6
    is_impact_y: float = 0.7
    max_child_fee_bps: float | None = None

    @classmethod
    def from_policy(cls, policy: ExecutionPolicy, bar_minutes: float) -> StrategyParams:
        """The study's parameters from ``policy``; its clean-up window is converted to bars of
        ``bar_minutes`` as the trading loop's planner converts it. A policy that leaves an
        unfilled limit unfinished is refused: the study compares completed orders."""
        if not policy.limit_fallback_to_market:
            raise ValueError("tca: execution.limit_fallback_to_market must be true: the study "
                             "completes every limit order at market to compare it with market")
        return cls(limit_offset_bps=policy.limit_offset_bps,
                   limit_cleanup_bars=int(round(policy.limit_cleanup_minutes / bar_minutes)),
                   pov_rate=policy.pov_rate, is_risk_aversion=policy.risk_aversion,
                   is_impact_y=policy.is_impact_y,
                   max_child_fee_bps=getattr(policy, "max_child_fee_bps", None))

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def smallest_children(inputs: StudyInputs, params: StrategyParams, fees: Any
                      ) -> np.ndarray | None:
    """Fee-aware slicing's smallest child of each study order (shares; None when the policy
    does not slice by fees), sized as the trading loop's planner sizes it."""
    if params.max_child_fee_bps is None:
        return None
    out = []
    for row in inputs.orders.itertuples(index=False):
        parent = ParentOrder(str(row.order_id), row.symbol, Side(row.side), int(row.quantity),
                             algorithm=Algorithm.TWAP, horizon_bars=int(row.horizon_bars))
        out.append(fee_aware_min_child(fees, params.max_child_fee_bps, parent,
                                       float(row.decision_mid), row.day))
    return np.asarray(out, dtype=np.int64)


def build_parents(inputs: StudyInputs, strategy: str, params: StrategyParams,
                  profile: np.ndarray, model_state: pd.DataFrame,
                  min_child: np.ndarray | None = None) -> list[ParentOrder]:
    """One ParentOrder per study order for ``strategy`` (same ids, sizes, times for all); each
    algorithm's parameters come from :mod:`research.trading.algorithm_params`, the functions
    the trading loop uses live, with the study's per-order inputs. ``min_child``: fee-aware
    slicing's smallest child per order (:func:`smallest_children`)."""
    o = inputs.orders
    s = Algorithm(strategy)
    out = []
    for k, row in enumerate(o.itertuples(index=False)):
        h = int(row.horizon_bars)
        p: dict = {}
        if s is Algorithm.LIMIT:
            p = limit_params(params.limit_offset_bps, h, params.limit_cleanup_bars, True)
        elif s is Algorithm.VWAP:
            start_bar = int(max(0, round(row.minute_of_day / inputs.bar_minutes)))
            p = vwap_params(profile, start_bar, h)
        elif s is Algorithm.POV:
            p = pov_params(params.pov_rate)
        elif s is Algorithm.IS:
            st = model_state.loc[row.symbol]
            p = almgren_chriss_params(
                price=float(row.decision_mid), daily_vol=float(st["daily_vol"]),
                adv=float(st["adv"]), spread_bps=float(st["spread_bps"]),
                quantity=int(row.quantity), horizon_minutes=float(row.horizon_minutes),
                impact_y=params.is_impact_y, risk_aversion=params.is_risk_aversion)
        if s in SLICED_ALGORITHMS and min_child is not None:
            p["min_child_shares"] = int(min_child[k])
        out.append(ParentOrder(
            parent_id=str(row.order_id), symbol=row.symbol, side=Side(row.side),
            quantity=int(row.quantity), algorithm=s, horizon_bars=h,
            deadline_grace_bars=int(row.grace_bars), params=p,
        ))
    return out


def run_strategy(inputs: StudyInputs, strategy: str, parents: list[ParentOrder], *,
                 sim_settings: SimulationSettings, exec_settings: ExecutionSettings,
                 risk_check, fee_schedule, latency_bars: int = 1) -> pd.DataFrame:
    """Execute ``parents`` with a fresh broker + engine; per-parent TCA (:data:`RUN_COLUMNS`)."""
    replay = inputs.replay
    fee_fn = DatedFeeFn(fee_schedule)
    broker = SimulatedBroker(replay, sim_settings, latency_bars=latency_bars, fee_fn=fee_fn)
    fee_fn.bind(broker)
    journal = Journal(":memory:", synchronous="NORMAL")
    # commit_every_bar=False: the journal is in memory (a study is rerun, not recovered), so a
    # commit per bar would buy nothing; intents are still committed before every submit
    engine = ExecutionEngine(f"tca-{strategy}", replay.symbols, broker, journal, exec_settings,
                             risk_check=risk_check, sleep=lambda s: None,
                             commit_every_bar=False)
    engine.recover()
    by_bar: dict[int, list[tuple[ParentOrder, int]]] = defaultdict(list)
    o = inputs.orders
    for p, t, stale in zip(parents, o["arrival_bar"].tolist(), o["arrival_stale_bars"].tolist(),
                           strict=True):
        by_bar[t].append((p, stale))
    sym_index = {s: i for i, s in enumerate(replay.symbols)}
    mids = np.full(replay.close.shape, np.nan)

    def before_bar(eng: ExecutionEngine, snap) -> None:
        mids[snap.bar_index] = snap.mid()  # this run's prices: its permanent impact included
        for p, stale in by_bar.get(snap.bar_index, ()):
            if stale:  # no bar of the symbol in the decision minute: its last mid is known
                i = sym_index[p.symbol]
                snap = _with_price(snap, i, mids[snap.bar_index - stale, i])
            eng.add_parent(p, snap)

    try:
        run_replay(engine, broker, before_bar=before_bar)
        quality = {q.parent_id: q for q in execution_quality(engine)}
        fills = broker.fills()
    finally:
        journal.close()
    half = half_spreads(broker)
    return _tca_frame(inputs, engine, quality, fills, mids, half)


def _with_price(snap, i: int, mid: float):
    """``snap`` with symbol ``i``'s close set to ``mid`` (no quote): the arrival price the
    engine registers for a parent whose symbol printed no bar in the decision minute. Only
    the registration sees it; the bar itself is processed unchanged (no trading in it)."""
    close = snap.close.copy()
    close[i] = mid
    return dataclasses.replace(snap, close=close)


def _tca_frame(inputs: StudyInputs, engine, quality: dict, fills, mids: np.ndarray,
               half: np.ndarray) -> pd.DataFrame:
    o = inputs.orders
    ids = o["order_id"].astype(str).tolist()
    n = len(ids)
    qs = [quality[pid] for pid in ids]
    arrival = np.array([q.arrival_price for q in qs])
    start = np.array([q.start_price for q in qs])
    bps = 1e4 / (o["quantity"].to_numpy(float) * arrival)
    costs = decompose_fills(engine, fills, ids, start, mids, half, inputs.replay)

    def per_parent(x: np.ndarray) -> np.ndarray:
        return costs.per_parent(n, x) * bps

    spread = per_parent(costs.spread)
    impact = per_parent(costs.impact)
    timing = per_parent(costs.timing)
    return pd.DataFrame({
        "order_id": ids,
        "filled": [q.filled_quantity for q in qs],
        "fill_rate": [q.fill_rate for q in qs],
        "arrival_mid": arrival,
        "is_bps": [q.shortfall_bps for q in qs],
        "delay_bps": [q.delay_bps for q in qs],
        "spread_bps": spread,
        "impact_bps": impact,
        "timing_bps": timing,
        "opportunity_bps": [q.opportunity_bps for q in qs],
        "fees_bps": [q.fees_bps for q in qs],
        "child_orders": [q.child_orders for q in qs],
        "child_rejects": [q.child_rejects for q in qs],
    })
