"""Run a parameterised notebook and turn it into one self-contained HTML report.

``run_report("execution_comparison", {"n_orders": 200})`` does, in order:

1. finds ``notebooks/<name>.ipynb``;
2. validates the parameters **before any kernel starts**: every name must be declared in the
   notebook's ``parameters`` cell (``papermill.inspect_notebook``) and the values must pass the
   notebook's pydantic model (:data:`research.reports.params.PARAMS_MODELS`); all problems are
   reported at once;
3. executes the notebook with papermill in **one fresh subprocess** (a loop of in-process
   executions leaks kernels and ZMQ threads), with the kernel name set explicitly, a per-cell
   timeout, ``PLOTLY_RENDERER=notebook`` (plotly.js inlined, no CDN) and ``TQDM_DISABLE=1``
   (no bars inside the report); progress (cells executed of total, the cell running and for
   how long) is read from papermill's per-cell log lines and shown by this process, on a
   terminal as a tqdm bar;
4. converts the executed notebook to ``<output_dir>/<name>.html`` without code cells or prompts,
   using the ``qlab`` template (the lab template minus its CDN scripts), and checks that the page
   loads no external script; the executed ``<name>.ipynb`` is kept next to it;
5. records the run in MLflow (parameters, both files, and any metrics the notebook published
   with :func:`publish_metrics`) unless ``track=False``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from research.reports.params import ReportParams, format_validation_error, params_model_of

if TYPE_CHECKING:  # pragma: no cover
    from research.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
KERNEL_NAME = "python3"
DEFAULT_TIMEOUT_S = 1800.0
#: The runner tells the notebook where to write its headline metrics (a JSON object).
METRICS_ENV = "QLAB_REPORT_METRICS"
_START_MARGIN_S = 120.0  # kernel start-up and HTML export on top of the cells' own time
# plotly's notebook renderer hard-codes a MathJax <script> from cdnjs in every figure; MathJax is
# only needed for LaTeX in figure labels (shown as plain text offline), so it is removed.
_PLOTLY_MATHJAX_CDN = re.compile(
    r"<script\s+src=\"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^\"]+\"\s*>\s*</script>")
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", re.I)


#: papermill's per-cell log lines (``--log-output`` at INFO): "Executing Cell 3-----...".
_CELL_LOG_LINE = re.compile(r"^(Executing|Ending) Cell (\d+)-*\s*$")


@dataclass(frozen=True)
class CellProgress:
    """Where a notebook run stands: ``done`` of ``total`` cells finished (markdown cells
    included, as papermill counts them), ``running`` the 1-based number of the cell executing
    now (None between cells), ``elapsed_s`` since execution started."""

    done: int
    total: int
    running: int | None
    elapsed_s: float


ProgressCallback = Callable[[CellProgress], None]


class CellProgressTracker:
    """Turns papermill's log lines into :class:`CellProgress` events for ``callback``.

    ``feed(line)`` returns True for a progress line (consumed) and False for anything else
    (cell output or a papermill message, which the caller keeps for error reports).
    """

    def __init__(self, total: int, callback: ProgressCallback,
                 clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.callback = callback
        self.clock = clock
        self.started = clock()
        self.done = 0

    def start(self) -> None:
        """Report 0 cells done (the kernel is starting)."""
        self.callback(CellProgress(0, self.total, None, 0.0))

    def feed(self, line: str) -> bool:
        match = _CELL_LOG_LINE.match(line.strip())
        if match is None:
            return False
        kind, number = match.group(1), int(match.group(2))
        if kind == "Executing":
            self.done = number - 1
            running = number
        else:
            self.done = number
            running = None
        self.callback(CellProgress(self.done, self.total, running, self.clock() - self.started))
        return True


class TerminalProgress:
    """A tqdm bar on stderr: "report NAME: 3/14 cells |###   | [01:23, cell 4 running]",
    its clock redrawn every second so that a long cell still shows the run is alive."""

    def __init__(self, label: str, redraw_s: float = 1.0):
        self.label = label
        self.redraw_s = redraw_s
        self.bar = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._redraw: threading.Thread | None = None

    def __call__(self, event: CellProgress) -> None:
        from tqdm import tqdm

        with self._lock:
            if self.bar is None:
                self.bar = tqdm(total=event.total, desc=self.label, file=sys.stderr,
                                bar_format="{desc}: {n}/{total} cells |{bar}| "
                                           "[{elapsed}{postfix}]", dynamic_ncols=True,
                                disable=False)
                self._redraw = threading.Thread(target=self._tick, daemon=True)
                self._redraw.start()
            self.bar.n = event.done
            status = (f"cell {event.running} running" if event.running
                      else "starting the kernel" if event.done == 0 else "")
            self.bar.set_postfix_str(status, refresh=False)
            self.bar.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(self.redraw_s):
            with self._lock:
                if self.bar is not None:
                    self.bar.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._redraw is not None:
            self._redraw.join(timeout=2)
        with self._lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None


class ReportError(Exception):
    """A report could not be produced; the message says why and what to do."""


class ReportNotFound(ReportError, FileNotFoundError):
    pass


class ReportParameterError(ReportError, ValueError):
    """Parameters rejected before execution; ``problems`` holds one line per problem."""

    def __init__(self, name: str, problems: Sequence[str]):
        self.name = name
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid parameters for report {name!r} "
                         f"({len(self.problems)} problem(s)):\n{lines}")


class ReportDefinitionError(ReportError):
    """The notebook's parameters cell and its pydantic model disagree (a developer error)."""


