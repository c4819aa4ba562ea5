"""``qlab backtest``: a run config over a bar file through the replay, its JSON, and the inputs
it refuses with a message that names them."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

SYMBOLS = ["AAPL", "JPM", "XOM"]


@pytest.fixture(scope="module")
def bar_file(tmp_path_factory, sp500_closes):
    from research.data import SynthParams, synthesize_minute_bars

    bars = synthesize_minute_bars(sp500_closes[SYMBOLS], "2022-02-14", "2022-03-04",
                                  SynthParams(seed=8))
    path = tmp_path_factory.mktemp("bars") / "bars.parquet"
    bars.to_parquet(path)
    return path


def config_file(tmp_path, **execution):
    cfg = {"name": "clitest", "universe": {"symbols": SYMBOLS, "start": "2022-02-28",
                                           "end": "2022-03-04"},
           "strategy": {"kind": "equal_weight", "rebalance": "weekly", "capital": 1e6},
           "execution": {"algorithm": "twap", "horizon_minutes": 30, **execution},
           "risk": {"max_position_weight": 0.4, "max_sector_weight": 0.6}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(args):
    from qlab.cli import app

    return CliRunner().invoke(app, ["backtest", *args])


def test_backtest_writes_the_documented_json(bar_file, isolated_env):
    cfg = config_file(isolated_env)
    out = isolated_env / "bt.json"
    res = run([str(cfg), "--bars", str(bar_file), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "sharpe" in res.output and "costs, $ and bps" in res.output
    data = json.loads(out.read_text())
    assert data["schema"] == "qlab.backtest/1"
    assert list(data["equity"])[0] == "2022-02-25" and list(data["equity"])[-1] == "2022-03-04"
    assert data["decisions"][0]["session"] == "2022-02-28"
    assert data["trades"] and data["costs"]["dollars"]["total"] is not None
    assert data["config"]["name"] == "clitest"
    assert data["meta"]["seed"] == 3  # the simulated market's default seed
    again = isolated_env / "bt2.json"
    res = run([str(cfg), "--bars", str(bar_file), "--json", str(again), "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert again.read_text() == out.read_text()  # the same seed, the same JSON


@pytest.mark.parametrize(("extra", "expect"), [
    (["--frequency", "hourly"], "--frequency"),
    (["--engine", "zipline"], "--engine 'zipline'"),
    (["--slippage-bps", "3"], "the vectorbt engine's flat costs"),
    (["--engine", "vectorbt", "--fee-bps", "-1"], "fee_bps must be finite and >= 0"),
    (["--engine", "vectorbt", "--frequency", "minute"], "daily closes only"),
    (["--start", "2022-03-04", "--end", "2022-03-01"], "is before start"),
    (["--start", "2022-13-45"], "--start"),
    (["--bars", "missing.csv"], "missing.csv"),
])
def test_bad_input_is_refused_with_a_message(extra, expect, bar_file, isolated_env):
    cfg = config_file(isolated_env)
    args = [str(cfg), "--bars", str(bar_file), *extra] if "--bars" not in extra else \
        [str(cfg), *extra]
    res = run(args)
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output


def test_a_universe_symbol_without_bars_is_named(bar_file, isolated_env, tmp_path):
    cfg = config_file(isolated_env)
    data = yaml.safe_load(cfg.read_text())
    data["universe"]["symbols"] = [*SYMBOLS, "KO"]
    cfg.write_text(yaml.safe_dump(data))
    res = run([str(cfg), "--bars", str(bar_file)])
    assert res.exit_code == 2 and "['KO']" in res.output


def test_the_vectorbt_engine_writes_the_same_schema(isolated_env):
    cfg = config_file(isolated_env)
    out = isolated_env / "fast.json"
    res = run([str(cfg), "--bars", "sp500_daily", "--engine", "vectorbt", "--start",
               "2022-01-03", "--end", "2022-03-31", "--fee-bps", "2", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "vectorbt fast path" in res.output and "not modelled: risk limits" in res.output
    data = json.loads(out.read_text())
    assert data["schema"] == "qlab.backtest/1" and data["meta"]["engine"] == "vectorbt"
    assert data["meta"]["costs_model"] == {**data["meta"]["costs_model"], "fee_bps": 2.0,
                                           "slippage_bps": 5.0}
    assert data["risk_events"] == [] and data["costs"]["dollars"]["spread"] is None
    assert list(data["equity"])[0] == "2021-12-31" and data["trades"]
