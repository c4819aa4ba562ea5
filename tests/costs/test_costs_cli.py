"""The `qlab costs` sub-commands, run through typer's test runner on research.costs.cli.app."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from research.costs.cli import app

runner = CliRunner()


@pytest.fixture
def orders_csv(tmp_path, orders, market):
    table = orders.join(market, on="symbol")  # market columns per order, consistent by symbol
    path = tmp_path / "orders.csv"
    table.to_csv(path, index=False)
    return path


def test_schedule_reproduces_the_reference_example():
    result = runner.invoke(app, [
        "schedule", "--shares", "1000000", "--horizon", "5", "--periods", "5",
        "--sigma", str(0.3 * 50 / np.sqrt(250)), "--eta", "2.5e-6", "--gamma", "2.5e-7",
        "--epsilon", "0.0625", "--risk-aversion", "1e-6", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    np.testing.assert_allclose(data["holdings"][1:5], [542380.7, 290295.1, 148216.1, 62303.2],
                               atol=0.05)
    assert data["expected_cost"] == pytest.approx(910477.8, abs=0.05)
    text = runner.invoke(app, ["schedule", "--shares", "1000", "--horizon", "1", "--periods",
                               "2", "--sigma", "0.5", "--eta", "1e-4"])
    assert text.exit_code == 0 and "kappa" in text.output


def test_schedule_bad_input_is_a_clean_error():
    result = runner.invoke(app, ["schedule", "--shares", "1000", "--horizon", "0", "--periods",
                                 "2", "--sigma", "0.5", "--eta", "1e-4"])
    assert result.exit_code == 2 and "horizon must be positive" in result.output


def test_estimate_json_and_table(orders_csv, orders):
    result = runner.invoke(app, ["estimate", str(orders_csv), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["order_id"] for r in rows] == orders["order_id"].tolist()
    assert all(r["total_usd"] == pytest.approx(r["total_bps"] * r["notional_usd"] / 1e4)
               for r in rows)
    table = runner.invoke(app, ["estimate", str(orders_csv), "--compare"])
    assert table.exit_code == 0 and "rank" in table.output and "ord-11" in table.output


def test_estimate_names_the_bad_order(tmp_path, orders, market):
    bad = orders.join(market, on="symbol")
    bad.loc[3, "quantity"] = -5
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    result = runner.invoke(app, ["estimate", str(path)])
    assert result.exit_code == 2 and "'ord-3'" in result.output


def test_calibrate_writes_a_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    u = np.exp(rng.uniform(np.log(1e-4), np.log(0.05), n))
    sigma = rng.uniform(0.01, 0.03, n)
    fills = pd.DataFrame({"quantity": u * 1e6, "adv": 1e6, "daily_vol": sigma,
                          "cost_bps": 0.6e4 * sigma * np.sqrt(u) + rng.normal(0, 1, n)})
    src = tmp_path / "fills.csv"
    fills.to_csv(src, index=False)
    out = tmp_path / "calibration.json"
    result = runner.invoke(app, ["calibrate", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sqrt_impact_y" in result.output and out.exists()
    assert json.loads(out.read_text())["params"]["sqrt_impact_y"] == pytest.approx(0.6, abs=0.03)
