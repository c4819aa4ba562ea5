"""Every class of bad input, driven through the real ``qlab`` command line.

One row per malformed input. Each must end with a non-zero exit, no traceback and a message
that names where the problem is (the file, the row or the field): a clear, located error,
never a crash and never silence. Valid input that looks unusual (a CSV whose UTC offsets change
across a daylight-saving boundary) must be accepted.

The inputs are tiny hand-written files, so a row's expected message is plain to read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qlab.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "inverse_volatility_daily.yaml"

# Three minute bars of AAPL on 2022-03-01 (EST, -05:00); {sym} and {close} are filled per case.
BAR_HEADER = "timestamp,symbol,open,high,low,close,volume\n"
BAR_ROWS = (
    "2022-03-01T09:31:00-05:00,{sym},160.0,161.0,159.5,{close},1000\n"
    "2022-03-01T09:32:00-05:00,{sym},160.5,161.5,160.0,161.0,1200\n"
    "2022-03-01T09:33:00-05:00,{sym},161.0,161.5,160.5,161.2,900\n"
)


def bars(sym: str = "AAPL", close: str = "160.5") -> str:
    return BAR_HEADER + BAR_ROWS.format(sym=sym, close=close)


# Minute bars on both sides of the 2022-03-13 DST change: -05:00 on Friday, -04:00 on Monday.
DST_BARS = BAR_HEADER + (
    "2022-03-11T15:59:00-05:00,AAPL,160.0,161.0,159.5,160.5,1000\n"
    "2022-03-11T16:00:00-05:00,AAPL,160.5,161.5,160.0,161.0,1200\n"
    "2022-03-14T09:31:00-04:00,AAPL,161.0,161.5,160.5,161.2,900\n"
    "2022-03-14T09:32:00-04:00,AAPL,161.2,161.8,161.0,161.5,800\n"
)

# Daily bars of AAPL on two sessions, stamped at the close.
DAILY_BARS = BAR_HEADER + (
    "2022-03-01T16:00:00-05:00,AAPL,160.0,161.0,159.5,160.5,1000000\n"
    "2022-03-02T16:00:00-05:00,AAPL,160.5,161.5,160.0,161.0,1200000\n"
)

COST_HEADER = ("order_id,symbol,side,quantity,algorithm,start_time,horizon_minutes,price,adv,"
               "daily_vol,spread_bps\n")


def cost_orders(quantity="1000", start="2022-03-01T10:00:00-05:00", horizon="30",
                extra_header="", extra_value="") -> str:
    return (COST_HEADER.rstrip("\n") + extra_header + "\n"
            + f"o1,AAPL,buy,{quantity},twap,{start},{horizon},160.0,8e7,0.02,2.0{extra_value}\n")


PARENT_HEADER = "order_id,symbol,side,quantity,decision_time,horizon_minutes\n"

PRICES_OK = ("date,AAA,BBB\n2022-01-03,10.0,20.0\n2022-01-04,10.5,19.5\n"
             "2022-01-05,10.2,19.8\n2022-01-06,10.4,20.1\n")

LATIN1 = "name: caf\xe9 \xff\n".encode("latin-1")  # not UTF-8


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: list[str]  # each must appear in the output: the file, row or field named
    files: dict[str, str | bytes] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # ---------------------------------------------------------------- data validate / import
    Case("validate-lowercase-symbol", ["data", "validate", "b.csv"], ["b.csv", "row 0", "symbol"],
         {"b.csv": bars(sym="aapl")}),
    Case("validate-padded-symbol", ["data", "validate", "b.csv"], ["b.csv", "row 0", "symbol"],
         {"b.csv": bars(sym=" AAPL")}),
    Case("validate-empty-symbol", ["data", "validate", "b.csv"], ["b.csv", "row 0", "symbol"],
         {"b.csv": bars(sym="")}),
    Case("validate-path-symbol", ["data", "validate", "b.csv"], ["b.csv", "row 0", "symbol"],
         {"b.csv": bars(sym="../EVIL")}),
    Case("import-path-symbol", ["data", "import", "b.csv", "--name", "x"],
         ["b.csv", "row 0", "symbol", "nothing imported"], {"b.csv": bars(sym="A/B")}),
    Case("validate-absurd-price", ["data", "validate", "b.csv"], ["b.csv", "row 0", "close"],
         {"b.csv": bars(close="1e308")}),
    Case("validate-minute-bars-as-daily", ["data", "validate", "b.csv", "--frequency", "daily"],
         ["b.csv", "row 1", "daily"], {"b.csv": bars()}),
    Case("validate-unknown-assume-tz", ["data", "validate", "b.csv", "--assume-tz", "Mars/Base"],
         ["--assume-tz", "Mars/Base"], {"b.csv": bars().replace("-05:00", "")}),
    Case("validate-directory", ["data", "validate", "d"], ["d", "directory"], dirs=("d",)),
    Case("validate-repair-under-a-file", ["data", "validate", "b.csv", "--repair", "b.csv/r.csv"],
         ["--repair", "b.csv/r.csv", "not a folder"], {"b.csv": bars(close="-1")}),
    Case("validate-repair-to-directory", ["data", "validate", "b.csv", "--repair", "d"],
         ["--repair", "d"], {"b.csv": bars(close="-1")}, dirs=("d",)),
    Case("validate-missing-file", ["data", "validate", "nowhere/b.csv"],
         ["nowhere/b.csv", "no such file"]),
    Case("validate-empty-file", ["data", "validate", "b.csv"], ["b.csv", "empty"],
         {"b.csv": ""}),
    Case("validate-header-only", ["data", "validate", "b.csv"], ["b.csv", "no rows"],
         {"b.csv": BAR_HEADER}),
    Case("validate-not-utf8", ["data", "validate", "b.csv"], ["b.csv", "UTF-8"],
         {"b.csv": BAR_HEADER.encode() + b"2022-03-01T09:31:00-05:00,\xff\xfe,1,1,1,1,1\n"}),
    Case("import-directory", ["data", "import", "d", "--name", "x"], ["d", "directory"],
         dirs=("d",)),
    Case("import-empty-name", ["data", "import", "b.csv", "--name", ""],
         ["--name", "empty", "'b'", "nothing imported"], {"b.csv": bars()}),
    Case("import-daily-bars-as-minute", ["data", "import", "b.csv", "--name", "x",
                                         "--frequency", "minute"],
         ["b.csv", "not_minute", "daily", "nothing imported"], {"b.csv": DAILY_BARS}),
    Case("validate-daily-bars-as-minute", ["data", "validate", "b.csv", "--frequency", "minute"],
         ["b.csv", "not_minute", "--frequency daily"], {"b.csv": DAILY_BARS}),
    Case("show-empty-symbol", ["data", "show", "nothing", "--symbol", ""], ["nothing"]),
    Case("synth-bad-date", ["data", "synth", "--start", "2022-02-30", "--symbol", "AAPL"],
         ["--start", "2022-02-30"]),
    Case("synth-window-without-sessions", ["data", "synth", "--start", "2022-03-05", "--end",
                                           "2022-03-06", "--symbol", "AAPL"],
         ["2022-03-05", "2022-03-06", "sessions"]),
    # ---------------------------------------------------------------------- config validate
    Case("config-nan", ["config", "validate", "r.yaml"], ["r.yaml", "strategy.capital"],
         {"r.yaml": "name: x\nstrategy: {capital: .nan}\n"}),
    Case("config-inf", ["config", "validate", "r.yaml"], ["r.yaml", "execution.risk_aversion"],
         {"r.yaml": "name: x\nexecution: {risk_aversion: .inf}\n"}),
    Case("config-impossible-date", ["config", "validate", "r.yaml"],
         ["r.yaml", "universe.start", "2022-13-45"],
         {"r.yaml": "name: x\nuniverse: {start: 2022-13-45}\n"}),
    Case("config-start-after-end", ["config", "validate", "r.yaml"], ["r.yaml", "universe"],
         {"r.yaml": "name: x\nuniverse: {start: 2022-06-01, end: 2022-03-01}\n"}),
    Case("config-unknown-dataset", ["config", "validate", "r.yaml"],
         ["r.yaml", "universe.dataset", "no_such_data"],
         {"r.yaml": "name: x\nuniverse: {dataset: no_such_data}\n"}),
    Case("config-unknown-symbol", ["config", "validate", "r.yaml"],
         ["r.yaml", "universe.symbols", "ZZZZ"],
         {"r.yaml": "name: x\nuniverse: {symbols: [AAPL, ZZZZ]}\n"}),
    Case("config-unknown-fee-schedule", ["config", "validate", "r.yaml"],
         ["r.yaml", "cost_model.fee_schedule", "free_lunch"],
         {"r.yaml": "name: x\ncost_model: {fee_schedule: free_lunch}\n"}),
    Case("config-missing-calibration", ["config", "validate", "r.yaml"],
         ["r.yaml", "cost_model.calibration_file", "calib.json"],
         {"r.yaml": "name: x\ncost_model: {calibration_file: calib.json}\n"}),
    Case("config-duplicate-key", ["config", "validate", "r.yaml"], ["r.yaml", "line 3", "seed"],
         {"r.yaml": "name: x\nseed: 1\nseed: 2\n"}),
    Case("config-not-utf8", ["config", "validate", "r.yaml"], ["r.yaml", "UTF-8"],
         {"r.yaml": LATIN1}),
    Case("settings-unknown-fee-schedule", ["config", "show"],
         ["costs.fee_schedule", "free_lunch"], env={"QLAB_COSTS__FEE_SCHEDULE": "free_lunch"}),
    Case("settings-infinite-limit", ["config", "show"], ["risk.max_gross_exposure"],
         env={"QLAB_RISK__MAX_GROSS_EXPOSURE": "inf"}),
    Case("config-directory", ["config", "validate", "d"], ["d", "directory"], dirs=("d",)),
    # ----------------------------------------------------------------------- costs estimate
    Case("costs-huge-quantity", ["costs", "estimate", "o.csv"], ["o.csv", "o1", "quantity"],
         {"o.csv": cost_orders(quantity="1e20")}),
    Case("costs-saturday-start", ["costs", "estimate", "o.csv"], ["o.csv", "o1", "start_time"],
         {"o.csv": cost_orders(start="2022-03-05T10:00:00-05:00")}),
    Case("costs-evening-start", ["costs", "estimate", "o.csv"], ["o.csv", "o1", "start_time"],
         {"o.csv": cost_orders(start="2022-03-01T20:00:00-05:00")}),
    Case("costs-endless-horizon", ["costs", "estimate", "o.csv"],
         ["o.csv", "o1", "horizon_minutes"], {"o.csv": cost_orders(horizon="100000")}),
    Case("costs-instant-horizon", ["costs", "estimate", "o.csv"],
         ["o.csv", "o1", "horizon_minutes"], {"o.csv": cost_orders(horizon="1e-300")}),
    Case("costs-year-minus-one", ["costs", "estimate", "o.csv"], ["o.csv", "o1", "start_time"],
         {"o.csv": cost_orders(start="-1")}),
    Case("costs-unknown-column", ["costs", "estimate", "o.csv"], ["o.csv", "colour"],
         {"o.csv": cost_orders(extra_header=",colour", extra_value=",blue")}),
    Case("costs-unparseable-value", ["costs", "estimate", "o.csv"],
         ["o.csv", "o1", "limit_offset_bps"],
         {"o.csv": cost_orders(extra_header=",limit_offset_bps", extra_value=",abc")}),
    Case("costs-header-only", ["costs", "estimate", "o.csv"], ["o.csv", "no rows"],
         {"o.csv": COST_HEADER}),
    Case("costs-missing-column", ["costs", "estimate", "o.csv"], ["o.csv", "horizon_minutes"],
         {"o.csv": COST_HEADER.replace("horizon_minutes,", "")
          + "o1,AAPL,buy,1000,twap,2022-03-01T10:00:00-05:00,160.0,8e7,0.02,2.0\n"}),
    Case("costs-empty-file", ["costs", "estimate", "o.csv"], ["o.csv", "empty"], {"o.csv": ""}),
    Case("costs-not-utf8", ["costs", "estimate", "o.csv"], ["o.csv", "UTF-8"],
         {"o.csv": COST_HEADER.encode() + b"o1,\xff\xfe,buy,1,twap,x,1,1,1,1,1\n"}),
    Case("costs-not-json", ["costs", "estimate", "o.json"], ["o.json", "JSON"],
         {"o.json": "this is not json"}),
    Case("costs-directory", ["costs", "estimate", "d"], ["d", "directory"], dirs=("d",)),
    Case("costs-calibrate-empty-file", ["costs", "calibrate", "f.csv"], ["f.csv", "empty"],
         {"f.csv": ""}),
    Case("costs-calibrate-out-directory", ["costs", "calibrate", "f.csv", "--out", "d"],
         ["--out", "d"], {"f.csv": "quantity,adv,daily_vol,cost_bps\n1,1,0.1,1\n"},
         dirs=("d",)),
    Case("costs-calibrate-out-under-a-file", ["costs", "calibrate", "f.csv", "--out",
                                              "f.csv/p.json"], ["--out", "f.csv/p.json"],
         {"f.csv": "quantity,adv,daily_vol,cost_bps\n1,1,0.1,1\n"}),
    # ------------------------------------------------------------------------ risk snapshot
    Case("risk-reverse-dates", ["risk", "snapshot", "--equal-weight", "--prices", "p.csv"],
         ["p.csv", "2022-01-05", "order"],
         {"p.csv": "date,AAA,BBB\n" + "".join(reversed(PRICES_OK.splitlines(True)[1:]))}),
    Case("risk-duplicate-row", ["risk", "snapshot", "--equal-weight", "--prices", "p.csv"],
         ["p.csv", "2022-01-04", "duplicate"],
         {"p.csv": PRICES_OK + "2022-01-04,10.5,19.5\n"}),
    Case("risk-non-date-index", ["risk", "snapshot", "--equal-weight", "--prices", "p.csv"],
         ["p.csv", "row 2", "yesterday"],
         {"p.csv": PRICES_OK.replace("2022-01-04", "yesterday")}),
    Case("risk-zoned-date-among-dates", ["risk", "snapshot", "--equal-weight", "--prices",
                                         "p.csv"], ["p.csv", "row 2", "not a date"],
         {"p.csv": PRICES_OK.replace("2022-01-04", "2022-01-04T10:00:00-05:00")}),
    Case("risk-negative-price", ["risk", "snapshot", "--equal-weight", "--prices", "p.csv"],
         ["p.csv", "2022-01-05", "BBB"], {"p.csv": PRICES_OK.replace("19.8", "-19.8")}),
    Case("risk-bad-end", ["risk", "snapshot", "--equal-weight", "--end", "notadate"],
         ["--end", "notadate"]),
    Case("risk-weights-not-utf8", ["risk", "snapshot", "--weights", "w.yaml", "--prices", "p.csv"],
         ["w.yaml", "UTF-8"], {"w.yaml": LATIN1, "p.csv": PRICES_OK}),
    Case("risk-weights-directory", ["risk", "snapshot", "--weights", "d", "--prices", "p.csv"],
         ["d"], {"p.csv": PRICES_OK}, dirs=("d",)),
    Case("risk-prices-directory", ["risk", "snapshot", "--equal-weight", "--prices", "d"],
         ["d", "directory"], dirs=("d",)),
    # -------------------------------------------------------------------------- tca compare
    Case("tca-unknown-dataset", ["tca", "compare", "--bars", "no_such_data", "--no-track"],
         ["--bars", "no_such_data"]),
    Case("tca-missing-bars-file", ["tca", "compare", "--bars", "gone.csv", "--no-track"],
         ["gone.csv", "no such file"]),
    Case("tca-bars-directory", ["tca", "compare", "--bars", "d", "--no-track"],
         ["d", "directory"], dirs=("d",)),
    Case("tca-json-to-directory", ["tca", "compare", "--bars", "b.csv", "--json", "d",
                                   "--no-track"], ["--json", "d"], {"b.csv": DST_BARS},
         dirs=("d",)),
    Case("tca-json-under-a-file", ["tca", "compare", "--bars", "b.csv", "--json", "b.csv/o.json",
                                   "--no-track"], ["--json", "b.csv/o.json", "not a folder"],
         {"b.csv": DST_BARS}),
    Case("tca-json-where-no-file-can-be-made", ["tca", "compare", "--bars", "b.csv", "--json",
                                                "/proc/qlab.json", "--no-track"],
         ["--json", "/proc/qlab.json"], {"b.csv": DST_BARS}),
    Case("tca-sensitivity-csv-under-a-file", ["tca", "sensitivity", "--bars", "b.csv", "--csv",
                                              "b.csv/t.csv"], ["--csv", "b.csv/t.csv"],
         {"b.csv": DST_BARS}),
    Case("tca-no-workers", ["tca", "compare", "--bars", "b.csv", "--jobs", "0",
                            "--no-track"], ["--jobs"], {"b.csv": DST_BARS}),
    Case("tca-window-without-sessions", ["tca", "compare", "--bars", "b.csv", "--start",
                                         "2022-03-12", "--end", "2022-03-13", "--no-track"],
         ["--start", "2022-03-12", "session"], {"b.csv": DST_BARS}),
    Case("tca-start-after-end", ["tca", "compare", "--bars", "b.csv", "--start", "2022-03-14",
                                 "--end", "2022-03-11", "--no-track"],
         ["--start", "--end"], {"b.csv": DST_BARS}),
    Case("tca-bad-date", ["tca", "compare", "--bars", "b.csv", "--start", "2022-13-45",
                          "--no-track"], ["--start", "2022-13-45"], {"b.csv": DST_BARS}),
    Case("tca-huge-parent-quantity", ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv",
                                      "--no-track"], ["o.csv", "row 1", "quantity", "1e+20"],
         {"b.csv": DST_BARS, "o.csv": PARENT_HEADER
          + "p1,AAPL,buy,1e20,2022-03-14T09:31:00-04:00,5\n"}),
    Case("tca-int64-overflow-quantity", ["tca", "compare", "--bars", "b.csv", "--orders",
                                         "o.csv", "--no-track"], ["o.csv", "row 1", "quantity"],
         {"b.csv": DST_BARS, "o.csv": PARENT_HEADER
          + f"p1,AAPL,buy,{2**63},2022-03-14T09:31:00-04:00,5\n"}),
    Case("tca-infinite-quantity", ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv",
                                   "--no-track"], ["o.csv", "row 1", "quantity", "inf"],
         {"b.csv": DST_BARS, "o.csv": PARENT_HEADER
          + "p1,AAPL,buy,inf,2022-03-14T09:31:00-04:00,5\n"}),
    Case("tca-orders-empty-file", ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv",
                                   "--no-track"], ["o.csv", "empty"],
         {"b.csv": DST_BARS, "o.csv": ""}),
    Case("tca-orders-header-only", ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv",
                                    "--no-track"], ["o.csv", "no orders"],
         {"b.csv": DST_BARS, "o.csv": PARENT_HEADER}),
    Case("tca-orders-not-utf8", ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv",
                                 "--no-track"], ["o.csv", "UTF-8"],
         {"b.csv": DST_BARS, "o.csv": PARENT_HEADER.encode() + b"p1,\xff,buy,1,x,5\n"}),
    Case("tca-orders-not-parquet", ["tca", "compare", "--bars", "b.csv", "--orders",
                                    "o.parquet", "--no-track"], ["o.parquet", "parquet"],
         {"b.csv": DST_BARS, "o.parquet": "not parquet"}),
    Case("tca-nan-setting", ["tca", "compare", "--bars", "b.csv", "--no-track"],
         ["simulation.impact_y", "finite"], {"b.csv": DST_BARS},
         env={"QLAB_SIMULATION__IMPACT_Y": "nan"}),
    # ----------------------------------------------------------------------------- report
    Case("report-infinite-impact", ["report", "execution_comparison", "-p", "impact_y_grid",
                                    "inf", "--no-track"], ["impact_y_grid"]),
    Case("report-missing-bars-file", ["report", "execution_comparison", "-p", "bars",
                                      "gone.csv", "--no-track"], ["bars", "gone.csv"]),
    Case("report-missing-orders-file", ["report", "execution_comparison", "-p", "orders",
                                        "gone.csv", "--no-track"], ["orders", "gone.csv"]),
    Case("report-impossible-date", ["report", "execution_comparison", "-p", "start",
                                    "2022-13-45", "--no-track"], ["start", "2022-13-45"]),
    Case("report-start-after-end", ["report", "execution_comparison", "-p", "start",
                                    "2022-03-10", "-p", "end", "2022-03-01", "--no-track"],
         ["start", "end"]),
    Case("report-window-without-sessions", ["report", "execution_comparison", "-p", "start",
                                            "2022-03-05", "-p", "end", "2022-03-06",
                                            "--no-track"], ["start", "end", "session"]),
    Case("report-params-not-utf8", ["report", "execution_comparison", "-f", "p.yaml",
                                    "--no-track"], ["p.yaml", "UTF-8"], {"p.yaml": LATIN1}),
    # ---------------------------------------------------------------- backtest / promotion path
    Case("backtest-unknown-dataset", ["backtest", str(EXAMPLE), "--bars", "nosuch"],
         ["nosuch", "no dataset"]),
    Case("backtest-daily-closes-by-the-minute", ["backtest", str(EXAMPLE), "--frequency",
                                                 "minute"], ["sp500_daily", "minute"]),
    Case("backtest-json-under-a-file", ["backtest", str(EXAMPLE), "--json", "r.txt/bt.json"],
         ["--json", "r.txt/bt.json", "not a folder"], {"r.txt": "a file"}),
    Case("backtest-json-where-no-file-can-be-made", ["backtest", str(EXAMPLE), "--json",
                                                     "/proc/qlab.json"],
         ["--json", "/proc/qlab.json"]),
    Case("sweep-out-under-a-file", ["sweep", "s.yaml", "--out", "r.txt/sweeps", "--no-track"],
         ["--out", "r.txt/sweeps", "not a folder"],
         {"r.txt": "a file", "s.yaml": f"name: s\nconfig: {EXAMPLE}\ngrid:\n"
                                      "  risk.max_position_weight: [0.3]\n"}),
    Case("validate-run-unknown-tca-bars", ["validate-run", str(EXAMPLE), "--tca-bars",
                                           "nosuch"], ["--tca-bars", "nosuch"]),
    Case("validate-run-missing-config", ["validate-run", "gone.yaml"], ["gone.yaml"]),
    Case("validate-run-too-short", ["validate-run", str(EXAMPLE), "--start", "2022-10-03",
                                    "--end", "2022-11-10"],
         ["30 sessions are too few for the VaR backtests", "longer window"]),
    Case("validate-run-duplicate-gate", ["validate-run", str(EXAMPLE), "--gates", "g.yaml"],
         ["g.yaml", "line 2", "min_sharpe"], {"g.yaml": "min_sharpe: 0.3\nmin_sharpe: -5\n"}),
    Case("live-replay-without-dry-run", ["live", "--replay", "sp500_synthetic_minute"],
         ["--replay", "--dry-run"]),
    Case("live-replay-daily-closes", ["live", "--dry-run", "--replay", "sp500_daily",
                                      "--config", str(EXAMPLE)], ["sp500_daily", "minute bars"]),
]


def _materialise(case: Case, root) -> None:
    for name, content in case.files.items():
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name in case.dirs:
        (root / name).mkdir()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_a_located_message(case: Case, isolated_env, monkeypatch):
    _materialise(case, isolated_env)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, case.argv)
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed with {result.exception!r}:\n{output}")
    assert "Traceback" not in output
    assert result.exit_code != 0, f"accepted silently:\n{output}"
    missing = [text for text in case.expect if text not in output]
    assert not missing, f"message does not name {missing}:\n{output}"


@pytest.mark.parametrize("command", [["data", "validate", "b.csv"],
                                     ["data", "import", "b.csv", "--name", "dst"]])
def test_a_csv_across_the_dst_change_is_accepted(command, isolated_env):
    (isolated_env / "b.csv").write_text(DST_BARS, encoding="utf-8")
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "4 rows" in result.output


def test_an_export_of_the_store_across_dst_imports_and_loads_unchanged(isolated_env,
                                                                       sp500_closes):
    """qlab's own bars written to CSV carry -05:00 before 2022-03-13 and -04:00 after it; the
    file must come back as the same instants through import and through tca's loader."""
    from research.config import load_settings
    from research.data import BarStore, SynthParams, synthesize_minute_bars
    from sim.tca.study_bars import load_study_bars

    original = synthesize_minute_bars(sp500_closes[["AAPL"]], "2022-03-10", "2022-03-15",
                                      SynthParams(seed=3))
    path = isolated_env / "export.csv"
    original.to_csv(path, index=False)
    text = path.read_text()
    assert "-05:00,AAPL" in text and "-04:00,AAPL" in text

    result = runner.invoke(app, ["data", "import", str(path), "--name", "dst"])
    assert result.exit_code == 0, result.output
    stored = BarStore(isolated_env / "store").read("dst")
    loaded, _, _ = load_study_bars(str(path), load_settings(), None, None)
    for frame in (stored, loaded):
        assert (frame["timestamp"].to_numpy() == original["timestamp"].to_numpy()).all()
        assert (frame["close"].to_numpy() == original["close"].to_numpy()).all()


