from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from research.risk import RiskManager, kupiec, rolling_var, var_exceptions
from research.risk.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_snapshot_json_equals_the_manager(last_year):
    result = run("snapshot", "--equal-weight", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = RiskManager().update(last_year, {s: 0.05 for s in last_year.columns}, nav=1e6)
    assert payload["var"] == pytest.approx(expected.var, rel=1e-12)
    assert payload["cvar"] == pytest.approx(expected.cvar, rel=1e-12)
    assert payload["horizon_days"] == 21 and payload["n_observations"] == 252
    assert {row["limit"] for row in payload["limits"]} >= {"position_weight", "var_budget"}
    assert payload["as_of"].startswith("2022-12-28")


def test_snapshot_text_with_a_yaml_weights_file_and_options(tmp_path):
    weights = tmp_path / "book.yaml"
    weights.write_text("AAPL: 0.06\nMSFT: 0.06\nXOM: -0.03\n")
    result = run(
        "snapshot",
        "--weights",
        str(weights),
        "--horizon",
        "10",
        "--method",
        "gaussian",
        "--end",
        "2021-12-31",
    )
    assert result.exit_code == 0, result.output
    assert "10-day" in result.stdout and "gaussian" in result.stdout
    assert "position_weight" in result.stdout and "2021-12-31" in result.stdout


def test_backtest_json_equals_a_hand_run(sp500_returns):
    result = run("backtest", "--equal-weight", "--confidence", "0.99", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    book = sp500_returns.to_numpy().mean(axis=1)
    forecasts = rolling_var(book, 252, 0.99)
    hits = var_exceptions(book[252:], forecasts)
    assert payload["n_exceptions"] == int(hits.sum())
    assert payload["kupiec"]["lr"] == pytest.approx(kupiec(hits.size, int(hits.sum()), 0.01).lr)
    assert (
        payload["traffic_light"]["green_max"] == 4 and payload["traffic_light"]["yellow_max"] == 9
    )
    assert payload["traffic_light"]["exceptions"] == int(hits[-250:].sum())


def test_backtest_text_output():
    result = run("backtest", "--equal-weight", "--window", "500", "--method", "gaussian")
    assert result.exit_code == 0, result.output
    assert "Kupiec" in result.stdout and "traffic light" in result.stdout


def test_csv_prices(tmp_path, last_year):
    prices = (1 + last_year.iloc[:, :3]).cumprod() * 100
    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    result = run("snapshot", "--prices", str(path), "--equal-weight", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_observations"] == 251


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("snapshot",), "exactly one of"),
        (("snapshot", "--equal-weight", "--weights-sum", "0.9"), "not the declared 0.9"),
        (("snapshot", "--equal-weight", "--method", "garch"), "invalid option"),
        (("snapshot", "--equal-weight", "--end", "1990-01-10"), "observations for 20 assets"),
    ],
)
def test_clear_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_weights_file_errors(tmp_path):
    unknown = tmp_path / "book.json"
    unknown.write_text(json.dumps({"AAPL": 0.5, "TSLA": 0.5}))
    result = run("snapshot", "--weights", str(unknown))
    assert result.exit_code == 2 and "TSLA" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"AAPL": "lots"}')
    assert "not a number" in run("snapshot", "--weights", str(bad)).stderr


def test_prices_with_missing_values_are_refused(tmp_path, last_year):
    prices = (1 + last_year.iloc[:, :3]).cumprod() * 100
    prices.iloc[10, 1] = np.nan
    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    result = run("snapshot", "--prices", str(path), "--equal-weight")
    assert result.exit_code == 2 and "missing" in result.stderr and "AMD" in result.stderr
