"""Reports: parameterised notebooks executed by papermill and exported to self-contained HTML.

The public names below are resolved lazily (PEP 562): ``qlab --help`` imports
``research.reports.cli``, and with it this package, and must not pay for pydantic models or
the runner. papermill, nbconvert and MLflow are imported inside the functions that use them.
"""

from importlib import import_module

_EXPORTS = {
    "research.reports.params": (
        "PARAMS_MODELS", "ReportParams", "SmokeReportParams", "params_model_of",
        "register_params_model", "validate_notebook_params",
    ),
    "research.reports.runner": (
        "ReportDefinitionError", "ReportError", "ReportExecutionError", "ReportNotFound",
        "ReportParameterError", "export_html", "load_params_file", "parse_cli_params",
        "publish_metrics", "run_report", "validate_report_params",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'research.reports' has no attribute {name!r}")
