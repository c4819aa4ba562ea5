"""Typed parameters of the report notebooks: one pydantic model per notebook.

Convention for every notebook in ``notebooks/``:

1. one code cell tagged ``parameters`` with typed, commented assignments
   (``n_orders: int = 500  # parent orders to simulate``; papermill cannot parse a comment that
   contains ``=``, so write "at least 2", not ">= 2");
2. the next code cell validates them with the notebook's model::

       from research.reports.params import SmokeReportParams, validate_notebook_params
       params = validate_notebook_params(SmokeReportParams, globals())

The report runner validates the parameters against the same model *before* it starts a
kernel (see :data:`PARAMS_MODELS`), so a typo or a wrong type never costs an execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)


def split_commas(value: Any) -> Any:
    """Accept ``"market,twap"`` from the command line where a list is expected."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


StrList = Annotated[list[str], BeforeValidator(split_commas)]
FloatList = Annotated[list[float], BeforeValidator(split_commas)]


class ReportParams(BaseModel):
    """Base of every notebook's parameters: unknown names are errors, never ignored."""

    # NaN and infinity are never a report parameter: inf passes "> 0" and runs a full report.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True,
                              allow_inf_nan=False)


class SmokeReportParams(ReportParams):
    """``smoke_report``: a one-figure report that checks the report pipeline end to end."""

    title: str = Field("smoke", min_length=1, description="Heading of the report.")
    n_points: int = Field(20, ge=2, description="Points on the line.")
    slope: float = Field(1.0, description="Slope of the line.")
    n_figures: int = Field(1, ge=0, description="Plotly figures to draw.")


def empty_to_none(value: Any) -> Any:
    """``-p start ""`` or ``-p start none`` on the command line mean "no date"."""
    if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
        return None
    return value


OptionalDate = Annotated[str | None, BeforeValidator(empty_to_none)]


def _iso_date_text(value: str | None) -> str | None:
    from research.config import parse_iso_date

    return None if value is None else parse_iso_date(value).isoformat()


def _loadable_run_config(value: str) -> str:
    # a bad config is found before a kernel starts, with every error and its field path
    from pathlib import Path

    from research.config import ConfigFileError, load_run_config

    try:
        load_run_config(Path(value))
    except ConfigFileError as exc:  # pydantic reports ValueErrors only
        raise ValueError(str(exc)) from None
    return value


#: An optional ``YYYY-MM-DD`` (a 31 February is an error, never rolled over), kept as text.
OptionalIsoDate = Annotated[OptionalDate, AfterValidator(_iso_date_text)]
#: The path of a run config (YAML) that loads and validates.
RunConfigPath = Annotated[str, AfterValidator(_loadable_run_config)]


M = TypeVar("M", bound=ReportParams)

#: Notebook name (file stem in ``notebooks/``) -> its parameters model, or a function that
#: imports and returns it. A report of another package registers a function (qlab/cli.py does
#: for the simulated world's reports): research cannot import that package, and ``qlab
#: --help`` must not import the model.
PARAMS_MODELS: dict[str, type[ReportParams] | Callable[[], type[ReportParams]]] = {
    "smoke_report": SmokeReportParams,
}


def register_params_model(name: str,
                          model: type[ReportParams] | Callable[[], type[ReportParams]]) -> None:
    """Declare the parameters model of notebook ``name`` (a new notebook calls this once), or a
    function that returns it when it is first needed."""
    PARAMS_MODELS[name] = model


def params_model_of(name: str) -> type[ReportParams] | None:
    """The parameters model of notebook ``name``, or None if none is registered."""
    model = PARAMS_MODELS.get(name)
    if model is None or isinstance(model, type):
        return model
    return model()


def format_validation_error(exc: ValidationError) -> list[str]:
    """``name: reason`` lines of a pydantic error, without echoing the rejected values."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(parameters)"
        msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{loc}: {msg}")
    return lines


def validate_notebook_params(model: type[M], namespace: Mapping[str, Any]) -> M:
    """Build ``model`` from the notebook's globals (the parameters cell plus papermill's overrides).

    Raises ``ValueError`` listing every invalid parameter, so a bad value stops the notebook in
    its first code cell instead of producing a wrong report.
    """
    values = {name: namespace[name] for name in model.model_fields if name in namespace}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        lines = "\n".join(f"  {line}" for line in format_validation_error(exc))
        raise ValueError(f"invalid {model.__name__}:\n{lines}") from None
