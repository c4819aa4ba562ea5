"""The cost-aware no-trade band: the rule on a hand-built case, and a paired replay (same
bars, same strategy, band off and on) in which it never costs more."""

from __future__ import annotations

import numpy as np
import pytest

from research.trading.rebalance import cost_aware_trade
from tests.trading.replay_case import fees_paid, replay_inputs, run_replay, small_book_config


def test_a_trade_is_skipped_when_its_predicted_cost_is_not_below_its_benefit():
    trade = np.array([10, -200, 5, 0, 30])
    price = np.array([100.0, 50.0, 100.0, 100.0, 100.0])
    # benefit at 50 bps: $5, $50, $2.50, -, $15
    cost = np.array([5.0, 20.0, 1.0, 0.0, np.nan])
    kept = cost_aware_trade(trade, price, cost, benefit_bps=50.0)
    # 10 @ $100: cost $5 = benefit $5 -> skipped (not worth it); 30: cost unknown -> traded
    np.testing.assert_array_equal(kept, [0, -200, 5, 0, 30])
    with pytest.raises(ValueError, match="benefit_bps"):
        cost_aware_trade(trade, price, cost, benefit_bps=0.0)


@pytest.mark.slow
def test_the_band_never_costs_more_than_trading_every_gap(sp500_closes):
    """Daily inverse-volatility rebalances of a small book: most daily trades are a few
    shares, where Tiger's per-order minimums dominate. Costs measured by the simulated
    broker (fees charged, implementation shortfall), not by the cost model that decides."""
    from research.execution.quality import execution_quality

    inputs = replay_inputs(sp500_closes)
    results = {}
    for band in ("off", "cost_aware"):
        config = small_book_config(f"band-{band}", {"rebalance": "daily", "no_trade_band": band},
                                   {"algorithm": "twap", "horizon_minutes": 30})
        loop = run_replay(config, inputs)
        quality = execution_quality(loop.engine)
        results[band] = {
            "parents": len(quality), "fees": fees_paid(loop),
            "shortfall": sum(q.shortfall_dollars for q in quality),
            "skipped": sum(d["skipped_by_no_trade_band"] for d in loop.decisions)}
    off, on = results["off"], results["cost_aware"]
    assert on["skipped"] > 0, results  # the test case exercises the band
    assert on["parents"] < off["parents"]
    assert on["fees"] <= off["fees"], results
    assert on["shortfall"] <= off["shortfall"], results  # fees included in the shortfall
