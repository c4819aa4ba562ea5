"""The execution-comparison report's helpers (sim/tca/report.py, figures.py) and its parameters model,
on hand-built results: no engine run, no kernel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.tca import figures
from sim.tca import report as rep
from sim.tca.claim import CLAIM_BAND, CLAIM_TOLERANCE_PP
from sim.tca.params import ExecutionComparisonParams


def _strategy(mean, ci, fill=1.0, decomposition=None, std=10.0):
    decomposition = decomposition or {"delay": 0.0, "spread": 1.0, "impact": 2.0,
                                      "timing": mean - 4.0, "opportunity": 0.5, "fees": 0.5}
    return {"n_orders": 400, "is_bps": {"mean": mean, "median": mean, "std": std, "ci95": ci},
            "is_bps_notional_weighted": {"mean": mean + 1.0, "ci95": [ci[0] + 1.0, ci[1] + 1.0]},
            "fill_rate": fill, "fill_rate_ci95": [fill - 0.01, min(fill + 0.01, 1.0)],
            "decomposition_bps": decomposition,
            "decomposition_ci95": {k: [v - 1.0, v + 1.0] for k, v in decomposition.items()}}


def _paired(diff, diff_ci, diff_std, red, red_ci, red_sim=None, days=None, shift=0.0):
    red_sim = red_sim or red_ci
    return {"n_pairs": 400,
            "diff_bps": {"mean": diff, "ci95": diff_ci, "std": diff_std,
                         "ci_simultaneous": [diff_ci[0] - 0.5, diff_ci[1] + 0.5]},
            "reduction_pct": {"mean": red, "ci95": red_ci, "ci_simultaneous": list(red_sim),
                              "defined": True},
            "days_needed": None if days is None else {
                "days": days, "days_range": [days - 2, days + 5], "orders_per_day": 40.0,
                "effect_bps": -3.0, "power": 0.8},
            "days_to_resolve_band": None if days is None else 10 * days,
            "design_effect": 1.8,
            "arrival_shift_bps": {"mean": shift, "ci95": [shift - 0.1, shift + 0.1],
                                  "max_abs": abs(shift) * 20},
            "diff_bps_market_arrival": {"mean": diff + shift, "ci95": [diff_ci[0] + shift,
                                                                       diff_ci[1] + shift]}}


def _summary(twap_red_ci=(15.5, 17.5), twap_red_sim=None, limit_fill=0.95, synthetic=True,
             days=10):
    """market 20 bps; twap 17 bps (15% cheaper); limit 22 bps (10% dearer); ``days`` trading
    days."""
    return {
        "strategies": {"market": _strategy(20.0, [17.0, 23.0]),
                       "limit": _strategy(22.0, [18.0, 26.0], fill=limit_fill),
                       "twap": _strategy(17.0, [14.0, 20.0])},
        "paired_vs_market": {
            "limit": _paired(2.0, [-1.0, 5.0], 30.0, -10.0, [-25.0, 5.0], days=80, shift=0.43),
            "twap": _paired(-3.0, [-5.0, -1.0], 30.0, 15.0, list(twap_red_ci), twap_red_sim,
                            days=7)},
        "breakdowns": {
            "adv_pct": [
                {"bucket": "0-0.1", "n_orders": 0, "days": 0, "is_bps_mean": {},
                 "is_bps_ci95": {}, "diff_vs_market_bps_mean": {},
                 "diff_vs_market_bps_ci95": {}},
                {"bucket": "0.1-0.5", "n_orders": 3, "days": 2,
                 "is_bps_mean": {"market": 10.0, "limit": 9.0, "twap": 8.0},
                 "is_bps_ci95": {"market": [5.0, 15.0], "limit": [4.0, 14.0],
                                 "twap": [3.0, 13.0]},
                 "diff_vs_market_bps_mean": {"limit": -1.0, "twap": -2.0},
                 "diff_vs_market_bps_ci95": {"limit": [-3.0, 1.0], "twap": [-4.0, 0.0]}}],
            "time_of_day": []},
        "meta": {
            "n_orders": 400, "n_sessions": days, "seed": 0, "clusters": days,
            "interval_method": "t_day_totals",
            "bars": {"synthetic": synthetic, "study_first_bar": "2022-03-01T09:31:00-05:00",
                     "study_last_bar": "2022-03-14T16:00:00-04:00"},
            "statistics": {"interval_method_text": "t(G-1) on day totals",
                           "multiple_comparisons": {"method": "bonferroni", "comparisons": 2,
                                                    "level_each": 0.975}},
            "assumptions": {"impact_y": 0.8, "permanent_impact": 1.0,
                            "limit_fill_rule": "through", "participation_cap": 0.1,
                            "spread_source": "quotes", "fee_schedule": "tiger_us",
                            "latency_bars": 1, "benchmark": "arrival mid"}},
    }


# ---------------------------------------------------------------------------- verdict logic
@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (2.0, 16.0, "unsized"), (16.0, 17.0, "consistent"), (15.0, 18.0, "consistent"),
    (14.0, 19.0, "unsized"), (13.0, 16.0, "unsized"), (13.0, 17.0, "unsized"),
    (0.5, 60.0, "unsized"), (-5.0, 16.0, "unresolved"), (1.0, 14.9, "below"),
    (-30.0, 10.0, "below"), (18.5, 30.0, "above"), (-10.0, -1.0, "costlier"),
    (math.nan, 1.0, "no_interval"),
])
def test_reduction_intervals_are_classified_against_the_claimed_band(lo, hi, expected):
    assert rep.classify_reduction(lo, hi) == expected


def test_one_criterion_the_whole_interval_inside_the_band():
    """No tolerance hidden in the verdict: [14, 19] or [13, 16] are not 'consistent', and the
    text does not call an interval as wide as the band 'wider than the band'."""
    assert CLAIM_BAND == (15.0, 18.0) and CLAIM_TOLERANCE_PP == 0.0
    s = _summary(twap_red_ci=(13.0, 16.0))
    v = rep.claim_verdict(s, strategy_under_test="twap")
    assert v.outcome == "unresolved"
    assert "extends outside it" in v.markdown and "wider than the band" not in v.markdown


def test_a_real_saving_of_unpinned_size_is_not_the_claim_holding():
    s = _summary(twap_red_ci=(0.2, 44.5))
    s["paired_vs_market"]["twap"]["reduction_pct"]["mean"] = 16.0  # even inside the band
    v = rep.claim_verdict(s)
    assert v.outcome == "unresolved" and "the size is not pinned" in v.markdown


def test_a_strategy_named_in_advance_is_tested_on_its_own_interval():
    v = rep.claim_verdict(_summary(twap_red_sim=(14.5, 18.5)), strategy_under_test="twap")
    assert v.outcome == "holds" and v.tested == ("twap",)
    assert [f.strategy for f in v.findings] == ["twap"]
    assert "tested on **twap**, named before the run" in v.markdown
    with pytest.raises(ValueError, match="strategy_under_test 'vwap'"):
        rep.claim_verdict(_summary(), strategy_under_test="vwap")


def test_without_a_named_strategy_the_intervals_are_simultaneous():
    """Testing every alternative and keeping the best would pass a false claim too often: the
    verdict then reads the Bonferroni-adjusted intervals."""
    v = rep.claim_verdict(_summary(twap_red_sim=(14.5, 18.5)))
    assert v.outcome == "unresolved" and v.tested == ("limit", "twap")
    assert {f.strategy: f.ci95 for f in v.findings}["twap"] == (14.5, 18.5)
    assert "2 comparisons" in v.markdown and "97.5% (Bonferroni)" in v.markdown
    assert rep.claim_verdict(_summary(twap_red_sim=(15.2, 17.9))).outcome == "holds"


def test_too_few_days_leave_the_claim_unresolved_whatever_the_intervals():
    v = rep.claim_verdict(_summary(days=4), strategy_under_test="twap")
    assert v.outcome == "unresolved" and v.reason == "too few days"
    assert "the 15-18% claim is NOT RESOLVED: too few days.**" in v.markdown
    assert "spans 4 trading day(s); a verdict needs at least 5" in v.markdown
    assert "t(3) on 4 day totals" in v.markdown
    assert rep.claim_verdict(_summary(days=5), strategy_under_test="twap").outcome == "holds"


def test_verdict_text_names_the_method_days_needed_and_the_benchmark_shift():
    v = rep.claim_verdict(_summary(), strategy_under_test="twap")
    text = v.markdown
    assert "Verdict on SYNTHETIC data: the 15-18% claim HOLDS" in text
    assert "market orders cost 20.00 bps per order [95% CI 17.00, 23.00]" in text
    assert ("**twap**, 17.00 bps: 15.0% cheaper than market orders (reduction 15.0% "
            "[15.5, 17.5])") in text
    assert "Intervals: t(9) on 10 day totals" in text
    assert ("- twap: 7 trading days (range 5-12, about 280 orders) to detect a 15% saving; "
            "70 days to pin the reduction to ±1.5 points (to tell 15% from 18%); design effect "
            "1.80.") in text
    assert "at 40.0 orders a day" in text and "with 80% power" in text
    assert ("- limit: shifted +0.43 bps on average (largest 8.60 on one order); against the "
            "market run's arrival mid it costs +2.43 [-0.57, +5.43] bps more than market "
            "orders.") in text
    assert "market 20.0 bps vs 20.7 claimed (inside the interval)" in text
    assert "impact Y = 0.8" in text and "only when the market trades through" in text


def test_verdict_does_not_hold_when_every_interval_misses_the_band():
    v = rep.claim_verdict(_summary(twap_red_ci=(1.0, 12.0), synthetic=False))
    assert v.outcome == "does not hold"
    assert "Verdict on this data: the 15-18% claim DOES NOT HOLD" in v.markdown
    assert "SYNTHETIC" not in v.markdown


def test_verdict_unresolved_when_the_interval_also_covers_zero():
    v = rep.claim_verdict(_summary(twap_red_ci=(-4.0, 30.0)))
    assert v.outcome == "unresolved"
    assert "is NOT RESOLVED" in v.markdown


def test_verdict_flags_a_low_fill_rate():
    text = rep.claim_verdict(_summary(limit_fill=0.5)).markdown
    assert "limit filled 50.0% of the shares" in text
    assert "twap filled" not in text


def _sens(**extra):
    rows = pd.DataFrame([
        {"axis": "base", "value": "", "strategy": "market", "is_bps": 20.0,
         "reduction_pct": math.nan, "same_ranking_as_base": True},
        {"axis": "base", "value": "", "strategy": "twap", "is_bps": 17.0,
         "reduction_pct": 15.0, "same_ranking_as_base": True},
        {"axis": "impact_y", "value": 0.5, "strategy": "market", "is_bps": 12.0,
         "reduction_pct": math.nan, "same_ranking_as_base": False},
        {"axis": "impact_y", "value": 0.5, "strategy": "twap", "is_bps": 13.0,
         "reduction_pct": -8.3, "same_ranking_as_base": False},
    ])
    return rows.assign(reduction_ci_lo=[np.nan, 1.0, np.nan, -20.0],
                       reduction_ci_hi=[np.nan, 30.0, np.nan, 5.0],
                       is_ci_lo=[18.0, 15.0, 10.0, 11.0], is_ci_hi=[22.0, 19.0, 14.0, 15.0],
                       clusters=10, **extra)


def test_verdict_shows_each_sensitivity_cell_interval_not_counts():
    sens = _sens()
    inert = sens[sens["axis"] == "base"].assign(axis="limit_fill_rule", value="touch")
    assert rep.unchanged_cells(pd.concat([sens, inert])) == ["limit_fill_rule = touch"]
    assert rep.unchanged_cells(sens) == []
    text = rep.claim_verdict(_summary(), pd.concat([sens, inert]), 150).markdown
    assert ("- limit_fill_rule = touch: twap 15.0 [1.0, 30.0]% (identical to the base: the "
            "assumption does not bind on these orders).") in text
    text = rep.claim_verdict(_summary(), sens, 150).markdown
    assert "Sensitivity (150 orders, 10 trading days, strategies market, twap" in text
    assert "not independent evidence" in text
    assert "- none (base): twap 15.0 [1.0, 30.0]%." in text
    assert "- impact_y = 0.5: twap -8.3 [-20.0, 5.0]%." in text
    assert " held in " not in text and " of 2" not in text  # no counts of point estimates
    table = rep.sensitivity_summary(sens)
    assert list(table["ranking by point estimate"]) == ["twap < market", "market < twap"]
    assert list(table["twap vs market [95% CI]"]) == ["15.0 [1.0, 30.0]%", "-8.3 [-20.0, 5.0]%"]
    assert list(table["assumption changed"]) == ["none (base)", "impact_y = 0.5"]
    assert list(table["market IS, bps [95% CI]"]) == ["20.00 [18.00, 22.00]",
                                                      "12.00 [10.00, 14.00]"]
    # a cell whose market cost is not resolved above 0 quotes no % but the paired bps
    unresolved = sens.assign(reduction_defined=[True, True, True, False],
                             diff_bps=[np.nan, -3.0, np.nan, 1.0],
                             diff_ci_lo=[np.nan, -5.0, np.nan, -0.5],
                             diff_ci_hi=[np.nan, -1.0, np.nan, 2.5])
    text = rep.claim_verdict(_summary(), unresolved, 150).markdown
    assert "- impact_y = 0.5: twap +1.00 [-0.50, +2.50] bps." in text
    assert list(rep.sensitivity_summary(unresolved)["twap vs market [95% CI]"])[1] == \
        "+1.00 [-0.50, +2.50] bps"


def test_verdict_needs_a_market_baseline():
    s = _summary()
    del s["strategies"]["market"]
    with pytest.raises(ValueError, match="no market-order baseline"):
        rep.claim_verdict(s)


# ------------------------------------------------------------------------------- tables
def test_strategy_table_carries_the_json_numbers():
    t = rep.strategy_table(_summary()).set_index("strategy")
    assert t.loc["twap", "is_bps"] == 17.0 and t.loc["twap", "is_ci_lo"] == 14.0
    assert t.loc["twap", "reduction_pct"] == 15.0 and t.loc["twap", "reduction_ci_hi"] == 17.5
    assert t.loc["limit", "days_needed"] == 80 and t.loc["limit", "days_needed_hi"] == 85
    assert t.loc["twap", "is_nw_bps"] == 18.0
    assert math.isnan(t.loc["market", "reduction_pct"])
    shown = rep.display_table(_summary())
    assert shown.columns.name == "95% intervals: t(9) on 10 day totals"
    assert shown.loc["twap", "reduction vs market, % [95% CI]"] == "15.0 [15.5, 17.5]"
    assert shown.loc["twap", "days to detect a 15% saving, 80% power [range]"] == "7 [5-12]"
    assert shown.loc["twap", "notional-weighted IS, bps [95% CI]"] == "18.00 [15.00, 21.00]"
    assert shown.loc["limit", "fill rate of shares, % [95% CI]"] == "95.0 [94.0, 96.0]"
    assert shown.loc["market", "vs market, bps [95% CI]"] == "baseline"
    deco = rep.decomposition_display(_summary())
    assert deco.loc["twap", "spread"] == "1.00 [0.00, 2.00]"
    assert deco.loc["twap", "total"] == "17.00 [14.00, 20.00]"


def test_decomposition_total_is_the_sum_of_the_components():
    table = rep.decomposition_table(_summary())
    assert list(table.columns) == [*rep.COMPONENTS, "total"]
    # spread 1 + impact 2 + timing (mean - 4) + opportunity 0.5 + fees 0.5 = mean
    np.testing.assert_allclose(table["total"], [20.0, 22.0, 17.0])


def test_breakdown_table_skips_empty_buckets_and_names_a_wrong_kind():
    long = rep.breakdown_table(_summary(), "adv_pct")
    assert list(long["bucket"].unique()) == ["0.1-0.5"]
    assert long.set_index("strategy").loc["twap", "diff_vs_market_bps"] == -2.0
    assert math.isnan(long.set_index("strategy").loc["market", "diff_vs_market_bps"])
    assert rep.breakdown_table(_summary(), "time_of_day").empty
    with pytest.raises(ValueError, match="breakdown 'size'"):
        rep.breakdown_table(_summary(), "size")


def test_calibration_table_by_hand():
    po = pd.DataFrame({
        "strategy": ["market"] * 3 + ["twap"] * 3,
        "is_bps": [10.0, 20.0, 30.0, 5.0, 5.0, 99.0],
        "predicted_bps": [10.0, 10.0, 10.0, 4.0, 6.0, np.nan],
        "z": [0.0, 1.0, 2.0, 0.5, -0.5, np.nan],
        "day": ["d1", "d2", "d3", "d1", "d2", "d3"],
    })
    t = rep.calibration_table(po)
    # the z mean's interval: t(2) on the 3 days' z (one order a day): 1 +- 4.303 x 1 / sqrt(3)
    half = 4.302652729911275 / math.sqrt(3.0)
    assert t.loc["market", "z_mean_ci_lo"] == pytest.approx(1.0 - half)
    assert t.loc["market", "z_mean_ci_hi"] == pytest.approx(1.0 + half)
    assert list(t.index) == ["market", "twap"]
    assert t.loc["market", "orders"] == 3 and t.loc["twap", "orders"] == 2  # NaN dropped
    assert t.loc["market", "error_bps"] == pytest.approx(10.0)
    assert t.loc["market", "z_mean"] == pytest.approx(1.0)
    assert t.loc["market", "z_std"] == pytest.approx(1.0)
    assert t.loc["twap", "z_std"] == pytest.approx(math.sqrt(0.5))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['z'\]"):
        rep.calibration_table(po.drop(columns="z"))


def test_order_subset_is_seeded_and_keeps_the_original_order():
    parents = pd.DataFrame({"order_id": [f"o{i:03d}" for i in range(50)]})
    a = rep.order_subset(parents, 10, seed=3)
    assert len(a) == 10 and a["order_id"].is_monotonic_increasing
    assert a.equals(rep.order_subset(parents, 10, seed=3))
    assert not a.equals(rep.order_subset(parents, 10, seed=4))
    assert rep.order_subset(parents, 80, seed=3) is parents


def test_headline_metrics_and_their_printout():
    v = rep.claim_verdict(_summary())
    m = rep.headline_metrics(_summary(), v)
    assert m["is_bps"] == {"market": 20.0, "limit": 22.0, "twap": 17.0}
    assert m["reduction_pct"] == {"limit": -10.0, "twap": 15.0}
    assert m["reduction_pct_ci95"]["twap"] == [15.5, 17.5]
    assert m["claim_outcome"] == "holds" and m["best_strategy"] == "twap"
    assert m["clusters"] == 10
    text = " ".join(rep.format_headline(m).split())
    assert "95% intervals: t(9) on 10 day totals" in text
    assert "twap IS 17.00 [14.00, 20.00] bps vs market 15.0 [15.5, 17.5] %" in text
    assert ("15-18% claim: holds (tested: limit, twap; cheapest alternative by point "
            "estimate: twap)") in text
    few = rep.headline_metrics(_summary(days=3), rep.claim_verdict(_summary(days=3)))
    assert "15-18% claim: unresolved: too few days" in rep.format_headline(few)
    # a baseline not resolved above zero: the printout quotes the paired difference in bps
    s = _summary()
    s["paired_vs_market"]["twap"]["reduction_pct"]["defined"] = False
    text = " ".join(rep.format_headline(rep.headline_metrics(s)).split())
    assert ("twap IS 17.00 [14.00, 20.00] bps vs market -3.00 [-5.00, -1.00] bps (no %: market "
            "cost not resolved above 0)") in text
    m = rep.headline_metrics(s)  # what MLflow gets: no unbounded ratio
    assert math.isnan(m["reduction_pct"]["twap"]) and m["reduction_defined"]["twap"] is False
    assert rep.display_table(s).loc["twap", "reduction vs market, % [95% CI]"].startswith("no %")


# ------------------------------------------------------------------------------- figures
def test_figures_carry_the_intervals():
    s = _summary()
    fig = figures.is_figure(s, "t")
    bars = fig.data[0]
    np.testing.assert_allclose(bars.error_y.array, [3.0, 4.0, 3.0])  # hi - mean
    np.testing.assert_allclose(bars.error_y.arrayminus, [3.0, 4.0, 3.0])
    assert list(fig.data[1].y) == [20.7, 17.9, 16.2]  # the seed's levels
    red = figures.reduction_figure(s, "t").data[0]
    assert list(red.y) == ["limit", "twap"]
    np.testing.assert_allclose(red.error_x.array, [15.0, 2.5])  # hi - mean
    assert "t(9) on 10 day totals" in figures.is_figure(s, "t").layout.title.text
    undefined = _summary()
    for p in undefined["paired_vs_market"].values():
        p["reduction_pct"]["defined"] = False
    diff = figures.reduction_figure(undefined, "t")
    assert list(diff.data[0].x) == [2.0, -3.0]  # the paired difference, bps
    np.testing.assert_allclose(diff.data[0].error_x.array, [3.0, 2.0])
    assert "no % of it is meaningful" in diff.layout.title.text
    deco = figures.decomposition_figure(s, "t")
    assert [t.name for t in deco.data] == [*rep.COMPONENTS, "total (mean IS)"]
    brk = figures.breakdown_figure(s, "adv_pct", "t", "x")
    assert list(brk.data[0].x) == ["0.1-0.5 (n=3, 2 days)"]
    np.testing.assert_allclose(brk.data[0].error_y.array, [5.0])  # market: 15 - 10


def test_calibration_figures_clip_and_count_outliers():
    po = pd.DataFrame({"strategy": ["market"] * 3, "is_bps": [1.0, 2.0, 3.0],
                       "predicted_bps": [1.0, 1.0, 1.0], "z": [0.0, 15.0, -1.0]})
    scatter, hist = figures.calibration_figures(po, "t", z_clip=10.0)
    assert list(hist.data[0].x) == [0.0, 10.0, -1.0]
    assert "1 beyond ±10" in hist.layout.title.text
    assert scatter.data[-1].name == "realised = predicted"


# ---------------------------------------------------------------------------- parameters
def test_smoke_caps_the_run_and_the_window():
    p = ExecutionComparisonParams(smoke=True)
    e = p.effective()
    assert (e.n_orders, e.sensitivity_n_orders) == (24, 10)
    assert e.sensitivity_strategies == ["market", "twap"]
    # five sessions from Tuesday 2022-03-01: Mar 1, 2, 3, 4, 7
    assert p.study_window("sp500_synthetic_minute") == ("2022-03-01", "2022-03-07")
    assert ExecutionComparisonParams().effective().n_orders == 1000


def test_study_window_defaults_only_on_the_embedded_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text("timestamp,symbol\n")  # a bars file must exist
    assert ExecutionComparisonParams().study_window("sp500_synthetic_minute") == (
        "2022-03-01", "2022-03-31")
    assert ExecutionComparisonParams(bars="mine.csv").study_window(
        "sp500_synthetic_minute") == (None, None)
    assert ExecutionComparisonParams(start="2022-05-02", end="none").study_window(
        "sp500_synthetic_minute") == ("2022-05-02", "2022-03-31")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("spread_sources", "quotes,vwap", "spread_sources.1: Input should be 'quotes', "
                                      "'corwin_schultz', 'abdi_ranaldo' or 'roll'"),
    ("participation_caps", [0.1, 1.5], "participation caps are fractions"),
    ("impact_y_grid", [0.5, 0.0], "impact coefficients must be positive"),
    ("strategies", "market,vwop", "strategies.1: Input should be"),
    ("strategy_under_test", "market", "market orders are the baseline"),
    ("n_boot", 2000, "n_boot: unknown parameter"),  # no resampling any more
])
def test_bad_values_are_named(field, value, message):
    from research.reports.params import format_validation_error

    with pytest.raises(ValidationError) as info:
        ExecutionComparisonParams.model_validate({field: value})
    assert any(message in line for line in format_validation_error(info.value)), \
        format_validation_error(info.value)


def test_verdict_quotes_no_percentage_when_the_market_baseline_reaches_zero():
    s = _summary(twap_red_ci=(-900.0, 1500.0))
    s["paired_vs_market"]["twap"]["reduction_pct"]["defined"] = False
    v = rep.claim_verdict(s)
    twap = next(f for f in v.findings if f.strategy == "twap")
    assert twap.finding == "baseline_unresolved" and v.outcome == "unresolved"
    # simultaneous intervals (two alternatives tested): the adjusted difference interval
    assert "- twap: -3.00 bps versus market orders [-5.50, -0.50], no meaningful %" in v.markdown
    v = rep.claim_verdict(s, strategy_under_test="twap")
    assert "- twap: -3.00 bps versus market orders [-5.00, -1.00], no meaningful %" in v.markdown
    assert "1500" not in v.markdown
