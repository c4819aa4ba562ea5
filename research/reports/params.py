"""Typed parameters of the report notebooks: one pydantic model per notebook.

Convention for every notebook in ``notebooks/``:

1. one code cell tagged ``parameters`` with typed, commented assignments
   (``n_orders: int = 500  # parent orders to simulate``; papermill cannot parse a comment that
   contains ``=``, so write "at least 2", not ">= 2");
2. the next code cell validates them with the notebook's model::

       from research.reports.params import ExecutionComparisonParams, validate_notebook_params
       params = validate_notebook_params(ExecutionComparisonParams, globals())

The report runner validates the parameters against the same model *before* it starts a
kernel (see :data:`PARAMS_MODELS`), so a typo or a wrong type never costs an execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from research.config import STRATEGIES


def _split_commas(value: Any) -> Any:
    """Accept ``"market,twap"`` from the command line where a list is expected."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


StrList = Annotated[list[str], BeforeValidator(_split_commas)]
FloatList = Annotated[list[float], BeforeValidator(_split_commas)]


class ReportParams(BaseModel):
    """Base of every notebook's parameters: unknown names are errors, never ignored."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class SmokeReportParams(ReportParams):
    """``smoke_report``: a one-figure report that checks the report pipeline end to end."""

    title: str = Field("smoke", min_length=1, description="Heading of the report.")
    n_points: int = Field(20, ge=2, description="Points on the line.")
    slope: float = Field(1.0, description="Slope of the line.")
    n_figures: int = Field(1, ge=0, description="Plotly figures to draw.")


Strategy = Literal["market", "limit", "twap", "vwap", "pov", "is"]
SpreadSource = Literal["quotes", "corwin_schultz", "abdi_ranaldo", "roll"]


class ExecutionComparisonParams(ReportParams):
    """``execution_comparison``: the execution-strategy study (draft: fields may still grow)."""

    bars: str = Field("sp500_synthetic_minute", description="Bar file or dataset name.")
    orders: str = Field(
        "synthetic", description="'synthetic', 'rebalance' or a CSV/Parquet parent-order file."
    )
    n_orders: int = Field(500, gt=0, description="Synthetic parent orders to generate.")
    strategies: Annotated[list[Strategy], BeforeValidator(_split_commas)] = Field(
        default_factory=lambda: list(STRATEGIES), min_length=1,
        description="Execution strategies to compare; market is always the baseline.")
    start: str | None = Field(None, description="First session (YYYY-MM-DD), inclusive.")
    end: str | None = Field(None, description="Last session (YYYY-MM-DD), inclusive.")
    seed: int = Field(0, description="Seed of order generation and of the simulated market.")
    impact_y_grid: FloatList = Field(
        default_factory=lambda: [0.5, 0.75, 1.0],
        description="Simulated-market impact coefficients Y of the sensitivity table.")
    limit_fill_rules: Annotated[list[Literal["touch", "through"]],
                                BeforeValidator(_split_commas)] = Field(
        default_factory=lambda: ["touch", "through"],
        description="Limit-fill rules of the sensitivity table.")
    participation_caps: FloatList = Field(
        default_factory=lambda: [0.05, 0.10, 0.20],
        description="Participation caps (fraction of bar volume) of the sensitivity table.")
    spread_sources: Annotated[list[SpreadSource], BeforeValidator(_split_commas)] = Field(
        default_factory=lambda: ["quotes", "corwin_schultz", "abdi_ranaldo", "roll"],
        description="Spread sources of the sensitivity table.")
    smoke: bool = Field(False, description="Tiny run for CI: few orders, few sessions.")


M = TypeVar("M", bound=ReportParams)

#: Notebook name (file stem in ``notebooks/``) -> its parameters model.
PARAMS_MODELS: dict[str, type[ReportParams]] = {
    "smoke_report": SmokeReportParams,
    "execution_comparison": ExecutionComparisonParams,
}


def register_params_model(name: str, model: type[ReportParams]) -> None:
    """Declare the parameters model of notebook ``name`` (a new notebook calls this once)."""
    PARAMS_MODELS[name] = model


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
