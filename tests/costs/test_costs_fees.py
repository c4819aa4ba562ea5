"""Fee schedules: minimums, caps, buys vs sells, tiny orders, versions chosen by date."""

from __future__ import annotations

import json

import numpy as np
import pytest

from research.costs import compute_fees, fee_schedule, load_fee_schedules

TIGER = fee_schedule("tiger_us")


def parts(date, quantity, price, sell):
    table = TIGER.as_of(date)
    return {k: float(v[0]) for k, v in table.breakdown([quantity], [price], [sell]).items()}


def test_tiny_buy_pays_the_minimums():
    p = parts("2024-06-03", 1, 10.0, False)
    # commission: 0.0039 < min 0.99, and its 0.5% cap ($0.05) is below the minimum: min wins
    assert p["commission"] == pytest.approx(0.99)
    assert p["platform_fee"] == pytest.approx(1.00)
    assert p["agency_fee"] == pytest.approx(0.00396)
    assert p["finra_taf"] == 0.0 and p["sec_fee"] == 0.0  # buys pay no sell-side fees
    assert p["cat_fee"] == 0.0  # no CAT line before 2025-05-22
    assert sum(p.values()) == pytest.approx(1.99396)


def test_tiny_sell_pays_the_regulatory_minimums():
    p = parts("2024-06-03", 1, 10.0, True)
    # TAF 0.000166 and SEC 27.80e-6 * $10 = $0.000278 are both raised to the $0.01 minimum
    assert p["finra_taf"] == pytest.approx(0.01)
    assert p["sec_fee"] == pytest.approx(0.01)
    assert sum(p.values()) == pytest.approx(2.01396)


def test_percentage_caps_and_taf_cap():
    p = parts("2024-06-03", 100_000, 0.50, True)  # $50,000 of a 50-cent stock
    assert p["commission"] == pytest.approx(250.0)  # 390 capped at 0.5% of $50,000
    assert p["platform_fee"] == pytest.approx(250.0)  # 400 capped at 0.5%
    assert p["agency_fee"] == pytest.approx(396.0)  # no cap
    assert p["finra_taf"] == pytest.approx(8.30)  # 16.60 capped at $8.30 per trade
    assert p["sec_fee"] == pytest.approx(27.80e-6 * 50_000)


def test_ordinary_order_per_share_rates():
    p = parts("2024-06-03", 1_000, 100.0, True)
    assert p["commission"] == pytest.approx(3.90)
    assert p["platform_fee"] == pytest.approx(4.00)
    assert p["finra_taf"] == pytest.approx(0.166)
    assert p["sec_fee"] == pytest.approx(2.78)


@pytest.mark.parametrize("date, sec_per_million, taf_per_share", [
    ("2018-05-21", 23.10, 0.000119),
    ("2018-05-22", 13.00, 0.000119),
    ("2019-04-15", 13.00, 0.000119),
    ("2019-04-16", 20.70, 0.000119),
    ("2021-02-25", 5.10, 0.000119),
    ("2023-06-01", 8.00, 0.000145),
    ("2024-05-22", 27.80, 0.000166),
    ("2025-05-14", 0.00, 0.000166),
])
def test_schedule_version_is_chosen_by_date(date, sec_per_million, taf_per_share):
    p = parts(date, 10_000, 100.0, True)  # $1,000,000 sold
    assert p["sec_fee"] == pytest.approx(sec_per_million)  # a zero rate is 0, not the minimum
    assert p["finra_taf"] == pytest.approx(min(taf_per_share * 10_000, 8.30))


def test_cat_fee_from_2025_05_22_on_both_sides():
    before = parts("2025-05-21", 10_000, 100.0, False)["cat_fee"]
    after_buy = parts("2025-05-22", 10_000, 100.0, False)["cat_fee"]
    after_sell = parts("2025-05-22", 10_000, 100.0, True)["cat_fee"]
    assert before == 0.0
    assert after_buy == after_sell == pytest.approx(0.35)


def test_dates_before_the_schedule_are_an_error():
    with pytest.raises(ValueError, match="no .* version in force on 2005-01-03"):
        TIGER.as_of("2005-01-03")
    assert fee_schedule("zero").as_of("1990-01-02").compute([100], [10.0], [True])[0] == 0.0


def test_flat_and_zero_schedules():
    fees = compute_fees([100, 200], [50.0, 25.0], [True, False], "1995-01-03",
                        schedule="flat_bps", flat_bps=2.0)
    np.testing.assert_allclose(fees, [1.0, 1.0])  # 2 bps of $5,000 each side
    assert compute_fees([100], [50.0], [True], "2024-01-02", schedule="zero")[0] == 0.0
    with pytest.raises(ValueError, match="unknown fee schedule"):
        fee_schedule("ibkr")


def test_child_orders_each_pay_the_minimum():
    table = TIGER.as_of("2024-06-03")
    one = table.compute([1_200], [20.0], [False])[0]
    twelve = table.compute([1_200], [20.0], [False], children=12)[0]
    # one order: 4.68 + 4.80 + 4.752; twelve of 100 shares: 12 * (0.99 + 1.00 + 0.396)
    assert one == pytest.approx(0.0039 * 1200 + 0.004 * 1200 + 0.00396 * 1200)
    assert twelve == pytest.approx(12 * (0.99 + 1.0 + 0.396))


def test_schedule_files_are_validated(tmp_path):
    bad_version = tmp_path / "v2.json"
    bad_version.write_text(json.dumps({"format": "qlab.costs.fee_schedules", "version": 2,
                                       "schedules": {}}))
    with pytest.raises(ValueError, match="version 1"):
        load_fee_schedules(bad_version)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"format": "qlab.costs.fee_schedules", "version": 1,
                                "schedules": {"x": {"components": {"c": [
                                    {"effective": "2020-01-01", "per_shares": 0.01}]}}}}))
    with pytest.raises(ValueError, match=r"x\.c\[0\]: unknown field"):
        load_fee_schedules(typo)
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps({"format": "qlab.costs.fee_schedules", "version": 1,
                                  "schedules": {"mine": {"components": {"c": [
                                      {"effective": "2020-01-01", "per_share": 0.01,
                                       "minimum": 2.0}]}}}}))
    mine = load_fee_schedules(custom)["mine"]
    np.testing.assert_allclose(mine.as_of("2021-01-01").compute([10, 1000], [5.0, 5.0],
                                                                [False, True]), [2.0, 10.0])


@pytest.mark.parametrize("table", [TIGER.as_of("2024-06-03"), TIGER.as_of("2025-06-02"),
                                   fee_schedule("flat_bps", flat_bps=2.0).as_of("2024-06-03")])
def test_compiled_totals_equal_the_vectorised_matrix_exactly(table):
    rng = np.random.default_rng(3)
    q = np.floor(rng.lognormal(5, 2, 500)) + 1  # 1 share to millions: minimums and caps
    price = rng.uniform(0.5, 900.0, 500)
    sell = rng.random(500) < 0.5
    fast = table.compute(q, price, sell)
    np.testing.assert_array_equal(fast, table.matrix(q, price, sell).sum(axis=0))
    assert (fast > 0).all()
