"""The backtest report: parameters checked before any kernel starts, ``qlab report backtest``
run end to end in smoke mode (papermill via run_report, tracked in MLflow), and its HTML
opened in headless Chromium."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from research.reports.runner import declared_parameters, notebook_path
from sim.backtest_params import SMOKE_CAPS, BacktestReportParams

NAME = "backtest"
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "inverse_volatility_daily.yaml"
#: equity, drawdown, rolling, monthly, turnover/cost, decomposition, weights, sectors,
#: contributors, attribution, algorithm equity, paired differences (no cost-awareness nor
#: timeframe section: the config has no no-trade band and its data are daily closes)
N_FIGURES = 12


def test_parameters_cell_defaults_are_the_models_defaults():
    declared = declared_parameters(notebook_path(NAME))
    cell = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    assert BacktestReportParams.model_validate(cell) == BacktestReportParams()
    assert all(p["help"] for p in declared.values()), "every parameter has a comment"


def test_smoke_caps_the_universe_and_the_window():
    params = BacktestReportParams(config=str(CONFIG), smoke=True, seed=3)
    config = params.run_config()
    assert len(config.universe.symbols) == SMOKE_CAPS["symbols"] and config.seed == 3
    assert params.window(config) == ("1991-01-02", "1992-01-02")
    full = BacktestReportParams(config=str(CONFIG))
    assert full.window(full.run_config()) == ("1991-01-02", None)


def test_bad_parameters_on_the_command_line_exit_2_naming_them(tmp_path):
    from qlab.cli import app

    result = CliRunner().invoke(app, ["report", NAME, "-p", "config", str(tmp_path / "no.yaml"),
                                      "-p", "algorithms", "market,fast", "--output-dir",
                                      str(tmp_path / "out"), "--no-track"])
    assert result.exit_code == 2, result.output
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "invalid parameters for report 'backtest' (2 problem(s))" in out
    assert "no.yaml: 1 error(s)" in out and "no such file" in out
    assert "algorithms.1: Input should be 'market'" in out
    assert not (tmp_path / "out").exists()


def _markdown_without_errors(root: Path) -> str:
    """The executed report notebook's Markdown output, after checking no cell raised."""
    executed = json.loads((root / "reports" / f"{NAME}.ipynb").read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return "\n".join("".join(o["data"]["text/markdown"]) for o in outputs
                     if "text/markdown" in o.get("data", {}))


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory, run_smoke_report):
    """``qlab report backtest -p config configs/inverse_volatility_daily.yaml -p smoke true``
    into a temporary folder, tracked in a temporary MLflow store."""
    return run_smoke_report(tmp_path_factory, NAME, "-p", "config", str(CONFIG),
                            "-p", "smoke", "true")


@pytest.mark.slow
@pytest.mark.notebook
def test_the_smoke_report_runs_and_is_tracked(smoke_report):
    root = smoke_report
    markdown = _markdown_without_errors(root)
    assert "# Backtest: invvol-16-daily" in markdown and "**Smoke run**" in markdown
    # a daily replay fits its cost model on the sessions before: VWAP and IS run, and with a
    # whole-session horizon they send one child a session, as TWAP does
    assert "not run: " not in markdown
    assert "**vwap**: identical to twap" in markdown and "**is**: identical to twap" in markdown
    assert "rebalance windows, portfolio minus benchmark summed" in markdown
    assert "No factor attribution: 0 session(s) in common" in markdown  # 1991: before the ETFs
    assert "## What cost awareness saved" not in markdown
    assert "## Minute against daily bars" not in markdown
    assert "paired by rebalance, 95% t intervals" in markdown
    html = (root / "reports" / f"{NAME}.html").read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == N_FIGURES
    assert "validate_notebook_params" not in html  # no code cells

    metrics = json.loads((root / "reports" / f"{NAME}.metrics.json").read_text())
    assert {"cagr", "sharpe", "max_drawdown", "cost_drag_bps_annual", "benchmark_cagr",
            "limit_diff_bps", "limit_ci_lo", "limit_ci_hi"} <= set(metrics)
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root}/mlflow.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1
    assert runs[0].data.metrics["sharpe"] == pytest.approx(metrics["sharpe"])
    assert runs[0].data.params["smoke"] == "True"


@pytest.mark.slow
@pytest.mark.browser
def test_the_backtest_report_renders_in_chromium(smoke_report, check_html_in_browser):
    check = check_html_in_browser(smoke_report / "reports" / f"{NAME}.html")
    assert check.ok, check.describe()
    assert check.figures_rendered == N_FIGURES


@pytest.mark.slow
@pytest.mark.notebook
def test_a_report_past_the_benchmark_s_data_runs_without_it_and_says_why(
        tmp_path_factory, run_smoke_report):
    """Own daily bars for 2023, after the embedded S&P 500 ends: the tearsheet is written,
    its figures and verdict without a benchmark, and the intro says why there is none."""
    import numpy as np
    import pandas as pd
    import yaml

    from research.data.calendar import sessions

    folder = tmp_path_factory.mktemp("after-2022")
    days = sessions("2022-01-03", "2023-03-31").index
    rng = np.random.default_rng(5)
    frames = []
    for symbol, start in (("AAPL", 170.0), ("KO", 60.0)):
        close = start * np.exp(np.cumsum(rng.normal(0.0, 0.015, len(days))))
        frames.append(pd.DataFrame({
            "timestamp": (days + pd.Timedelta(hours=16)).tz_localize("America/New_York"),
            "symbol": symbol, "open": close, "high": close * 1.01, "low": close * 0.99,
            "close": close, "volume": 5e7}))
    bars = folder / "bars.csv"
    pd.concat(frames).to_csv(bars, index=False)
    config = yaml.safe_load(CONFIG.read_text())
    config["universe"] = {"symbols": ["AAPL", "KO"]}
    config["risk"].update(max_position_weight=0.6, max_sector_weight=0.6)
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    root = run_smoke_report(tmp_path_factory, NAME, "-p", "config", str(path), "-p", "bars",
                            str(bars), "-p", "start", "2023-01-03", "-p", "end", "2023-03-31",
                            "-p", "algorithms", "market,twap")
    markdown = _markdown_without_errors(root)
    assert "it has no level on" in markdown and "the information ratio are null" in markdown
    metrics = json.loads((root / "reports" / f"{NAME}.metrics.json").read_text())
    assert "sharpe" in metrics and "benchmark_cagr" not in metrics
