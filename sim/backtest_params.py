"""Parameters of the ``backtest`` report (notebooks/backtest.ipynb, ``qlab report backtest``):
a run config's backtest in the simulated world, so they live beside it. research's report
runner knows them through the registration in ``qlab/cli.py`` (research cannot import sim).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BeforeValidator, Field, field_validator, model_validator

from research.domain import Algorithm
from research.reports.params import OptionalDate, ReportParams, empty_to_none, split_commas
from sim.backtest_data import EMBEDDED_DAILY

AlgorithmList = Annotated[list[Algorithm], BeforeValidator(split_commas)]

#: What ``smoke=True`` caps (a CI-sized run that still draws every figure): the universe's
#: first names, and the window from the start: a year of daily sessions, or a week of minutes.
SMOKE_CAPS = {"symbols": 5, "daily_days": 365, "minute_days": 7}


class BacktestReportParams(ReportParams):
    """``backtest``: one run config backtested through the trading loop's replay, its
    tearsheet, and the same config with each execution algorithm swapped in."""

    config: str = Field("configs/inverse_volatility_daily.yaml",
                        description="Run config (YAML) to backtest.")
    bars: Annotated[str | None, BeforeValidator(empty_to_none)] = Field(
        None, description="sp500_daily, a dataset of the store or a bar file; None: the "
                          "config's universe.dataset.")
    frequency: Annotated[Literal["daily", "minute"] | None, BeforeValidator(empty_to_none)] = \
        Field(None, description="Replay frequency; None: the data's own.")
    start: OptionalDate = Field(None, description="First session traded (YYYY-MM-DD); None: "
                                                  "the config's universe.start.")
    end: OptionalDate = Field(None, description="Last session traded (YYYY-MM-DD); None: the "
                                                "config's universe.end, else the data's last.")
    algorithms: AlgorithmList = Field(
        default_factory=lambda: list(Algorithm), min_length=1,
        description="Execution algorithms compared with the config's own (which is always "
                    "run); those that cannot run on the data are skipped with the reason.")
    smoke: bool = Field(False, description="Tiny run for CI: the first names of the universe "
                                           "and about a year (a week on minute bars).")
    seed: Annotated[int | None, BeforeValidator(empty_to_none)] = Field(
        None, description="Run config seed override and the bootstrap interval's seed; None: "
                          "the config's seed.")

    @field_validator("config")
    @classmethod
    def _config_loads(cls, value: str) -> str:
        # a bad config is found before a kernel starts, with every error and its field path
        from research.config import ConfigFileError, load_run_config

        try:
            load_run_config(Path(value))
        except ConfigFileError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        from research.config import parse_iso_date

        return None if value is None else parse_iso_date(value).isoformat()

    @model_validator(mode="after")
    def _window_ordered(self) -> BacktestReportParams:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    def run_config(self) -> Any:
        """The run config as the report trades it: the seed override, and under ``smoke`` the
        universe cut to its first names (the embedded daily closes' when it names none)."""
        from research.config import load_run_config

        config = load_run_config(Path(self.config))
        if self.seed is not None:
            config = config.model_copy(update={"seed": self.seed})
        if not self.smoke:
            return config
        symbols = list(config.universe.symbols)
        if not symbols and (self.bars or config.universe.dataset) == EMBEDDED_DAILY:
            from research.data import load_sp500_closes

            symbols = list(load_sp500_closes().columns)
        if symbols:
            universe = config.universe.model_copy(
                update={"symbols": symbols[:SMOKE_CAPS["symbols"]]})
            config = config.model_copy(update={"universe": universe})
        return config

    def window(self, config: Any) -> tuple[str | None, str | None]:
        """(start, end) traded: the given dates, else the config's; ``smoke`` ends the window
        a year after its start on daily data (a week where the bars may be minutes)."""
        start = self.start or config.universe.start
        end = self.end or config.universe.end
        if self.smoke and start is not None:
            # a year of daily sessions where the replay is surely daily; anything that may be
            # minute bars gets a week (a daily dataset of the store then trades a week)
            daily = self.frequency == "daily" or (self.frequency is None and (
                self.bars or config.universe.dataset) == EMBEDDED_DAILY)
            days = SMOKE_CAPS["daily_days" if daily else "minute_days"]
            last = (pd.Timestamp(start) + pd.Timedelta(days=days)).date().isoformat()
            end = last if end is None else min(end, last)
        return start, end

    def bootstrap_seed(self, config: Any) -> int:
        return int(self.seed if self.seed is not None else config.seed)
