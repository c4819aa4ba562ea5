"""The report runner: validation before execution, one HTML file, tracking, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from research.reports import (
    ReportNotFound,
    ReportParameterError,
    SmokeReportParams,
    load_params_file,
    run_report,
    validate_report_params,
)
from research.reports.runner import ReportDefinitionError, external_scripts, parse_cli_value

NOTEBOOKS = Path(__file__).parent / "notebooks"


# ------------------------------------------------------------------ validation (no kernel)
def test_valid_params_are_coerced_by_the_model():
    params = validate_report_params("smoke_report", {"n_points": "5", "slope": "0.5"},
                                    notebooks_dir=NOTEBOOKS)
    assert params == SmokeReportParams(n_points=5, slope=0.5)


def test_bad_params_fail_before_execution_listing_every_problem(tmp_path):
    with pytest.raises(ReportParameterError) as info:
        run_report("smoke_report", {"n_point": 5, "slope": "steep", "n_figures": -1},
                   output_dir=tmp_path, notebooks_dir=NOTEBOOKS, track=False)
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert problems[0].startswith("n_point: unknown parameter (the notebook declares: title,")
    assert any(p.startswith("slope: Input should be a valid number") for p in problems)
    assert any(p.startswith("n_figures: Input should be greater than or equal to 0")
               for p in problems)
    assert "steep" not in str(info.value)  # rejected values are not echoed
    assert not any(tmp_path.iterdir())  # nothing executed, nothing written


def test_unknown_notebook_lists_the_available_ones():
    with pytest.raises(ReportNotFound, match="available reports: smoke_report"):
        validate_report_params("smoke", notebooks_dir=NOTEBOOKS)


def test_model_and_parameters_cell_must_agree():
    class Drifted(SmokeReportParams):
        colour: str = "red"

    with pytest.raises(ReportDefinitionError, match=r"missing from the parameters cell: \['colour'\]"):
        validate_report_params("smoke_report", {}, notebooks_dir=NOTEBOOKS, params_model=Drifted)


def test_params_file_keeps_dates_as_strings(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("title: 2022-03-01\nn_points: 7\n")
    assert load_params_file(path) == {"title": "2022-03-01", "n_points": 7}
    path.write_text("- a\n- b\n")
    with pytest.raises(ReportParameterError, match="expected a mapping"):
        load_params_file(path)


def test_cli_values():
    assert parse_cli_value("50") == "50"  # the model converts; "007" may be a string field
    assert parse_cli_value('["market", "twap"]') == ["market", "twap"]
    assert parse_cli_value("[not json") == "[not json"


def test_external_script_detection():
    assert external_scripts('<script src="https://cdn.plot.ly/plotly.min.js"></script>') == [
        "https://cdn.plot.ly/plotly.min.js"]
    assert external_scripts("<script>var src = 'https://x';</script>") == []


def test_cli_reports_bad_parameters_with_exit_code_2():
    import typer
    from typer.testing import CliRunner

    from research.reports.cli import register

    app = typer.Typer()
    register(app)

    @app.command()
    def other():  # a second command so that "report" is a sub-command, as under qlab
        pass

    result = CliRunner().invoke(app, ["report", "smoke_report", "--notebooks-dir",
                                      str(NOTEBOOKS), "-p", "n_points", "x", "--no-track"])
    assert result.exit_code == 2
    assert "n_points: Input should be a valid integer" in result.output
    result = CliRunner().invoke(app, ["report", "smoke_report", "-p", "n_points"])
    assert result.exit_code == 2 and "needs a KEY and a VALUE" in result.output


# ------------------------------------------------------------------- end to end (a kernel)
@pytest.mark.slow
@pytest.mark.notebook
def test_report_is_one_self_contained_html_without_code(smoke_run):
    html_path, _ = smoke_run
    html = html_path.read_text(encoding="utf-8")
    assert html_path.name == "smoke_report.html"
    assert (html_path.parent / "smoke_report.ipynb").is_file()  # executed notebook kept
    assert html.count('class="plotly-graph-div"') == 2
    assert "validate_notebook_params" not in html  # no code cells
    assert not re.search(r"In\s*\[\d+\]", html)  # no prompts
    assert external_scripts(html) == []  # plotly.js inline, no CDN
    assert not re.search(r"<script[^>]+src=[^>]*cdn\.plot\.ly", html)
    assert "Smoke check: figure 2" in html  # the -p override reached the kernel
    executed = json.loads((html_path.parent / "smoke_report.ipynb").read_text())
    # The kernel ran on this project's interpreter (the venv's python3 kernelspec).
    import sys

    outputs = "".join("".join(o.get("text", "")) for c in executed["cells"]
                      for o in c.get("outputs", []))
    assert f"kernel python: {sys.executable}" in outputs


@pytest.mark.slow
@pytest.mark.notebook
def test_report_run_is_tracked(smoke_run):
    from mlflow.tracking import MlflowClient

    _, settings = smoke_run
    client = MlflowClient(settings.tracking.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(settings.tracking.experiment)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["report"] == "smoke_report"
    assert run.data.params["n_figures"] == "2" and run.data.params["n_points"] == "20"
    assert run.data.metrics["report_duration_s"] > 0
    files = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert files == {"report/smoke_report.html", "report/smoke_report.ipynb"}


# ------------------------------------------------------------------------------ progress
def test_progress_is_read_from_papermills_cell_lines():
    from research.reports.runner import CellProgress, CellProgressTracker

    events: list[CellProgress] = []
    clock = iter([100.0, 101.0, 103.5, 104.0, 190.0]).__next__
    tracker = CellProgressTracker(3, events.append, clock=clock)
    tracker.start()
    assert tracker.feed("Executing Cell 1---------------------------------------\n")
    assert not tracker.feed("tca: market done in 0.11 s\n")  # a cell's output: kept apart
    assert tracker.feed("Ending Cell 1------------------------------------------\n")
    assert tracker.feed("Executing Cell 2---------------------------------------\n")
    assert tracker.feed("Ending Cell 3------------------------------------------")
    assert not tracker.feed("Executing Cell two")
    assert events == [CellProgress(0, 3, None, 0.0), CellProgress(0, 3, 1, 1.0),
                      CellProgress(1, 3, None, 3.5), CellProgress(1, 3, 2, 4.0),
                      CellProgress(3, 3, None, 90.0)]


def test_terminal_progress_shows_cells_of_total(capsys):
    from research.reports.runner import CellProgress, TerminalProgress

    show = TerminalProgress("report demo", redraw_s=0.01)
    show(CellProgress(0, 14, None, 0.0))
    show(CellProgress(3, 14, 4, 80.0))
    show.close()
    err = capsys.readouterr().err
    assert "report demo: 0/14 cells" in err and "starting the kernel" in err
    assert "report demo: 3/14 cells" in err and "cell 4 running" in err


@pytest.mark.slow
@pytest.mark.notebook
def test_a_run_reports_every_cell_as_it_executes(tmp_path):
    from research.reports.runner import execute_notebook

    events = []
    source = NOTEBOOKS / "smoke_report.ipynb"
    execute_notebook(source, tmp_path / "out.ipynb", {"n_figures": 1}, timeout=300,
                     progress=events.append)
    n_cells = len(json.loads(source.read_text())["cells"]) + 1  # + papermill's parameters cell
    assert all(e.total == n_cells for e in events)
    started = [e.running for e in events if e.running is not None]
    assert started == list(range(1, n_cells + 1))  # each cell announced, in order
    done = [e.done for e in events]
    assert done == sorted(done) and done[-1] == n_cells
    assert [e.elapsed_s for e in events] == sorted(e.elapsed_s for e in events)
