"""Each fill's execution cost split into spread, impact and timing, in dollars — one
decomposition for the TCA study and the backtest.

Reference mid: the fill bar's for a market fill, the placement bar's for a limit fill (a
limit's execution cost is its price against the mid it was placed at plus the drift before).
``spread``: the half spread of a market fill's bar (its quotes, else the broker's
bar-estimator path) times the reference mid as the run saw it after the bar — which carries
the fill's own permanent impact, a small fraction of the spread; or a limit's price against
its reference mid; ``impact``: the rest of
the price against the reference mid; ``timing``: the reference mid against the parent's
start mid (the drift while the parent worked). Signed so that a cost is positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from research.domain import OrderType
from sim.broker import SimulatedBroker


@dataclass(frozen=True)
class FillCosts:
    """Per fill (the fills of the given parents, in broker order): ``parent`` (row of its
    parent in the ids passed), and the dollar costs ``spread``, ``impact``, ``timing``."""

    parent: np.ndarray
    spread: np.ndarray
    impact: np.ndarray
    timing: np.ndarray

    def per_parent(self, n_parents: int, x: np.ndarray) -> np.ndarray:
        """Sum of ``x`` (one value per fill) per parent row."""
        return np.bincount(self.parent, x, minlength=n_parents)


def half_spreads(broker: SimulatedBroker) -> np.ndarray:
    """Half spread (fraction of the mid) the simulated broker charges a market order per bar
    and symbol: the quotes where present, else the broker's own bar-estimator / fallback path
    (one implementation: :func:`sim.response.half_spread_path`, computed by the broker)."""
    replay = broker.replay
    quoted = np.isfinite(replay.bid) & np.isfinite(replay.ask)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (replay.ask - replay.bid) / (replay.ask + replay.bid)
    return np.where(quoted, q, broker.half_spread_path)


def decompose_fills(engine, fills, parent_ids: list[str], start_price: np.ndarray,
                    mids: np.ndarray, half: np.ndarray, replay) -> FillCosts:
    """The costs of ``fills`` (the broker's) of the children of ``parent_ids``; ``start_price``
    per parent (its first child's mid), ``mids`` (bars x symbols) as the run saw them,
    ``half`` from :func:`half_spreads`."""
    row_of = {pid: k for k, pid in enumerate(parent_ids)}
    child_parent = {cid: c.parent_id for cid, c in engine.children.items()}
    child_type = {cid: c.order_type for cid, c in engine.children.items()}
    child_bar = {cid: c.decision_bar for cid, c in engine.children.items()}
    t_index = {t: i for i, t in enumerate(replay.timestamps)}
    sym_index = {s: i for i, s in enumerate(replay.symbols)}
    keep = [f for f in fills if child_parent.get(f.client_order_id) in row_of]
    fr = np.array([row_of[child_parent[f.client_order_id]] for f in keep], np.int64)
    ft = np.array([t_index[f.timestamp] for f in keep], np.int64)
    fs = np.array([sym_index[f.symbol] for f in keep], np.int64)
    fq = np.array([f.quantity for f in keep], float)
    fp = np.array([f.price for f in keep], float)
    fsign = np.array([f.side.sign for f in keep], float)
    is_mkt = np.array([child_type[f.client_order_id] is OrderType.MARKET for f in keep], bool)
    fplace = np.array([child_bar[f.client_order_id] for f in keep], np.int64)
    ref_bar = np.where(is_mkt, ft, fplace)
    mid_ref = mids[ref_bar, fs] if keep else np.zeros(0)
    spread = np.where(is_mkt, fq * half[ft, fs] * mid_ref, fsign * fq * (fp - mid_ref))
    price_vs_mid = fsign * fq * (fp - mid_ref)
    timing = fsign * fq * (mid_ref - start_price[fr]) if keep else np.zeros(0)
    return FillCosts(fr, spread, price_vs_mid - spread, timing)
