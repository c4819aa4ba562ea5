"""``tca compare`` on a user CSV in the bar schema, with and without quote columns."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sim.cli import tca_app


@pytest.mark.parametrize("quotes", [True, False])
def test_compare_runs_on_a_user_csv(tmp_path, tca_bars, tca_orders, quotes):
    bars = tca_bars if quotes else tca_bars.drop(columns=["bid", "ask", "bid_size", "ask_size"])
    bars_csv, orders_csv, out = tmp_path / "bars.csv", tmp_path / "orders.csv", tmp_path / "r.json"
    bars.to_csv(bars_csv, index=False)
    tca_orders.to_csv(orders_csv, index=False)
    res = CliRunner().invoke(tca_app, [
        "compare", "--bars", str(bars_csv), "--orders", str(orders_csv), "--strategies",
        "market,twap", "--seed", "2", "--json", str(out), "--no-track", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "twap" in res.output and "baseline" in res.output
    # the printout names how its intervals were made (2 sessions: t with 1 df)
    assert "95% intervals: t(1) on 2 day totals" in res.output
    doc = json.loads(out.read_text())
    assert set(doc["strategies"]) == {"market", "twap"}
    assert len(doc["paired_vs_market"]["twap"]["reduction_pct"]["ci95"]) == 2
    assert doc["meta"]["bars"]["has_quotes"] is quotes
    expected = "quotes" if quotes else "fixed fallback half spread (no quotes)"
    assert doc["meta"]["assumptions"]["spread_source"] == expected


def test_unknown_strategy_is_refused_before_any_work(tmp_path):
    res = CliRunner().invoke(tca_app, ["compare", "--strategies", "market,iceberg",
                                       "--no-track"])
    assert res.exit_code == 2 and "iceberg" in res.output


def test_rebalance_orders_are_the_monthly_inverse_volatility_trades(tca_bars):
    from sim.tca.order_sets import parent_order_set

    orders, desc = parent_order_set("rebalance", tca_bars, start="2022-02-01", end="2022-02-09")
    assert "inverse-volatility" in desc
    assert set(orders["symbol"]) <= {"AAPL", "JPM", "KO"} and len(orders) >= 1
    assert (orders["decision_time"].dt.strftime("%Y-%m-%d %H:%M") == "2022-02-01 10:00").all()
    assert (orders["quantity"] > 0).all()
