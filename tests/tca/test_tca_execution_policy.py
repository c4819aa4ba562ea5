"""The study's algorithms take their parameters from the run config's execution policy; the
cost model's settings change the prediction being judged, never how the orders are worked."""

from __future__ import annotations

import pytest

from research.config import ExecutionPolicy, load_settings
from sim.tca import StrategyParams, compare_strategies

WORKED = ("market", "limit", "pov", "is")


def _run(bars, orders, **kw):
    return compare_strategies(bars, orders, WORKED, seed=4, code_version="t", **kw)


def _executed(result, name: str):
    rows = result.per_order[result.per_order["strategy"] == name]
    return rows.set_index("order_id")[["filled", "is_bps"]].sort_index()


def test_cost_settings_no_longer_steer_execution_and_the_policy_does(tca_bars, tca_orders):
    base = _run(tca_bars, tca_orders)
    defaults = base.summary["meta"]["assumptions"]["strategy_params"]
    assert defaults == {"limit_offset_bps": 0.0, "limit_cleanup_bars": 5, "pov_rate": 0.10,
                        "is_risk_aversion": 1e-6, "is_impact_y": 0.7, "max_child_fee_bps": None}

    # the four cost settings that used to set the POV rate, the IS coefficients and the limit
    # offset: now they only move the predictor
    tuned_costs = load_settings(None, costs={"max_participation": 0.05, "risk_aversion": 1e-4,
                                             "sqrt_impact_y": 1.5, "limit_offset_bps": 3.0})
    cost_tuned = _run(tca_bars, tca_orders, settings=tuned_costs)
    assert cost_tuned.summary["meta"]["assumptions"]["strategy_params"] == defaults
    for name in WORKED:
        assert _executed(cost_tuned, name).equals(_executed(base, name)), name

    policy = ExecutionPolicy(pov_rate=0.05, risk_aversion=1e-4, is_impact_y=1.5,
                             limit_offset_bps=3.0, limit_cleanup_minutes=10)
    steered = _run(tca_bars, tca_orders, execution_policy=policy)
    assert steered.summary["meta"]["assumptions"]["strategy_params"] == {
        "limit_offset_bps": 3.0, "limit_cleanup_bars": 10, "pov_rate": 0.05,
        "is_risk_aversion": 1e-4, "is_impact_y": 1.5, "max_child_fee_bps": None}
    assert _executed(steered, "market").equals(_executed(base, "market"))
    for name in ("limit", "pov", "is"):
        assert not _executed(steered, name).equals(_executed(base, name)), name


def test_the_clean_up_window_is_counted_in_bars_of_the_study():
    policy = ExecutionPolicy(limit_cleanup_minutes=10)
    assert StrategyParams.from_policy(policy, bar_minutes=5.0).limit_cleanup_bars == 2
    assert StrategyParams.from_policy(policy, bar_minutes=1.0).limit_cleanup_bars == 10


def test_a_policy_leaving_limits_unfinished_is_refused():
    with pytest.raises(ValueError, match="limit_fallback_to_market must be true"):
        StrategyParams.from_policy(ExecutionPolicy(limit_fallback_to_market=False), 1.0)


def test_a_run_configs_cost_model_choice_is_the_predictor_and_fee_schedule_judged(
        tca_bars, tca_orders):
    """validate-run judges the config's own cost model: with ``cost_model.fee_schedule: zero``
    the study charges no fees and predicts none, whatever ``settings.costs`` says (Tiger's
    schedule by default); the same orders are worked the same way."""
    from research.config import CostModelChoice

    tiger = _run(tca_bars, tca_orders)
    zero = _run(tca_bars, tca_orders, cost_model_choice=CostModelChoice(fee_schedule="zero"))
    assert tiger.summary["meta"]["assumptions"]["fee_schedule"] == "tiger_us"
    assert zero.summary["meta"]["assumptions"]["fee_schedule"] == "zero"
    for name in WORKED:
        t = tiger.per_order[tiger.per_order["strategy"] == name].set_index("order_id")
        z = zero.per_order[zero.per_order["strategy"] == name].set_index("order_id")
        assert (z["filled"] == t["filled"]).all(), name
        assert (t["fees_bps"] > 0).any() and (z["fees_bps"] == 0).all(), name
        assert (z["predicted_bps"] < t["predicted_bps"]).all(), name
