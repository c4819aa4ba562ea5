"""Open an HTML report in headless Chromium and check that it rendered (stdlib only).

How: a copy of the page gets a small probe script as the first thing in ``<head>``. The probe
records every ``window.onerror``, unhandled promise rejection, ``console.error`` and failed
resource load (script, link, img), and after the ``load`` event (plus a short settle time) writes
a JSON verdict into the DOM: for each ``div.plotly-graph-div``, whether plotly built its
``.plot-container`` and ``svg.main-svg``. Chromium's ``--dump-dom`` prints the DOM, from which the
verdict is read back. Console lines in Chromium's stderr log that say ``Uncaught`` are counted as
errors too. Network is not needed: a report must be readable offline.

Chromium is Debian's ``chromium`` package (``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
)
VERDICT_ID = "qlab-browser-verdict"
_PROBE = """<script>(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      errors.push("failed to load " + (t.src || t.href));
    } else {
      errors.push("error: " + (e.message || e) + " at " + (e.filename || "?") + ":" + (e.lineno || "?"));
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + (e.reason && (e.reason.stack || e.reason.message) || e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    setTimeout(function () {
      var figures = Array.prototype.map.call(
        document.querySelectorAll("div.plotly-graph-div"), function (div) {
          return {id: div.id,
                  container: !!div.querySelector(".plot-container"),
                  svg: !!div.querySelector("svg.main-svg")};
        });
      var out = document.createElement("pre");
      out.id = "__VERDICT_ID__";
      out.textContent = JSON.stringify({errors: errors, figures: figures});
      document.body.appendChild(out);
    }, 500);
  });
})();</script>""".replace("__VERDICT_ID__", VERDICT_ID)


@dataclass(frozen=True)
class BrowserCheck:
    """What Chromium saw: figures declared in the HTML, figures rendered, errors logged."""

    figures_in_html: int
    figures_rendered: int
    not_rendered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.not_rendered and \
            self.figures_rendered == self.figures_in_html

    def describe(self) -> str:
        lines = [f"{self.figures_rendered}/{self.figures_in_html} plotly figure(s) rendered"]
        lines += [f"not rendered: {fig}" for fig in self.not_rendered]
        lines += [f"page error: {err}" for err in self.errors]
        return "\n".join(lines)


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary: $CHROMIUM, /usr/bin/chromium, or one on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and Path(explicit).is_file():
        return explicit
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _with_probe(html: str) -> str:
    match = re.search(r"<head[^>]*>", html, re.I)
    if match is None:
        return _PROBE + html
    return html[:match.end()] + _PROBE + html[match.end():]


def check_html(path: str | Path, chromium: str | None = None, timeout: float = 120.0,
               budget_ms: int = 15000) -> BrowserCheck:
    """Load ``path`` in headless Chromium and report figures rendered and errors logged."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium not found (Debian: apt-get install -y chromium)")
    html = Path(path).read_text(encoding="utf-8")
    figures_in_html = len(re.findall(r'class="plotly-graph-div"', html))
    with tempfile.TemporaryDirectory(prefix="qlab-chromium-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(_with_probe(html), encoding="utf-8")
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--virtual-time-budget={budget_ms}", "--dump-dom", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    match = re.search(rf'<pre id="{VERDICT_ID}">(.*?)</pre>', proc.stdout, re.S)
    if match is None:
        raise RuntimeError(f"chromium produced no verdict (exit {proc.returncode}); stderr "
                           f"tail:\n{proc.stderr[-2000:]}")
    verdict = json.loads(_unescape(match.group(1)))
    errors = list(verdict["errors"])
    # Errors thrown before the probe could see them still reach Chromium's console log.
    errors += [line.strip() for line in proc.stderr.splitlines()
               if "CONSOLE" in line and "Uncaught" in line]
    figures = verdict["figures"]
    not_rendered = [f["id"] for f in figures if not (f["container"] and f["svg"])]
    return BrowserCheck(figures_in_html, len(figures) - len(not_rendered), not_rendered, errors)


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)
