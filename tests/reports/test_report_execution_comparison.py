"""The execution-comparison report: parameters checked before any kernel starts, the notebook
run end to end by ``qlab demo --smoke`` (papermill via run_report), and its HTML opened in
headless Chromium."""

from __future__ import annotations

import ast
import json
import re

import pytest
from typer.testing import CliRunner

from qlab.cli import register_reports
from research.reports import ReportParameterError, run_report
from research.reports.runner import declared_parameters, notebook_path
from sim.tca.params import ExecutionComparisonParams

NAME = "execution_comparison"
#: Figures of the report: IS, reduction, decomposition, 2 breakdowns, 2 calibration.
N_FIGURES = 7


# ------------------------------------------------------------------ parameters (no kernel)
def test_parameters_cell_defaults_are_the_models_defaults():
    declared = declared_parameters(notebook_path(NAME))
    cell = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    assert ExecutionComparisonParams.model_validate(cell) == ExecutionComparisonParams()
    assert all(p["help"] for p in declared.values()), "every parameter has a comment"


def test_bad_parameters_fail_before_execution(tmp_path):
    register_reports()  # what `qlab` does before any report runs (research cannot import sim)
    with pytest.raises(ReportParameterError) as info:
        run_report(NAME, {"n_order": 50, "n_orders": "many", "spread_sources": ["vwap"]},
                   output_dir=tmp_path, track=False)
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert problems[0].startswith("n_order: unknown parameter (the notebook declares: bars,")
    assert any(p.startswith("n_orders: Input should be a valid integer") for p in problems)
    assert any(p.startswith("spread_sources.0: Input should be 'quotes', 'corwin_schultz', "
                            "'abdi_ranaldo' or 'roll'")
               for p in problems)
    assert not any(tmp_path.iterdir())  # no kernel started, nothing written


def test_bad_parameters_on_the_command_line_exit_2_naming_them(tmp_path):
    from qlab.cli import app

    result = CliRunner().invoke(app, ["report", NAME, "-p", "smoke", "maybe", "-p",
                                      "participation_caps", "0.1,2", "--output-dir",
                                      str(tmp_path), "--no-track"])
    assert result.exit_code == 2, result.output
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "invalid parameters for report 'execution_comparison' (2 problem(s))" in out
    assert "smoke: Input should be a valid boolean" in out
    assert "participation caps are fractions of bar volume" in out
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------- the notebook, end to end
@pytest.fixture(scope="module")
def demo_smoke(tmp_path_factory):
    """``qlab demo --smoke`` into a temporary folder, tracked in a temporary MLflow store."""
    from qlab.cli import app

    root = tmp_path_factory.mktemp("demo-smoke")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QLAB_TRACKING__MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        result = CliRunner().invoke(app, ["demo", "--smoke", "--output-dir",
                                          str(root / "reports")])
    assert result.exit_code == 0, result.output
    return root, result.output


@pytest.mark.slow
@pytest.mark.notebook
def test_the_notebook_runs_through_papermill_and_reports(demo_smoke):
    root, output = demo_smoke
    html_path = root / "reports" / f"{NAME}.html"
    assert f"report   {html_path}" in output
    assert re.search(r"market\s+IS\s+-?\d+\.\d\d \[", output), output
    assert "15-18% claim: " in output

    executed = json.loads((root / "reports" / f"{NAME}.ipynb").read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    markdown = "\n".join("".join(o["data"]["text/markdown"]) for c in executed["cells"]
                         for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    assert "# Execution comparison on SYNTHETIC data" in markdown
    assert "Verdict on SYNTHETIC data: the 15-18% claim" in markdown
    assert "fitted on an earlier period" in markdown
    assert "subset of **10 of the 24 orders**" in markdown
    assert "Intervals: 95%, t(4) on 5 day totals" in markdown

    html = html_path.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == N_FIGURES
    assert "validate_notebook_params" not in html  # no code cells
    assert "sensitivity" in html.lower() and "ranking by point estimate" in html

    metrics = json.loads((root / "reports" / f"{NAME}.metrics.json").read_text())
    assert metrics["n_orders"] == 24 and metrics["n_sessions"] == 5
    assert set(metrics["is_bps"]) == {"market", "limit", "twap", "vwap", "pov", "is"}
    assert set(metrics["reduction_pct"]) == {"limit", "twap", "vwap", "pov", "is"}
    assert metrics["claim_outcome"] in ("holds", "does not hold", "unresolved")

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root}/mlflow.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1
    logged = runs[0].data.metrics
    assert logged["is_bps.market"] == pytest.approx(metrics["is_bps"]["market"])
    # NaN when no % is quoted (market orders' cost not resolved above zero on 24 orders)
    assert logged["reduction_pct.twap"] == pytest.approx(metrics["reduction_pct"]["twap"],
                                                         nan_ok=True)
    assert runs[0].data.params["smoke"] == "True"


@pytest.mark.slow
@pytest.mark.browser
def test_the_demo_report_renders_in_chromium(demo_smoke, check_html_in_browser):
    root, _ = demo_smoke
    check = check_html_in_browser(root / "reports" / f"{NAME}.html")
    assert check.ok, check.describe()
    assert check.figures_rendered == N_FIGURES
