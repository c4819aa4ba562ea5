from __future__ import annotations

import numpy as np
import pytest

from research.execution import perold_decomposition


def test_perold_decomposition_by_hand():
    # buy 1000 at arrival 100.00; first child sent when the mid is 100.10; fills 300 @ 100.20
    # and 400 @ 100.30; 300 unfilled; the mid is 101.00 at the end; $7 of fees
    d = perold_decomposition(+1, 1000, 100.0, 100.10, 101.0, np.array([300, 400]),
                             np.array([100.20, 100.30]), 7.0)
    assert d.delay == pytest.approx(700 * 0.10)
    assert d.execution == pytest.approx(300 * 0.10 + 400 * 0.20)
    assert d.opportunity == pytest.approx(300 * 1.00)
    assert d.total == pytest.approx(70 + 110 + 300 + 7)
    # identity: total = side * (paid - x * P_a + unfilled * (P_end - P_a)) + fees
    paid = 300 * 100.20 + 400 * 100.30
    assert d.total == pytest.approx(paid - 700 * 100.0 + 300 * 1.0 + 7.0)


def test_perold_sell_side_signs_and_overfill():
    d = perold_decomposition(-1, 100, 50.0, 50.0, 49.0, np.array([100]), np.array([49.90]), 0.0)
    assert d.execution == pytest.approx(10.0)  # sold 0.10 below the start price: a cost
    assert d.opportunity == 0.0
    with pytest.raises(ValueError, match="exceeds"):
        perold_decomposition(1, 10, 1, 1, 1, np.array([11]), np.array([1.0]), 0)
