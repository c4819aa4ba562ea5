"""Compiled per-order fee total: :meth:`FeeTable.compute`'s path for one child per order.

Why: the simulated broker prices the fees of every bar's fills, ~8,000 calls per strategy run
of a one-month study, each on a few dozen orders; the vectorised :meth:`FeeTable.matrix` costs
~70 us a call in numpy overhead (broadcasting, temporaries), which this loop avoids. It
computes the same formula in the same order (component by component, summed in component
order), so its totals equal ``matrix(...).sum(axis=0)`` exactly (tests/costs/test_costs_fees.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def order_fee_totals(quantity, price, is_sell, per_share, value_rate, minimum, maximum,
                     max_fraction, sells_only):  # pragma: no cover - compiled
    n = quantity.shape[0]
    k = per_share.shape[0]
    out = np.zeros(n)
    for i in range(n):
        q = quantity[i]
        value = q * price[i]
        total = 0.0
        for c in range(k):
            raw = per_share[c] * q + value_rate[c] * value
            fee = 0.0
            if raw > 0:
                fee = max(minimum[c], min(raw, min(maximum[c], max_fraction[c] * value)))
            pays = 1.0 if (sells_only[c] == 0 or is_sell[i]) else 0.0
            total += fee * pays * 1.0
        out[i] = total
    return out
