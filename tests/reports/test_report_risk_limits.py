"""The risk_limits report: parameters checked before any kernel starts, the notebook run end to
end in smoke mode through ``qlab report`` (papermill via run_report, tracked in MLflow), and its
HTML opened in headless Chromium."""

from __future__ import annotations

import ast
import json

import pytest

from qlab.cli import register_reports
from research.reports import ReportParameterError, run_report
from research.reports.runner import declared_parameters, notebook_path
from sim.risk_limits_params import RiskLimitsParams

NAME = "risk_limits"
#: usage, binds, cost, VaR 1-day and 21-day, attribution by position and by factor, alerts,
#: risk budgets
N_FIGURES = 9


def test_parameters_cell_defaults_are_the_models_defaults():
    declared = declared_parameters(notebook_path(NAME))
    cell = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    assert RiskLimitsParams.model_validate(cell) == RiskLimitsParams()
    assert all(p["help"] for p in declared.values()), "every parameter has a comment"


def test_bad_parameters_fail_before_execution(tmp_path):
    register_reports()
    with pytest.raises(ReportParameterError) as info:
        run_report(NAME, {"config": "configs/nope.yaml", "es_df": 1.5, "n_boot": 5,
                          "start": "2020-02-30"}, output_dir=tmp_path, track=False)
    problems = "\n".join(info.value.problems)
    assert "configs/nope.yaml" in problems
    assert "es_df must be above 2" in problems
    assert "n_boot: Input should be greater than or equal to 100" in problems
    assert "start:" in problems
    assert not any(tmp_path.iterdir())  # no kernel started, nothing written


def test_smoke_cuts_the_config_to_a_few_names_and_two_years():
    params = RiskLimitsParams(smoke=True)
    config = params.run_config()
    full = RiskLimitsParams().run_config()
    assert config.universe.symbols == [s for s in full.universe.symbols
                                       if s in params.smoke_symbols]
    assert len(config.universe.symbols) == 10 and len(full.universe.symbols) == 20
    assert params.window() == ("2019-07-01", "2021-06-30")
    assert RiskLimitsParams().run_config().universe.start == "1991-01-02"


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory, run_smoke_report):
    """``qlab report risk_limits -p smoke true`` into a temporary folder and MLflow store."""
    return run_smoke_report(tmp_path_factory, NAME, "-p", "smoke", "true", "-p", "n_boot",
                            "200", "-p", "es_sims", "500")


@pytest.mark.slow
@pytest.mark.notebook
def test_the_smoke_report_runs_and_publishes_the_gate_metrics(smoke_report):
    root = smoke_report
    executed = json.loads((root / "reports" / f"{NAME}.ipynb").read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    html = (root / "reports" / f"{NAME}.html").read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == N_FIGURES
    assert "Did the limits hold?" in html and "What did they cost?" in html
    metrics = json.loads((root / "reports" / f"{NAME}.metrics.json").read_text())
    assert metrics["risk.binds.position_weight"] > 0
    assert metrics["risk.binds.pairwise_correlation"] > 0
    assert metrics["risk.var_1d.zone"] in ("green", "yellow", "red")
    assert metrics["risk.cost.volatility.ci_low"] <= metrics["risk.cost.volatility"] \
        <= metrics["risk.cost.volatility.ci_high"]
    assert metrics["risk.alerts.suppressed"] > 0  # the cool-down held alerts back

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root}/mlflow.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1
    logged = runs[0].data.metrics
    assert logged["risk.binds.position_weight"] == metrics["risk.binds.position_weight"]
    assert logged["risk.var_1d.zone_code"] == metrics["risk.var_1d.zone_code"]


@pytest.mark.slow
@pytest.mark.browser
def test_the_smoke_report_renders_in_chromium(smoke_report, check_html_in_browser):
    check = check_html_in_browser(smoke_report / "reports" / f"{NAME}.html")
    assert check.ok, check.describe()
    assert check.figures_rendered == N_FIGURES
