"""Fixtures of the report tests: the smoke notebook run once, and headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"


def _load_browser():
    spec = importlib.util.spec_from_file_location("qlab_test_browser",
                                                  Path(__file__).parent / "browser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


browser = _load_browser()


def _run_smoke_report(tmp_path_factory, name: str, *params: str) -> Path:
    """``qlab report NAME -p key value ...`` into a temporary folder, tracked in a temporary
    MLflow store; returns the folder (``reports/NAME.html``, ``mlflow.db``)."""
    from typer.testing import CliRunner

    from qlab.cli import app

    root = tmp_path_factory.mktemp(f"{name}-smoke")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QLAB_TRACKING__MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        result = CliRunner().invoke(app, ["report", name, *params, "--output-dir",
                                          str(root / "reports"), "--no-progress"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def run_smoke_report():
    """``run_smoke_report(tmp_path_factory, NAME, "-p", key, value, ...)``: a report notebook
    run through ``qlab report`` into a temporary folder and MLflow store (its folder)."""
    return _run_smoke_report


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Chromium; skips outside CI when it is absent, fails under CI=true."""
    path = browser.find_chromium()
    if path is None:
        message = ("headless Chromium not found (/usr/bin/chromium or chromium on PATH); "
                   "install Debian's 'chromium' package: apt-get install -y chromium")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {message}")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def check_html_in_browser(chromium):
    """``check(path) -> BrowserCheck``: figures rendered and errors logged by the page."""
    return lambda path: browser.check_html(path, chromium)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke notebook executed once (two figures), tracked in a temporary MLflow."""
    from research.config import load_settings
    from research.reports import run_report

    root = tmp_path_factory.mktemp("smoke-report")
    settings = load_settings(None, tracking={"mlflow_tracking_uri":
                                             f"sqlite:///{root}/mlflow/mlflow.db"})
    html = run_report("smoke_report", {"n_figures": "2", "title": "Smoke check"},
                      output_dir=root / "reports", timeout=300, notebooks_dir=NOTEBOOKS,
                      track=True, settings=settings, progress=False)
    return html, settings
