"""``qlab backtest``: a run config over a bar file through the replay, its JSON, and the inputs
it refuses with a message that names them."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from tests.cli.backtest_cli import invoke_backtest, write_run_config

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
    return write_run_config(
        tmp_path, "clitest", {"symbols": SYMBOLS, "start": "2022-02-28", "end": "2022-03-04"},
        execution={"algorithm": "twap", "horizon_minutes": 30, **execution})


run = invoke_backtest


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


def test_own_bars_for_embedded_names_are_sized_on_their_own_history(
        bar_file, isolated_env, tmp_path, sp500_closes):
    """Bars whose closes are not the embedded real ones (here: every price halved) are their
    own history: the lookbacks read the file's sessions and the first order is sized on its
    prices, not on the embedded closes of the same tickers; the JSON says whose history it
    was. The same file unhalved is taken for the embedded prices (years of lookback)."""
    import pandas as pd

    from research.data import SynthParams, synthesize_minute_bars

    bars = synthesize_minute_bars(sp500_closes[SYMBOLS], "2022-01-18", "2022-03-04",
                                  SynthParams(seed=8))
    for col in ("open", "high", "low", "close", "bid", "ask"):
        bars[col] = bars[col] / 2
    halved = tmp_path / "halved.parquet"
    bars.to_parquet(halved)
    out = isolated_env / "own.json"
    res = run([str(config_file(isolated_env)), "--bars", str(halved), "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert any(a.startswith("lookback history: the data's own 28 session(s)")
               for a in data["meta"]["assumptions"])
    trades = pd.DataFrame(data["trades"])
    real = sp500_closes.loc["2022-02-25", SYMBOLS]
    ratio = trades.groupby("symbol").price.first() / real
    assert ratio.between(0.45, 0.55).all(), ratio
    first = data["decisions"][0]
    assert first["nav"] == pytest.approx(1e6)
    # the unhalved file: the embedded closes are its prices, so their history is used
    same = isolated_env / "same.json"
    res = run([str(config_file(isolated_env)), "--bars", str(bar_file), "--json", str(same)])
    assert res.exit_code == 0, res.output
    assert any("embedded real daily closes before 2022-02-14" in a
               for a in json.loads(same.read_text())["meta"]["assumptions"])


def test_parents_that_never_traded_are_printed_with_why(bar_file, isolated_env, tmp_path):
    """XOM has no bar on the rebalance session: its parent is dropped at the session's end,
    and the command says so (not only meta.dropped_parents)."""
    import pandas as pd

    bars = pd.read_parquet(bar_file)
    day = bars["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    gap = tmp_path / "gap.parquet"
    bars[~((bars["symbol"] == "XOM") & (day == "2022-02-28"))].to_parquet(gap)
    res = run([str(config_file(isolated_env)), "--bars", str(gap)])
    assert res.exit_code == 0, res.output
    assert re.search(r"dropped: \S+XOM\S*: no price for its symbol all session", res.output)


def test_a_dataset_labelled_synthetic_borrows_the_embedded_history_only_at_their_prices(
        sp500_closes):
    """The synthetic label is the importer's word: the embedded closes lend their history
    only when the data's closes are theirs (here halved: they are not)."""
    from sim.backtest_data import _lookback_closes

    own = sp500_closes.loc["2022-02-01":"2022-03-04", SYMBOLS]
    first = pd.Timestamp("2022-02-28")
    same, note = _lookback_closes(own, sp500_closes, first, synthetic=True)
    assert same.index[0] < pd.Timestamp("1991-01-01") and "embedded" in note
    halved, note = _lookback_closes(own / 2, sp500_closes, first, synthetic=True)
    assert halved.index[0] == pd.Timestamp("2022-02-01") and "the data's own 18" in note
