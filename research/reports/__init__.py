"""Reports: parameterised notebooks executed by papermill and exported to self-contained HTML.

The public names below are resolved lazily (PEP 562): ``qlab --help`` imports
``research.reports.cli``, and with it this package, and must not pay for pydantic models or
the runner. papermill, nbconvert and MLflow are imported inside the functions that use them.
"""

from research.lazy import lazy_names, names_of

_WHERE = names_of({
    "params": (
        "PARAMS_MODELS", "ReportParams", "SmokeReportParams", "params_model_of",
        "register_params_model", "validate_notebook_params",
    ),
    "runner": (
        "ReportDefinitionError", "ReportError", "ReportExecutionError", "ReportNotFound",
        "ReportParameterError", "export_html", "load_params_file", "parse_cli_params",
        "publish_metrics", "run_report", "validate_report_params",
    ),
})
__all__ = sorted(_WHERE)
__getattr__ = lazy_names(__name__, _WHERE)