# Every cell of each table's first data row replaced by each of these, one at a time.
MUTATIONS = ["", "nan", "inf", "-inf", "-1", "0", "-0", "abc", "  ", "1e308", "1e-300", "9e18",
             "1,5", "true", "2022-13-45", "2022-03-01", "2022-03-05T10:00:00-05:00",
             "0001-01-01T09:31:00-05:00", "9999-12-31T09:31:00-05:00", "2022-03-01T09:31:00Z"]

FUZZ_TABLES = {  # name: (file, its text, argv)
    "bars": ("b.csv", bars(), ["data", "validate", "b.csv"]),
    "daily-bars": ("b.csv", bars(), ["data", "validate", "b.csv", "--frequency", "daily"]),
    "cost-orders": ("o.csv", cost_orders(), ["costs", "estimate", "o.csv"]),
    "prices": ("p.csv", PRICES_OK, ["risk", "snapshot", "--equal-weight", "--prices", "p.csv"]),
    "parent-orders": ("o.csv", PARENT_HEADER + "p1,AAPL,buy,100,2022-03-14T09:31:00-04:00,5\n",
                      ["tca", "compare", "--bars", "b.csv", "--orders", "o.csv", "--no-track",
                       "--quiet"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(FUZZ_TABLES))
def test_no_single_cell_mutation_crashes_a_command(table, isolated_env):
    """Not every mutation is invalid (a volume of 0 is fine), but none may crash."""
    name, text, argv = FUZZ_TABLES[table]
    if table == "parent-orders":
        (isolated_env / "b.csv").write_text(DST_BARS)  # the bars the orders trade on
    header, first, *rest = text.splitlines()
    crashes = []
    for column, value in itertools.product(range(len(first.split(","))), MUTATIONS):
        cells = first.split(",")
        cells[column] = value
        (isolated_env / name).write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
        result = runner.invoke(app, argv)
        if (result.exception is not None and not isinstance(result.exception, SystemExit)) \
                or "Traceback" in result.output:
            crashes.append((header.split(",")[column], value, repr(result.exception)))
    assert not crashes
