"""The sweep file (YAML): what to vary, over which base run config, run as which task.

```yaml
name: invvol-lookback            # names the MLflow parent run and the output files
config: ../inverse_volatility.yaml   # the base run config, relative to this file
task: backtest                   # backtest (the daily replay) | vectorbt (the research path)
bars: sp500_daily                # --bars of qlab backtest (vectorbt: sp500_daily only)
start: "2021-01-04"              # first session traded (the data before it is the lookback)
end: "2021-12-31"
grid:                            # every combination
  strategy.lookback_days: [21, 63]
  execution.algorithm: [twap, vwap]
random:                          # n seeded draws (combined with every grid point)
  n: 4
  seed: 1
  fields:
    settings.simulation.impact_y: {loguniform: [0.4, 1.6]}
    risk.max_position_weight: {uniform: [0.1, 0.2]}
```

Fields are dotted paths: any leaf of the run config (``strategy.lookback_days``,
``execution.algorithm``, ``risk.max_position_weight``, ...), a simulated-market or model
assumption of the settings (``settings.simulation.impact_y``, ``settings.costs.*``, ...) and,
for the vectorbt task, its flat costs (``vectorbt.fee_bps``, ``vectorbt.slippage_bps``); its
schedule is the config's ``strategy.rebalance_every_sessions``. An unknown field is an error
that names it and lists the valid ones; a field the task would ignore (the vectorbt path has
no execution algorithm and no risk manager) is an error too, so that a sweep never varies
something that changes nothing.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from research.config import (
    ConfigFileError,
    RunConfig,
    Settings,
    load_run_config,
    parse_iso_date,
    read_yaml_file,
)
from research.data import EMBEDDED_DAILY_DATASET

TASKS = ("backtest", "vectorbt")
#: Settings groups a sweep may vary: the simulated market and the models' assumptions. Not
#: data (where bars live), tiger (credentials) or tracking (where results go).
SWEEPABLE_SETTINGS = ("simulation", "costs", "risk", "execution")
#: Run-config fields the vectorbt research path reads (it has no algorithm, no risk manager).
VECTORBT_CONFIG_FIELDS = ("strategy.lookback_days", "strategy.rebalance_every_sessions",
                          "strategy.capital")
#: The only bars the vectorbt task runs on: the embedded real daily closes.
VECTORBT_BARS = EMBEDDED_DAILY_DATASET


class SweepSpecError(ValueError):
    """A sweep file that cannot run; the message names the file and every problem."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)


class Distribution(_Strict):
    """One of: ``uniform: [lo, hi]``, ``loguniform: [lo, hi]`` (lo > 0), ``randint: [lo, hi]``
    (both inclusive) or ``choice: [a, b, ...]``."""

    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None
    choice: list[Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Distribution:
        given = [k for k in ("uniform", "loguniform", "randint", "choice")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform, loguniform, randint, choice "
                             f"(got {given or 'none'})")
        kind = given[0]
        if kind == "choice":
            if not self.choice:
                raise ValueError("choice needs at least one value")
            return self
        lo, hi = getattr(self, kind)
        if lo > hi:
            raise ValueError(f"{kind}: low {lo} is above high {hi}")
        if kind == "loguniform" and lo <= 0:
            raise ValueError(f"loguniform: low must be > 0, got {lo}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("uniform", "loguniform", "randint", "choice")
                    if getattr(self, k) is not None)


class RandomSearch(_Strict):
    n: Annotated[int, Field(gt=0)]
    seed: int = 0
    fields: dict[str, Distribution]

    @field_validator("fields")
    @classmethod
    def _some(cls, value: dict) -> dict:
        if not value:
            raise ValueError("random.fields is empty: name at least one field to draw")
        return value


class VectorbtOptions(_Strict):
    """The vectorbt research path's own parameters (see research.analytics.vectorbt_path)."""

    slippage_bps: Annotated[float, Field(ge=0)] = Field(5.0, description="Flat slippage, bps.")
    fee_bps: Annotated[float, Field(ge=0)] = Field(5.0, description="Flat fees, bps.")
    zero_volatility: Literal["raise", "exclude"] = Field(
        "raise", description="A symbol whose close did not move over a window: refuse the "
        "point, or give the symbol weight 0 at that decision (the embedded 1990 closes have "
        "one such symbol in their first 69 sessions).")
    chunk_size: Annotated[int, Field(ge=1)] = Field(
        50, description="Parameter sets per vectorbt call (and per worker job).")


class SweepSpec(_Strict):
    name: str = Field(..., min_length=1)
    config: Path
    task: Literal["backtest", "vectorbt"] = "backtest"
    bars: str | None = None
    frequency: Literal["daily", "minute"] | None = None
    start: str | None = None
    end: str | None = None
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    random: RandomSearch | None = None
    vectorbt: VectorbtOptions = Field(default_factory=VectorbtOptions)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value is None else parse_iso_date(value).isoformat()

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, grid: dict) -> dict:
        empty = [k for k, v in grid.items() if not v]
        if empty:
            raise ValueError(f"grid field(s) {empty} have no values")
        repeated = [k for k, v in grid.items() if len({repr(x) for x in v}) != len(v)]
        if repeated:
            raise ValueError(f"grid field(s) {repeated} list a value twice")
        return grid

    @model_validator(mode="after")
    def _something_to_vary(self) -> SweepSpec:
        if not self.grid and self.random is None:
            raise ValueError("neither grid nor random: a sweep needs at least one")
        both = sorted(set(self.grid) & set(self.random.fields if self.random else {}))
        if both:
            raise ValueError(f"field(s) {both} are in both grid and random")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    @property
    def fields(self) -> list[str]:
        """Every varied field, grid first, in the file's order."""
        return [*self.grid, *(self.random.fields if self.random else {})]


