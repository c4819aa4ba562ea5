"""The multiple-testing caution and the sweep command's handling of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from research.analytics.deflated_sharpe import expected_max_sharpe
from sim.sweep.results import html_view, multiple_testing
from tests.sweep.sweep_files import write_sweep


def test_expected_max_sharpe_matches_the_simulated_maximum_of_unskilled_trials():
    """SR0 is an approximation of E[max of N] for N normal Sharpe ratios around 0: checked
    against simulation (10,000 draws of N = 100 trials), within 2%."""
    rng = np.random.default_rng(0)
    spread, n = 0.05, 100
    simulated = rng.normal(0.0, spread, size=(10_000, n)).max(axis=1).mean()
    # the formula reads the spread from the trials: hand it trials with exactly that spread
    trials = rng.normal(size=n)
    trials = (trials - trials.mean()) / trials.std(ddof=1) * spread
    assert expected_max_sharpe(trials) == pytest.approx(simulated, rel=0.02)


def _table(sharpes):
    return pd.DataFrame({"point": range(len(sharpes)), "status": "FINISHED",
                         "sharpe_per_period": sharpes})


def test_the_caution_deflates_more_when_more_points_are_tried():
    rng = np.random.default_rng(1)
    best = list(rng.normal(0.0008, 0.01, 1000))
    few = multiple_testing(_table([0.05, 0.04, 0.03]), best)
    many = multiple_testing(_table(list(np.linspace(0.03, 0.05, 200))), best)
    assert few["trials"] == 3 and many["trials"] == 200
    assert many["expected_max_sharpe_annual"] > few["expected_max_sharpe_annual"]
    assert many["deflated_sharpe"] < few["deflated_sharpe"]
    assert "Bailey & Lopez de Prado" in many["note"]
    one = multiple_testing(_table([0.05]), best)
    assert one["deflated_sharpe"] is None and "one point" in one["note"]


def test_the_html_view_is_one_offline_file():
    table = _table([0.05, 0.04]).assign(**{"strategy.lookback_days": [21, 63],
                                          "sharpe": [0.8, 0.6], "error": None})
    page = html_view(table, ["strategy.lookback_days"], {"note": "caution text"}, "Sweep t",
                     ["about"])
    assert "<table class=\"sweep\">" in page and "caution text" in page
    assert "Plotly.newPlot" in page and "<script src=" not in page  # plotly.js inlined
    assert "addEventListener('click'" in page


def test_qlab_sweep_refuses_a_bad_file_with_a_message(tmp_path):
    from qlab.cli import app

    path = write_sweep(tmp_path, grid={"risk.max_positon_weight": [0.1]})
    result = CliRunner().invoke(app, ["sweep", str(path), "--no-track"])
    assert result.exit_code == 2
    assert "unknown field 'risk.max_positon_weight'" in result.output
    assert "Traceback" not in result.output
    bad = CliRunner().invoke(app, ["sweep", str(path), "--scheduler", "localhost:8786"])
    assert bad.exit_code == 2


@pytest.mark.browser
def test_the_html_view_renders_in_chromium_without_errors(tmp_path):
    from tests.reports import browser

    chromium = browser.find_chromium()
    if chromium is None:
        pytest.skip("no Chromium (make browser installs it)")
    table = _table([0.05, 0.04, 0.02]).assign(**{
        "strategy.lookback_days": [21, 63, 126], "execution.algorithm": ["twap", "pov", "twap"],
        "sharpe": [0.8, 0.6, 0.3], "cagr": [0.1, 0.08, 0.05], "max_drawdown": [0.2, 0.1, 0.3],
        "error": None})
    page = tmp_path / "sweep.html"
    page.write_text(html_view(table, ["strategy.lookback_days", "execution.algorithm"],
                              {"note": "n"}, "Sweep t", []), encoding="utf-8")
    check = browser.check_html(page, chromium)
    assert check.ok and check.figures_in_html == 1, check.describe()
