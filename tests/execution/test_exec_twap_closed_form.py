"""TWAP's per-call closed form gives the same targets as the integer schedule it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from research.domain import Side
from research.execution import AlgoContext, TWAPAlgorithm
from research.execution.algorithms import ScheduledAlgorithm, integer_schedule


def array_twap(quantity: int, horizon: int) -> ScheduledAlgorithm:
    """The array form: ``ScheduledAlgorithm`` over ``integer_schedule`` of the uniform curve."""
    return ScheduledAlgorithm(integer_schedule(np.arange(1, horizon + 1) / horizon, quantity))


@pytest.mark.parametrize("horizon", [1, 2, 3, 7, 30, 389, 390, 391])
def test_closed_form_targets_equal_the_integer_schedule(horizon):
    rng = np.random.default_rng(horizon)
    # small quantities (rounding ties: 10 over 4 is 2.5 per slice) and large odd ones
    quantities = [0, 1, 2, 3, 10, 999, 1000, *rng.integers(1, 5_000_000, 40).tolist()]
    for q in quantities:
        algo, ref = TWAPAlgorithm(q, horizon), array_twap(q, horizon)
        elapsed = range(-horizon, horizon + 3)  # negative: same as indexing the array
        assert [algo.target(k) for k in elapsed] == [ref.target(k) for k in elapsed], q
        assert algo.slices.tolist() == ref.slices.tolist()


def test_decisions_are_those_of_the_schedule():
    algo, ref = TWAPAlgorithm(12_345, 390), array_twap(12_345, 390)
    filled = 0
    for k in range(395):
        c = AlgoContext(bar_index=k, elapsed=k, horizon_bars=390, side=Side.BUY,
                        quantity=12_345, filled=filled, working=0, bid=99.99, ask=100.01,
                        mid=100.0, last=100.0, bar_volume=1e4, cum_volume=1e4 * (k + 1))
        d, r = algo.decide(c), ref.decide(c)
        assert d == r
        filled += d.child.quantity // 2 if d.child else 0  # half fills: catch-up path


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="horizon_bars"):
        TWAPAlgorithm(100, 0)
    with pytest.raises(ValueError, match="quantity"):
        TWAPAlgorithm(-5, 10)
    with pytest.raises(ValueError, match="quantity"):
        TWAPAlgorithm(10.5, 10)