def _leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += _leaves(kind, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def valid_fields(task: str) -> list[str]:
    """The dotted fields a sweep of ``task`` may vary."""
    if task == "vectorbt":
        options = [f"vectorbt.{k}" for k in VectorbtOptions.model_fields
                   if k not in ("chunk_size", "zero_volatility")]
        return [*VECTORBT_CONFIG_FIELDS, *options]
    config = [f for f in _leaves(RunConfig) if f != "name"]
    settings = [f"settings.{group}.{name}" for group in SWEEPABLE_SETTINGS
                for name in Settings.model_fields[group].annotation.model_fields]
    return [*config, *settings]


def _field_problems(spec: SweepSpec) -> list[str]:
    valid = valid_fields(spec.task)
    problems = []
    for where, names in (("grid", spec.grid), ("random.fields",
                                               spec.random.fields if spec.random else {})):
        for name in names:
            if name in valid:
                continue
            near = difflib.get_close_matches(name, valid, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            ignored = (spec.task == "vectorbt" and name in valid_fields("backtest"))
            reason = (f"the vectorbt task does not read {name!r} (no execution algorithm, no "
                      "risk manager, flat costs): sweep it with task backtest"
                      if ignored else f"unknown field {name!r}{hint}")
            problems.append(f"{where}: {reason}; valid fields for task {spec.task}: "
                            f"{', '.join(valid)}")
    return problems


def _task_problems(spec: SweepSpec, config: RunConfig) -> list[str]:
    if spec.task != "vectorbt":
        return []
    problems = []
    if (spec.bars or VECTORBT_BARS) != VECTORBT_BARS:
        problems.append(f"bars: the vectorbt task runs on {VECTORBT_BARS} only, got "
                        f"{spec.bars!r}")
    if config.strategy.kind != "inverse_volatility":
        problems.append(f"config strategy.kind {config.strategy.kind!r}: the vectorbt task "
                        "runs inverse-volatility parameter sets only")
    if config.strategy.rebalance_every_sessions is None and not any(
            f == "strategy.rebalance_every_sessions" for f in spec.fields):
        problems.append("the vectorbt task decides every N sessions: set "
                        "strategy.rebalance_every_sessions in the config or sweep it")
    if spec.frequency not in (None, "daily"):
        problems.append("frequency: the vectorbt task is daily")
    return problems


def load_sweep(path: str | Path) -> tuple[SweepSpec, RunConfig]:
    """Read and validate a sweep file and its base run config; raise :class:`SweepSpecError`
    listing every problem (the points themselves are validated by :mod:`.points`)."""
    path = Path(path)
    try:
        raw = read_yaml_file(path, dates_as_text=True)
    except ConfigFileError as exc:
        raise SweepSpecError(str(path), [f"{loc}: {msg}" for loc, msg in exc.errors]) from None
    if not isinstance(raw, dict):
        raise SweepSpecError(str(path), ["(root): expected a mapping of keys to values"])
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                    for e in exc.errors(include_input=False, include_url=False)]
        raise SweepSpecError(str(path), problems) from None
    config_path = spec.config if spec.config.is_absolute() else path.parent / spec.config
    spec = spec.model_copy(update={"config": config_path})
    try:
        config = load_run_config(config_path)
    except ConfigFileError as exc:
        raise SweepSpecError(str(path), [f"config: {exc}"]) from None
    check_sweep(spec, config, str(path))
    return spec, config


def check_sweep(spec: SweepSpec, config: RunConfig, source: str | None = None) -> None:
    """Raise :class:`SweepSpecError` if a field is unknown to (or ignored by) the task, or the
    task cannot run the base config; ``source`` names the file in the message."""
    problems = _field_problems(spec) + _task_problems(spec, config)
    if problems:
        raise SweepSpecError(source or spec.name, problems)


__all__ = ["SWEEPABLE_SETTINGS", "TASKS", "Distribution", "RandomSearch", "SweepSpec",
           "SweepSpecError", "VectorbtOptions", "check_sweep", "load_sweep", "valid_fields"]
