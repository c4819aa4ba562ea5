"""Fee-aware slicing: the minimum child size from Tiger's fee schedule by hand, algorithms that
send no smaller child but the last, and the fee saving on small parents in a paired replay."""

from __future__ import annotations

import pytest

from research.costs import fee_schedule
from research.domain import Algorithm, Side
from research.execution.algorithms import build_algorithm
from research.execution.algorithms.base import AlgoContext
from research.execution.model import ParentOrder
from tests.trading.replay_case import fees_paid, replay_inputs, run_replay, small_book_config


def test_minimum_child_size_from_the_tiger_schedule_by_hand():
    table = fee_schedule("tiger_us").as_of("2022-03-01")
    # a buy at $100 under 250 shares pays the commission and platform minimums ($0.99 + $1.00)
    # plus the $0.00396/share agency fee: 1.99 + 0.00396 q <= 5 bps x 100 q  <=>  q >= 43.2
    assert table.min_order_shares(100.0, False, 5.0) == 44
    assert table.compute(44, 100.0, False)[0] == pytest.approx(1.99 + 0.00396 * 44)
    assert table.compute(44, 100.0, False)[0] <= 5e-4 * 4400
    assert table.compute(43, 100.0, False)[0] > 5e-4 * 4300
    # per-share fees alone are 1.186 bps at $100: a 1 bps bound is never met
    assert table.min_order_shares(100.0, False, 1.0, limit=10**6) is None
    with pytest.raises(ValueError, match="max_fee_bps"):
        table.min_order_shares(100.0, False, 0.0)


def _children(parent: ParentOrder, bars: int, volume: float = 1e6) -> list[int]:
    """Child sizes an algorithm sends when every child fills on its bar."""
    algo = build_algorithm(parent)
    filled, sizes = 0, []
    for k in range(bars):
        ctx = AlgoContext(k, k, parent.horizon_bars, parent.side, parent.quantity, filled, 0,
                          99.99, 100.01, 100.0, 100.0, volume, volume * (k + 1))
        child = algo.decide(ctx).child
        if child is not None:
            sizes.append(child.quantity)
            filled += child.quantity
    return sizes


@pytest.mark.parametrize("algorithm, params", [
    (Algorithm.TWAP, {}), (Algorithm.VWAP, {"volume_profile": [3, 1, 1, 1, 2] * 6}),
    (Algorithm.POV, {"rate": 0.00001})])
def test_no_child_is_smaller_than_the_minimum_but_the_last(algorithm, params):
    parent = ParentOrder("p", "AAPL", Side.BUY, 200, algorithm=algorithm, horizon_bars=30,
                         params=params)
    plain = _children(parent, 30)
    merged = _children(ParentOrder("p", "AAPL", Side.BUY, 200, algorithm=algorithm,
                                   horizon_bars=30, params={**params, "min_child_shares": 44}), 30)
    assert sum(plain) == sum(merged) == 200
    assert min(plain) < 44 and len(plain) > 5
    assert all(q >= 44 for q in merged[:-1]) and len(merged) == 5  # 44 x 4 + 24


@pytest.mark.slow
def test_fee_aware_slicing_saves_fees_on_small_parents(sp500_closes):
    """A $300k book, a 60-minute TWAP: parents of a few hundred shares cut into 60 children
    each pay the per-order minimums 60 times. Fees as the simulated broker charges them."""
    inputs = replay_inputs(sp500_closes, sessions_run=3)
    runs = {}
    for bound in (None, 5.0):
        config = small_book_config(f"fees-{bound}", {"rebalance": "monthly"},
                                   {"algorithm": "twap", "horizon_minutes": 60,
                                    "max_child_fee_bps": bound})
        loop = run_replay(config, inputs)
        parents = loop.engine.parents
        runs[bound] = {"fees": fees_paid(loop), "children": len(loop.engine.children),
                       "filled": {s.parent.symbol: s.filled for s in parents.values()},
                       "min_child": {s.parent.symbol: s.parent.params.get("min_child_shares")
                                     for s in parents.values()}}
    plain, aware = runs[None], runs[5.0]
    assert aware["filled"] == plain["filled"]  # the same shares traded
    assert all(m is not None for m in aware["min_child"].values())
    assert aware["children"] < plain["children"] / 3
    assert aware["fees"] < plain["fees"] / 2, {k: (v["fees"], v["children"])
                                               for k, v in runs.items()}


def test_the_cost_model_predicts_the_merged_children():
    """A 200-share TWAP over 60 minutes: one child per 5 minutes is 12 children; with a
    44-share minimum child it is ceil(200 / 44) = 5, and the predicted fees are those of 5."""
    from research.costs import ALGORITHM_CODES, CostModel

    model = CostModel(fee_schedule="tiger_us")
    orders = {"quantity": [200.0], "price": [100.0], "adv": [1e7], "daily_vol": [0.02],
              "spread_bps": [3.0], "algorithm": [ALGORITHM_CODES["twap"]], "is_sell": [False],
              "start_minute": [0.0], "horizon_minutes": [60.0], "limit_offset_bps": [0.0],
              "fees_on": "2022-03-01"}
    table = fee_schedule("tiger_us").as_of("2022-03-01")
    plain = model.predict({**orders})
    merged = model.predict({**orders, "min_child_shares": [44.0]})
    assert plain.usd("fees_bps")[0] == pytest.approx(table.compute(200, 100.0, False,
                                                                   children=12)[0])
    assert merged.usd("fees_bps")[0] == pytest.approx(table.compute(200, 100.0, False,
                                                                    children=5)[0])
    assert merged.total_bps[0] < plain.total_bps[0]
