"""The paired study end to end through the real engine, risk manager and simulated broker."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.tca import STRATEGY_NAMES, compare_strategies


def test_json_has_the_fields_the_acceptance_checks_read(tca_result):
    doc = json.loads(tca_result.to_json())
    for name in STRATEGY_NAMES:
        s = doc["strategies"][name]
        assert isinstance(s["is_bps"]["mean"], float)
        lo, hi = s["is_bps"]["ci95"]
        assert lo <= hi
        assert 0.0 <= s["fill_rate"] <= 1.0
        assert set(s["decomposition_bps"]) == {"delay", "spread", "impact", "timing",
                                               "opportunity", "fees"}
        if name != "market":
            r = doc["paired_vs_market"][name]["reduction_pct"]
            assert isinstance(r["mean"], float) and len(r["ci95"]) == 2
    assert "market" not in doc["paired_vs_market"]
    meta = doc["meta"]
    for key in ("data_hash", "seed", "code_version", "bars", "n_orders", "assumptions"):
        assert key in meta
    assert meta["n_orders"] == 20 and meta["seed"] == 4 and meta["bars"]["synthetic"] is False
    for key in ("impact_y", "limit_fill_rule", "participation_cap", "spread_source"):
        assert key in meta["assumptions"]
    assert meta["assumptions"]["spread_source"] == "quotes"


def test_every_strategy_executes_the_same_orders(tca_result, tca_orders):
    po = tca_result.per_order
    ids = sorted(tca_orders["order_id"])
    for name in STRATEGY_NAMES:
        assert sorted(po.loc[po["strategy"] == name, "order_id"]) == ids
    # same paper order per id: quantity and side agree across strategies
    assert (po.groupby("order_id")[["quantity", "side"]].nunique() == 1).all().all()


def test_decomposition_adds_up_and_market_orders_pay_the_spread(tca_result):
    po = tca_result.per_order
    parts = po[["delay_bps", "spread_bps", "impact_bps", "timing_bps", "opportunity_bps",
                "fees_bps"]].sum(axis=1)
    np.testing.assert_allclose(parts, po["is_bps"], atol=1e-8)
    mkt = po[(po["strategy"] == "market") & (po["filled"] > 0)]
    assert (mkt["spread_bps"] > 0).all() and (mkt["fees_bps"] > 0).all()
    # limit fills earn (or at worst pay zero) spread on their passive part
    assert po.loc[po["strategy"] == "limit", "spread_bps"].mean() < mkt["spread_bps"].mean()


def test_aggregates_match_a_hand_computation_from_the_orders(tca_result):
    po, doc = tca_result.per_order, tca_result.summary
    for name in ("market", "twap"):
        d = po[po["strategy"] == name]
        s = doc["strategies"][name]
        assert s["is_bps"]["mean"] == pytest.approx(d["is_bps"].mean(), abs=1e-6)
        assert s["is_bps"]["median"] == pytest.approx(d["is_bps"].median(), abs=1e-6)
        assert s["fill_rate"] == pytest.approx(d["filled"].sum() / d["quantity"].sum(), abs=1e-6)
        lo, hi = s["is_bps"]["ci95"]
        assert lo <= s["is_bps"]["mean"] <= hi
    m = po[po["strategy"] == "market"].set_index("order_id")["is_bps"]
    t = po[po["strategy"] == "twap"].set_index("order_id")["is_bps"].reindex(m.index)
    p = doc["paired_vs_market"]["twap"]
    assert p["diff_bps"]["mean"] == pytest.approx((t - m).mean(), abs=1e-6)
    assert p["reduction_pct"]["mean"] == pytest.approx(100 * (m.mean() - t.mean()) / m.mean(),
                                                       abs=1e-5)
    lo, hi = p["diff_bps"]["ci95"]
    assert lo <= p["diff_bps"]["mean"] <= hi
    lo, hi = p["reduction_pct"]["ci95"]
    assert lo <= p["reduction_pct"]["mean"] <= hi
    # 2 sessions < 5 clusters: the interval says it resampled orders, not days
    assert doc["meta"]["statistics"]["ci_method"] == "iid_bootstrap_orders"


def test_no_look_ahead_in_the_models(tca_result, tca_orders):
    first = pd.Timestamp(tca_orders["decision_time"].min())
    first_session = first.normalize()
    meta = tca_result.summary["meta"]
    assert pd.Timestamp(meta["bars"]["history_last_bar"]) < first_session
    assert pd.Timestamp(meta["assumptions"]["cost_model"]["fitted_through"]) < first_session
    # 5 past sessions are too few daily returns: the risk model used past bar returns
    assert "past bar returns" in meta["assumptions"]["risk_returns"]
    po = tca_result.per_order
    z = po.loc[po["strategy"] == "market", "z"]
    assert z.notna().all() and math.isfinite(z.mean())


def test_same_seed_gives_identical_json(tca_bars, tca_orders):
    kw = dict(strategies=("market", "limit"), seed=9, n_boot=200, code_version="test")
    a = compare_strategies(tca_bars, tca_orders, **kw).to_json()
    b = compare_strategies(tca_bars, tca_orders, **kw, n_jobs=2).to_json()
    assert a == b  # byte-identical, also when the strategies run in parallel processes


def test_bad_input_names_the_problem(tca_bars, tca_orders):
    orders = tca_orders.copy()
    orders.loc[3, "symbol"] = "ZZZZ"
    with pytest.raises(ValueError, match=r"ZZZZ"):
        compare_strategies(tca_bars, orders, ("market",))
    with pytest.raises(ValueError, match="unknown strateg"):
        compare_strategies(tca_bars, tca_orders, ("market", "iceberg"))
    # Bars that start on the first decision's day leave no history for the models.
    first = tca_orders["decision_time"].min()
    late = tca_bars[tca_bars["timestamp"] >= first.normalize()]
    later = tca_orders[tca_orders["decision_time"] > first.normalize() + pd.Timedelta(hours=10)]
    with pytest.raises(ValueError, match="no bars before the first decision"):
        compare_strategies(late, later, ("market",))


def test_reduction_is_flagged_undefined_when_the_market_cost_straddles_zero():
    from sim.tca.study import summarise

    rng = np.random.default_rng(0)
    n = 60
    rows = []
    for name, shift in (("market", 0.0), ("twap", -1.0)):
        rows.append(pd.DataFrame({
            "order_id": [f"o{i}" for i in range(n)], "strategy": name,
            "day": np.repeat(pd.date_range("2022-03-01", periods=6).date, n // 6),
            "is_bps": rng.normal(0.0, 5.0, n) + shift, "filled": 100, "quantity": 100,
            "fill_rate": 1.0, "z": np.nan, "predicted_bps": np.nan, "child_orders": 1,
            "child_rejects": 0, "adv_pct": 0.5, "minute_of_day": 60.0,
            **{c: 0.0 for c in ("delay_bps", "spread_bps", "impact_bps", "timing_bps",
                                "opportunity_bps", "fees_bps")}}))
    per_order = pd.concat(rows, ignore_index=True)
    red = summarise(per_order, ["market", "twap"], seed=0, n_boot=500)[
        "paired_vs_market"]["twap"]["reduction_pct"]
    assert red["defined"] is False and red["baseline_nonpositive_share"] > 0.025
    per_order.loc[per_order["strategy"] == "market", "is_bps"] += 20.0  # clearly positive
    red = summarise(per_order, ["market", "twap"], seed=0, n_boot=500)[
        "paired_vs_market"]["twap"]["reduction_pct"]
    assert red["defined"] is True and red["baseline_nonpositive_share"] == 0.0
