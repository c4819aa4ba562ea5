"""Parameters of the ``execution_comparison`` report (notebooks/execution_comparison.ipynb): a
TCA study of the simulated world, so they live beside it. research's report runner knows them
through the registration in ``qlab/cli.py`` (research cannot import sim).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from research.domain import Algorithm
from research.reports.params import (
    FloatList,
    OptionalDate,
    ReportParams,
    empty_to_none,
    split_commas,
)
from sim.response import SPREAD_SOURCES
from sim.tca.order_sets import GENERATORS

#: Spread sources the simulated broker implements (quotes, or one of its own bar estimators when
#: quotes are dropped).
SimSpreadSource = Literal[SPREAD_SOURCES]
StrategyList = Annotated[list[Algorithm], BeforeValidator(split_commas)]

#: The study window used for the embedded synthetic dataset when ``start``/``end`` are None:
#: two weeks, with the six weeks before them as history for the cost and risk models.
EMBEDDED_STUDY_START, EMBEDDED_STUDY_END = "2022-03-01", "2022-03-31"
#: What ``smoke=True`` caps (a CI-sized run that still draws every figure).
SMOKE_CAPS = {"n_orders": 24, "sessions": 5, "sensitivity_n_orders": 10}


class ExecutionComparisonParams(ReportParams):
    """``execution_comparison``: every parent order executed by every strategy on the same
    simulated market path, plus a sensitivity sweep on a subset of orders and strategies."""

    bars: str = Field("sp500_synthetic_minute",
                      description="Bar file (CSV/Parquet in the bar schema) or dataset name.")
    orders: str = Field(
        "synthetic", description="'synthetic', 'rebalance' or a CSV/Parquet parent-order file.")
    n_orders: int = Field(1000, gt=0, description="Parent orders of the synthetic generator.")
    strategies: StrategyList = Field(
        default_factory=lambda: [a.value for a in Algorithm], min_length=1,
        description="Execution strategies to compare; market is always the baseline.")
    start: OptionalDate = Field(
        None, description="First study session (YYYY-MM-DD). None: 2022-03-01 on the embedded "
                          "dataset, else the session after 21 sessions of history.")
    end: OptionalDate = Field(
        None, description="Last study session (YYYY-MM-DD), inclusive. None: 2022-03-31 on "
                          "the embedded dataset, else the bars' last session.")
    seed: int = Field(0, description="Seed of order generation and the simulated market.")
    strategy_under_test: Annotated[Algorithm | None, BeforeValidator(empty_to_none)] = Field(
        None, description="The one strategy the 15-18% claim is tested on, named before the "
                          "run. None: every alternative, with intervals adjusted for the "
                          "comparisons (Bonferroni).")
    n_jobs: int = Field(2, ge=1, description="Strategies run in parallel processes.")
    sensitivity_n_orders: int = Field(
        300, gt=0, description="Orders (a seeded subset of the study's) rerun in each "
                               "sensitivity cell.")
    sensitivity_strategies: StrategyList = Field(
        default_factory=lambda: ["market", "limit", "twap"], min_length=1,
        description="Strategies rerun in each sensitivity cell (market is always included).")
    impact_y_grid: FloatList = Field(
        default_factory=lambda: [0.5, 0.75, 1.0], min_length=1,
        description="Simulated-market impact coefficients Y of the sensitivity table.")
    limit_fill_rules: Annotated[list[Literal["touch", "through"]],
                                BeforeValidator(split_commas)] = Field(
        default_factory=lambda: ["touch", "through"], min_length=1,
        description="Limit-fill rules of the sensitivity table.")
    participation_caps: FloatList = Field(
        default_factory=lambda: [0.05, 0.10, 0.20], min_length=1,
        description="Participation caps (fraction of bar volume) of the sensitivity table.")
    spread_sources: Annotated[list[SimSpreadSource], BeforeValidator(split_commas)] = Field(
        default_factory=lambda: list(SPREAD_SOURCES),
        min_length=1,
        description="Spread sources of the sensitivity table: quotes and the simulated "
                    "broker's bar estimators.")
    smoke: bool = Field(False, description="Tiny run for CI: caps orders, sessions and the "
                                           "sensitivity subset.")

    @field_validator("strategy_under_test")
    @classmethod
    def _not_the_baseline(cls, value: str | None) -> str | None:
        if value == "market":
            raise ValueError("market orders are the baseline; name an alternative to test")
        return value

    @field_validator("start", "end")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        from research.config import parse_iso_date

        return None if value is None else parse_iso_date(value).isoformat()

    @field_validator("bars")
    @classmethod
    def _bars_file_exists(cls, value: str) -> str:
        # A dataset name is resolved by the study; a file must be there before a kernel starts.
        from research.data import check_readable_file, looks_like_file

        if looks_like_file(value):
            try:
                check_readable_file(Path(value), "bar file (CSV or Parquet)")
            except FileNotFoundError as exc:  # pydantic reports ValueErrors only
                raise ValueError(str(exc)) from None
        return value

    @field_validator("orders")
    @classmethod
    def _orders_generator_or_file(cls, value: str) -> str:
        from research.data import check_readable_file

        if value not in GENERATORS:
            try:
                check_readable_file(Path(value), "parent-order file (CSV or Parquet)")
            except FileNotFoundError as exc:
                raise ValueError(f"{exc}; or one of the generators "
                                 f"{', '.join(GENERATORS)}") from None
        return value

    @model_validator(mode="after")
    def _window_ordered(self) -> ExecutionComparisonParams:
        if self.start is not None and self.end is not None:
            if self.start > self.end:
                raise ValueError(f"start {self.start} is after end {self.end}")
            from research.data.calendar import sessions

            if len(sessions(self.start, self.end)) == 0:
                raise ValueError(f"start {self.start} .. end {self.end} contains no trading "
                                 "session")
        return self

    @field_validator("impact_y_grid")
    @classmethod
    def _positive_impact(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not v > 0]
        if bad:
            raise ValueError(f"impact coefficients must be positive, got {bad}")
        return values

    @field_validator("participation_caps")
    @classmethod
    def _fraction_caps(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not 0 < v <= 1]
        if bad:
            raise ValueError(f"participation caps are fractions of bar volume in (0, 1], "
                             f"got {bad}")
        return values

    def study_window(self, embedded_dataset: str) -> tuple[str | None, str | None]:
        """(start, end) of the study: the given dates, else March 2022 (23 sessions) on
        the embedded dataset (``None`` elsewhere: the study module picks the window); ``smoke``
        ends it after at most SMOKE_CAPS["sessions"] weekdays."""
        start, end = self.start, self.end
        if self.bars == embedded_dataset:
            start = start or EMBEDDED_STUDY_START
            end = end or EMBEDDED_STUDY_END
        if self.smoke and start is not None:
            import numpy as np

            last = str(np.busday_offset(start, SMOKE_CAPS["sessions"] - 1, roll="forward"))
            end = last if end is None else min(end, last)
        return start, end

    def effective(self) -> ExecutionComparisonParams:
        """These parameters with the ``smoke`` caps applied (unchanged when smoke is False)."""
        if not self.smoke:
            return self
        return self.model_copy(update={
            "n_orders": min(self.n_orders, SMOKE_CAPS["n_orders"]),
            "sensitivity_n_orders": min(self.sensitivity_n_orders,
                                        SMOKE_CAPS["sensitivity_n_orders"]),
            "sensitivity_strategies": [s for s in self.sensitivity_strategies
                                       if s in ("market", "twap")] or ["market"],
        })