class ReportExecutionError(ReportError):
    """A cell raised or timed out; ``executed_notebook`` keeps the partial notebook."""

    def __init__(self, message: str, executed_notebook: Path | None):
        self.executed_notebook = executed_notebook
        super().__init__(message)


# ------------------------------------------------------------------------------ parameters
def notebook_path(name: str, notebooks_dir: str | Path | None = None) -> Path:
    """``<notebooks_dir>/<name>.ipynb``, or :class:`ReportNotFound` listing what exists."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ReportNotFound(f"invalid report name {name!r}: use a notebook's file stem")
    path = folder / f"{name}.ipynb"
    if not path.is_file():
        available = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        raise ReportNotFound(f"no notebook {path}; available reports: "
                             f"{', '.join(available) or '(none)'}")
    return path


def declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters cell of a notebook: name -> papermill's {inferred type, default, help}."""
    import papermill

    return papermill.inspect_notebook(str(path))


def _check_definition(name: str, declared: Mapping[str, Any], model: type[ReportParams]) -> None:
    fields, names = set(model.model_fields), set(declared)
    if fields == names:
        return
    parts = []
    if fields - names:
        parts.append(f"model fields missing from the parameters cell: {sorted(fields - names)} "
                     "(papermill skips a line it cannot parse, e.g. a comment containing '=')")
    if names - fields:
        parts.append(f"parameters missing from {model.__name__}: {sorted(names - fields)}")
    raise ReportDefinitionError(f"notebook {name!r} and {model.__name__} disagree: "
                                + "; ".join(parts))


def validate_report_params(name: str, params: Mapping[str, Any] | None = None, *,
                           notebooks_dir: str | Path | None = None,
                           params_model: type[ReportParams] | None = None) -> ReportParams:
    """Validate ``params`` for notebook ``name`` without executing anything.

    Returns the validated model (defaults filled in). Raises :class:`ReportParameterError`
    listing every unknown name and every invalid value.
    """
    path = notebook_path(name, notebooks_dir)
    model = params_model or params_model_of(name)
    if model is None:
        raise ReportDefinitionError(
            f"no parameters model for notebook {name!r}: add it to "
            "research.reports.params.PARAMS_MODELS (or call register_params_model)")
    declared = declared_parameters(path)
    _check_definition(name, declared, model)
    params = dict(params or {})
    problems = [f"{key}: unknown parameter (the notebook declares: {', '.join(declared)})"
                for key in params if key not in declared]
    from pydantic import ValidationError

    try:
        validated = model.model_validate({k: v for k, v in params.items() if k in declared})
    except ValidationError as exc:
        problems += format_validation_error(exc)
        validated = None
    if problems:
        raise ReportParameterError(name, problems)
    assert validated is not None
    return validated


def parse_cli_value(text: str) -> Any:
    """A ``-p KEY VALUE`` value: JSON lists/objects are parsed, anything else stays a string.

    Numbers and booleans stay strings on purpose: the pydantic model converts ``"50"`` to an
    int where an int is expected, and keeps ``"007"`` a string where a string is expected.
    """
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text


