"""The runner's cost-model wiring: a prediction per parent at decision time (array fast path),
realised shortfall minus prediction observed in ``qlab_slippage_vs_model_bps`` on completion."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.live.test_live_runner import (
    DAY,
    PRICES,
    SYMBOLS,
    make_runner,
    minute_feed,
    script_market,
)


def _fitted_model(session):
    from live.tiger.bars import TigerBarSource
    from research.costs import CostModel

    daily = TigerBarSource(session, "daily").load(SYMBOLS, start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    return CostModel().fit(daily)


def test_cost_model_prediction_and_slippage_vs_model(gateway, settings, server_keys):  # noqa: F811
    script_market(gateway)
    _, probe = make_runner(gateway, settings, server_keys, run_id="probe")
    model = _fitted_model(probe)
    logs = io.StringIO()
    runner, session = make_runner(gateway, settings, server_keys, cost_model=model,
                                  stream=logs)
    assert runner.run(minute_feed(session), max_bars=10) == 10
    e = runner.engine
    assert sorted(runner.costs.predicted) == sorted(e.parents)
    assert all(ps.done and ps.filled == ps.parent.quantity for ps in e.parents.values())

    # prediction: the same orders through the model's DataFrame path, independently built
    first_bar = (DAY + pd.Timedelta(hours=9, minutes=30)).tz_localize("America/New_York")
    orders = pd.DataFrame([{
        "order_id": pid, "symbol": ps.parent.symbol, "side": ps.parent.side.value,
        "quantity": ps.parent.quantity, "algorithm": "twap", "start_time": first_bar,
        "horizon_minutes": 4.0} for pid, ps in e.parents.items()])
    market = pd.DataFrame({"price": [PRICES[s] for s in orders["symbol"]]},
                          index=orders["symbol"].to_numpy())
    expected = model.predict(orders, market)
    for pid, (bps, std) in runner.costs.predicted.items():
        assert e.parents[pid].arrival_price == pytest.approx(PRICES[e.parents[pid].parent.symbol])
        assert bps == pytest.approx(expected.loc[pid, "total_bps"], rel=1e-9)
        assert std == pytest.approx(expected.loc[pid, "timing_risk_bps"], rel=1e-9)
        assert np.isfinite(bps) and bps > 0

    # realised: from what the gateway executed (market buys at the ask = price + 0.01),
    # fees included, in bps of the parent's arrival notional
    by_parent: dict[str, list] = {pid: [] for pid in e.parents}
    for o in gateway.orders.values():
        by_parent[e.children[o.user_mark].parent_id].append(o)
    diffs = []
    for pid, placed in by_parent.items():
        ps = e.parents[pid]
        arrival = PRICES[ps.parent.symbol]
        cost = sum(o.filled * (o.avg_price - arrival) + o.commission for o in placed)
        assert sum(o.filled for o in placed) == ps.parent.quantity
        realised = cost / (ps.parent.quantity * arrival) * 1e4
        assert all(o.avg_price == pytest.approx(arrival + 0.01) for o in placed)
        fees = sum(max(1.0, 0.005 * o.filled) for o in placed)  # the gateway's schedule
        assert realised == pytest.approx((0.01 * ps.parent.quantity + fees)
                                         / (ps.parent.quantity * arrival) * 1e4)
        diffs.append(realised - runner.costs.predicted[pid][0])
    reg = runner.metrics.registry
    assert reg.get_sample_value("qlab_slippage_vs_model_bps_count") == len(SYMBOLS)
    # a histogram with negative buckets exposes no _sum: check the buckets and the log line
    for le in (-50.0, -5.0, 0.0, 5.0, 50.0):
        assert reg.get_sample_value("qlab_slippage_vs_model_bps_bucket", {"le": str(le)}) \
            == sum(d <= le for d in diffs), le
    logged = {x["parent_id"]: x for x in map(json.loads, logs.getvalue().splitlines())
              if x["event"] == "parent_cost"}
    for pid, d in zip(by_parent, diffs, strict=True):
        assert logged[pid]["slippage_vs_model_bps"] == pytest.approx(d, abs=1e-3)
    assert reg.get_sample_value("qlab_slippage_z_count") == len(SYMBOLS)
    # completion is observed once per parent, however many bars follow
    assert reg.get_sample_value("qlab_slippage_vs_model_bps_count") == len(runner.costs.predicted)
    assert not runner.costs.pending  # every predicted parent was observed


def test_no_cost_model_no_observation(gateway, settings, server_keys):  # noqa: F811
    script_market(gateway)
    runner, session = make_runner(gateway, settings, server_keys)
    runner.run(minute_feed(session), max_bars=8)
    assert runner.costs is None
    assert runner.metrics.registry.get_sample_value("qlab_slippage_vs_model_bps_count") == 0


def test_orders_logged_once_per_bar_with_every_order_id(gateway, settings, server_keys):  # noqa: F811
    script_market(gateway)
    logs = io.StringIO()
    runner, session = make_runner(gateway, settings, server_keys, stream=logs)
    runner.run(minute_feed(session), max_bars=3)
    lines = [json.loads(x) for x in logs.getvalue().splitlines()]
    batches = [x for x in lines if x["event"] == "orders_submitted"]
    assert len(batches) == len({b["bar"] for b in batches})  # at most one line per bar
    logged = [o["client_order_id"] for b in batches for o in b["orders"]]
    assert sorted(logged) == sorted(o.user_mark for o in gateway.orders.values())
    assert sum(b["count"] for b in batches) == runner.engine.stats.submits
