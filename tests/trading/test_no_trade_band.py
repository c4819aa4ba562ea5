"""The cost-aware no-trade band: the rule on a hand-built case, and a paired replay (same
bars, same strategy, band off and on) in which it never costs more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.config import RunConfig, Settings
from research.trading.rebalance import cost_aware_trade


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


def _replay(config: RunConfig, bars, closes, model):
    from sim.driver import ReplayDriver

    return ReplayDriver(config, Settings(), bars, daily_closes=closes, cost_model=model).run()


@pytest.mark.slow
def test_the_band_never_costs_more_than_trading_every_gap(sp500_closes):
    """Daily inverse-volatility rebalances of a small book: most daily trades are a few
    shares, where Tiger's per-order minimums dominate. Costs measured by the simulated
    broker (fees charged, implementation shortfall), not by the cost model that decides."""
    from research.costs import CostModel
    from research.data import SynthParams, synthesize_minute_bars
    from research.data.calendar import sessions
    from research.execution.quality import execution_quality

    symbols = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "PG", "KO", "WMT", "HD", "UNH"]
    start = pd.Timestamp("2022-03-01")
    days = sessions(start - pd.Timedelta(days=30), start + pd.Timedelta(days=20)).index
    before, run = days[days < start][-10:], days[days >= start][:6]
    bars = synthesize_minute_bars(sp500_closes[symbols], before[0], run[-1], SynthParams(seed=5))
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    model = CostModel.from_settings(Settings().costs).fit(bars[day < start])
    closes = sp500_closes[symbols].loc[sp500_closes.index < start]
    results = {}
    for band in ("off", "cost_aware"):
        config = RunConfig.model_validate({
            "name": f"band-{band}", "universe": {"symbols": symbols},
            "strategy": {"kind": "inverse_volatility", "rebalance": "daily",
                         "capital": 300_000.0, "no_trade_band": band},
            "execution": {"algorithm": "twap", "horizon_minutes": 30},
            "risk": {"max_position_weight": 0.2, "max_sector_weight": 0.5,
                     "max_pairwise_correlation": 0.99}})
        loop = _replay(config, bars[day >= start], closes, model)
        quality = execution_quality(loop.engine)
        results[band] = {
            "parents": len(quality),
            "fees": sum(q.fees_bps * q.quantity * q.arrival_price / 1e4 for q in quality),
            "shortfall": sum(q.shortfall_dollars for q in quality),
            "skipped": sum(d["skipped_by_no_trade_band"] for d in loop.decisions)}
    off, on = results["off"], results["cost_aware"]
    assert on["skipped"] > 0, results  # the test case exercises the band
    assert on["parents"] < off["parents"]
    assert on["fees"] <= off["fees"], results
    assert on["shortfall"] <= off["shortfall"], results  # fees included in the shortfall