def parse_cli_params(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {key: parse_cli_value(value) for key, value in pairs}


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Parameters from a YAML (or JSON) file holding a mapping; dates are kept as strings."""
    from research.config import ConfigFileError, read_yaml_file

    path = Path(path)
    if not path.is_file() and not path.is_dir():
        raise ReportParameterError(path.stem, [f"{path}: no such parameters file"])
    # Like papermill: "2022-03-01" stays a string, the model decides what it means.
    try:
        data = read_yaml_file(path, dates_as_text=True)
    except ConfigFileError as exc:
        raise ReportParameterError(path.stem, [f"{path}: {where}: {msg}"
                                               for where, msg in exc.errors]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReportParameterError(path.stem, [f"{path}: expected a mapping of names to values"])
    return {str(k): v for k, v in data.items()}


# ------------------------------------------------------------------------------- execution
def _kernel_env(metrics_path: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PLOTLY_RENDERER"] = "notebook"  # plotly.js inlined in the output: readable offline
    env["TQDM_DISABLE"] = "1"  # no progress-bar spam in the report
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger warning on frozen modules
    # jupyter_client starts a kernelspec whose argv[0] is "python" with sys.executable; putting
    # this interpreter's folder first on PATH keeps any other "python" from being picked up.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if metrics_path is not None:
        env[METRICS_ENV] = str(metrics_path)
    return env


def _failure_from_notebook(path: Path) -> str | None:
    """``"cell N: Ename: evalue"`` of the first error output of an executed notebook."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                count = cell.get("execution_count")
                return f"cell {count}: {output.get('ename')}: {output.get('evalue')}"
    return None


def _cells_to_execute(input_path: Path, parameters: Mapping[str, Any]) -> int:
    """Cells papermill will run: the notebook's, plus the one it injects for parameters."""
    try:
        nb = json.loads(input_path.read_text(encoding="utf-8"))
        cells = len(nb.get("cells", []))
    except (OSError, ValueError):
        cells = 0
    return cells + (1 if parameters else 0)


def execute_notebook(input_path: Path, output_path: Path, parameters: Mapping[str, Any], *,
                     kernel_name: str = KERNEL_NAME, timeout: float = DEFAULT_TIMEOUT_S,
                     cwd: Path | None = None, progress: bool | ProgressCallback = False,
                     metrics_path: Path | None = None) -> None:
    """Execute ``input_path`` into ``output_path`` with papermill in a fresh subprocess.

    ``timeout`` bounds each cell (papermill's ``--execution-timeout``) and, with a start-up
    margin, the whole process; on expiry the process group (papermill and its kernel) is
    killed. ``progress``: True shows a bar on stderr, a callable receives a
    :class:`CellProgress` per cell start and end. Raises :class:`ReportExecutionError`
    naming the failing cell.
    """
    import yaml

    output_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False,
                                     encoding="utf-8") as handle:
        yaml.safe_dump(dict(parameters), handle)
        params_file = Path(handle.name)
    show = TerminalProgress(f"report {input_path.stem}") if progress is True else None
    callback = show or (progress if callable(progress) else None)
    # with a callback, papermill logs "Executing Cell N" / "Ending Cell N" (and the cells'
    # text output) at INFO on stderr; its own tqdm bar is off (TQDM_DISABLE is set for the
    # kernel's environment, which papermill shares)
    logging = (["--log-output", "--log-level", "INFO"] if callback
               else ["--log-level", "WARNING"])
    cmd = [sys.executable, "-m", "papermill", str(input_path), str(output_path),
           "-k", kernel_name, "-f", str(params_file), "--cwd", str(cwd or Path.cwd()),
           "--execution-timeout", str(max(1, int(timeout))), "--start-timeout", "60",
           *logging, "--no-progress-bar"]
    tracker = (CellProgressTracker(_cells_to_execute(input_path, parameters), callback)
               if callback else None)
    tail: deque[str] = deque(maxlen=15)

    def read_stderr(stream) -> None:
        for line in stream:
            if tracker is None or not tracker.feed(line):
                tail.append(line.rstrip("\n"))

    try:
        proc = subprocess.Popen(cmd, env=_kernel_env(metrics_path), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True)
        reader = threading.Thread(target=read_stderr, args=(proc.stderr,), daemon=True)
        reader.start()
        if tracker is not None:
            tracker.start()
        try:
            proc.wait(timeout=timeout + _START_MARGIN_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise ReportExecutionError(
                f"{input_path.name}: timed out after {timeout + _START_MARGIN_S:.0f} s; "
                f"partial notebook (if any) at {output_path}", output_path) from None
        finally:
            reader.join(timeout=5)
    finally:
        params_file.unlink(missing_ok=True)
        if show is not None:
            show.close()
    if proc.returncode != 0:
        where = _failure_from_notebook(output_path) if output_path.is_file() else None
        detail = where or "\n".join(tail).strip() or f"papermill exited with code {proc.returncode}"
        raise ReportExecutionError(f"{input_path.name} failed: {detail}\nexecuted notebook: "
                                   f"{output_path if output_path.is_file() else '(none)'}",
                                   output_path if output_path.is_file() else None)


def external_scripts(html: str) -> list[str]:
    """URLs of scripts a page would fetch from the network (a report must have none)."""
    return _EXTERNAL_SCRIPT.findall(html)


def export_html(executed: Path, html_path: Path, title: str | None = None) -> Path:
    """Convert an executed notebook to one self-contained HTML page without code or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="qlab", extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True,
    )
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = title or executed.stem
    body, _ = exporter.from_notebook_node(nb)
    body = _PLOTLY_MATHJAX_CDN.sub("", body)
    urls = external_scripts(body)
    if urls:
        raise ReportError(f"{executed.name}: the report would load scripts from the network "
                          f"({', '.join(sorted(set(urls)))}); render figures with "
                          "PLOTLY_RENDERER=notebook, not notebook_connected")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, html_path)
    return html_path


def publish_metrics(metrics: Mapping[str, Any]) -> Path | None:
    """Called from a notebook: hand headline numbers to the runner (logged to MLflow).

    Writes JSON to the path the runner put in ``QLAB_REPORT_METRICS``; outside the runner
    (e.g. in JupyterLab) it does nothing and returns None.
    """
    target = os.environ.get(METRICS_ENV)
    if not target:
        return None
    path = Path(target)
    path.write_text(json.dumps(dict(metrics), indent=2, default=float), encoding="utf-8")
    return path


def run_report(name: str, params: Mapping[str, Any] | None = None,
               output_dir: str | Path = "reports", timeout: float = DEFAULT_TIMEOUT_S, *,
               notebooks_dir: str | Path | None = None,
               params_model: type[ReportParams] | None = None, kernel_name: str = KERNEL_NAME,
               track: bool = True, settings: Settings | None = None,
               progress: bool | ProgressCallback | None = None) -> Path:
    """Validate, execute and export notebook ``name``; return the path of its HTML report.

    ``params`` override the notebook's defaults (validated first, see
    :func:`validate_report_params`); ``timeout`` is seconds per cell; ``progress``: a bar of
    cells executed of total on stderr (default: when stderr is a terminal), or a callable
    receiving :class:`CellProgress` events; ``track`` records an MLflow run.
    """
    from research.tracking import tracked_run

    source = notebook_path(name, notebooks_dir)
    validated = validate_report_params(name, params, notebooks_dir=notebooks_dir,
                                       params_model=params_model)
    overrides = validated.model_dump(mode="json", include=set(params or {}))
    out = Path(output_dir)
    executed, html_path = out / f"{name}.ipynb", out / f"{name}.html"
    metrics_path = out / f"{name}.metrics.json"
    metrics_path.unlink(missing_ok=True)
    show_progress = sys.stderr.isatty() if progress is None else progress
    effective = validated.model_dump(mode="json")
    with tracked_run("report", {"report": name, **effective}, tags={"qlab.report": name},
                     settings=settings, seed=effective.get("seed"),
                     run_name=f"report:{name}", enabled=track) as run:
        started = time.perf_counter()
        execute_notebook(source, executed, overrides, kernel_name=kernel_name, timeout=timeout,
                         progress=show_progress, metrics_path=metrics_path)
        export_html(executed, html_path, title=name)
        run.log_metrics({"report_duration_s": time.perf_counter() - started})
        run.log_artifact(html_path, "report")
        run.log_artifact(executed, "report")
        if metrics_path.is_file():
            run.log_metrics(json.loads(metrics_path.read_text(encoding="utf-8")),
                            non_numeric="skip")
            run.log_artifact(metrics_path, "report")
    return html_path


__all__ = [
    "METRICS_ENV", "NOTEBOOKS_DIR", "CellProgress", "CellProgressTracker",
    "ReportDefinitionError", "ReportError",
    "ReportExecutionError", "ReportNotFound", "ReportParameterError", "declared_parameters",
    "execute_notebook", "export_html", "external_scripts", "load_params_file", "notebook_path",
    "parse_cli_params", "parse_cli_value", "publish_metrics", "run_report",
    "validate_report_params",
]
