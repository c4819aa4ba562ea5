"""Execution quality per parent order: implementation shortfall and its Perold decomposition.

Prices are mids in dollars; a positive cost is money lost relative to the paper portfolio
traded at the arrival (decision) price ``P_a``. With side sign ``s`` (+1 buy), quantity ``X``,
filled ``x = sum q_i`` at prices ``p_i``, ``P_0`` the mid when the first child was sent and
``P_end`` the mid when the parent closed:

* delay          = s * x * (P_0 - P_a)
* execution      = s * sum q_i (p_i - P_0)            (spread + impact + drift while working)
* opportunity    = s * (X - x) * (P_end - P_a)        (the unfilled shares)
* fees           = sum of fees
* shortfall      = delay + execution + opportunity + fees
                 = s * [sum q_i p_i - x P_a + (X - x)(P_end - P_a)] + fees

Each is also given in bps of the paper notional ``X * P_a``. Slippage against the cost model is
the z-score ``(shortfall_bps - predicted_bps) / predicted_std_bps``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from research.execution.model import ParentOrder

# (parent, arrival price $) -> (predicted cost bps, predicted standard deviation bps)
CostPredictor = Callable[[ParentOrder, float], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class PeroldDecomposition:
    delay: float
    execution: float
    opportunity: float
    fees: float

    @property
    def total(self) -> float:
        return self.delay + self.execution + self.opportunity + self.fees


def perold_decomposition(
    side_sign: int,
    quantity: int,
    arrival_price: float,
    start_price: float,
    end_price: float,
    fill_quantities: np.ndarray,
    fill_prices: np.ndarray,
    fees: float,
) -> PeroldDecomposition:
    """The decomposition in dollars (see the module docstring)."""
    q = np.asarray(fill_quantities, dtype=float)
    p = np.asarray(fill_prices, dtype=float)
    x = float(q.sum())
    if x > quantity + 1e-9:
        raise ValueError(f"perold: filled {x} exceeds the parent quantity {quantity}")
    return PeroldDecomposition(
        delay=side_sign * x * (start_price - arrival_price),
        execution=side_sign * float(np.sum(q * (p - start_price))),
        opportunity=side_sign * (quantity - x) * (end_price - arrival_price),
        fees=float(fees),
    )


@dataclass(frozen=True, slots=True)
class ExecutionQuality:
    """TCA of one parent. Prices $, costs in bps of the paper notional unless named _dollars."""

    parent_id: str
    symbol: str
    side: str
    algorithm: str
    quantity: int
    filled_quantity: int
    fill_rate: float
    arrival_price: float
    start_price: float
    end_price: float
    average_fill_price: float
    shortfall_bps: float
    delay_bps: float
    execution_bps: float
    opportunity_bps: float
    fees_bps: float
    shortfall_dollars: float
    predicted_cost_bps: float
    predicted_std_bps: float
    slippage_z: float
    child_orders: int
    child_rejects: int
    reject_reasons: dict[str, int]


def execution_quality(engine, cost_predictor: CostPredictor | None = None,
                      parent_ids: Iterable[str] | None = None) -> list[ExecutionQuality]:
    """TCA of every parent of an :class:`ExecutionEngine` (or of ``parent_ids`` only), closed
    or still working: an open parent is valued at its last mid. Without a ``cost_predictor``
    the prediction and z-score are NaN."""
    out = []
    mids = engine.last_mid
    parents = engine.parents
    chosen = parents.items() if parent_ids is None else ((p, parents[p]) for p in parent_ids)
    for pid, ps in chosen:
        par = ps.parent
        qs, ps_, fees = [], [], 0.0
        rejects = dict(ps.local_rejects)
        for cid in ps.children:
            c = engine.children[cid]
            if c.filled_quantity:
                qs.append(c.filled_quantity)
                ps_.append(c.average_price)
            fees += c.fees
            if c.reject_reason:
                rejects[c.reject_reason] = rejects.get(c.reject_reason, 0) + 1
        arrival = ps.arrival_price
        start = ps.start_price if ps.start_price is not None else arrival
        if ps.end_price is not None:
            end = ps.end_price
        elif mids is not None and np.isfinite(mids[ps.symbol_index]):
            end = float(mids[ps.symbol_index])
        else:
            end = arrival
        d = perold_decomposition(par.side.sign, par.quantity, arrival, start, end,
                                 np.array(qs), np.array(ps_), fees)
        paper = par.quantity * arrival
        bps = 1e4 / paper
        filled = int(sum(qs))
        avg = float(np.dot(qs, ps_) / filled) if filled else math.nan
        pred, std = (math.nan, math.nan)
        if cost_predictor is not None:
            pred, std = cost_predictor(par, arrival)
        z = (d.total * bps - pred) / std if std and std > 0 else math.nan
        out.append(ExecutionQuality(
            parent_id=pid, symbol=par.symbol, side=par.side.value, algorithm=par.algorithm.value,
            quantity=par.quantity, filled_quantity=filled, fill_rate=filled / par.quantity,
            arrival_price=arrival, start_price=start, end_price=end, average_fill_price=avg,
            shortfall_bps=d.total * bps, delay_bps=d.delay * bps, execution_bps=d.execution * bps,
            opportunity_bps=d.opportunity * bps, fees_bps=d.fees * bps, shortfall_dollars=d.total,
            predicted_cost_bps=pred, predicted_std_bps=std, slippage_z=z,
            child_orders=len(ps.children), child_rejects=int(sum(rejects.values())),
            reject_reasons=rejects,
        ))
    return out
