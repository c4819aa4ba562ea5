"""The generated report opens in headless Chromium: every figure renders, no page errors."""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.browser
def test_smoke_report_renders_in_chromium(smoke_run, check_html_in_browser):
    html_path, _ = smoke_run
    check = check_html_in_browser(html_path)
    assert check.ok, check.describe()
    assert check.figures_rendered == 2


@pytest.mark.browser
def test_the_browser_check_catches_a_broken_page(tmp_path, check_html_in_browser):
    page = tmp_path / "broken.html"
    page.write_text('<html><head></head><body><div class="plotly-graph-div" id="fig"></div>'
                    "<script>undefinedFunction();</script>"
                    '<script src="https://cdn.plot.ly/plotly-3.0.0.min.js"></script>'
                    "</body></html>")
    check = check_html_in_browser(page)
    assert not check.ok
    assert check.not_rendered == ["fig"]
    assert any("undefinedFunction" in e for e in check.errors)
    assert any("failed to load https://cdn.plot.ly" in e for e in check.errors)
