"""Parameters of the ``risk_limits`` report (notebooks/risk_limits.ipynb): a run config replayed
with and without its limits over daily bars (:mod:`sim.risk_limits_study`). research's report
runner knows them through the registration in ``qlab/cli.py`` (research cannot import sim).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from research.reports.params import (
    OptionalIsoDate,
    ReportParams,
    RunConfigPath,
    StrList,
    empty_to_none,
)

#: What ``smoke=True`` runs: these names of the config's universe (all of them if it has
#: fewer) over two years that include the 2020 crash, so that every figure has data.
SMOKE_SYMBOLS = ("JPM", "BAC", "KO", "PEP", "PG", "WMT", "JNJ", "XOM", "AAPL", "MSFT")
SMOKE_START, SMOKE_END = "2019-07-01", "2021-06-30"


class RiskLimitsParams(ReportParams):
    """``risk_limits``: how a run config's risk limits behave in a daily replay and what they
    cost (the same config with every threshold wide, paired by session)."""

    config: RunConfigPath = Field("configs/risk_limits_daily.yaml", description="Run config (YAML).")
    bars: Annotated[str | None, BeforeValidator(empty_to_none)] = Field(
        None, description="Daily bars (dataset or file); None: the config's universe.dataset.")
    start: OptionalIsoDate = Field(None, description="First session; None: the config's.")
    end: OptionalIsoDate = Field(None, description="Last session; None: the config's.")
    smoke: bool = Field(False, description="CI-sized run: a few names over two years.")
    smoke_symbols: StrList = Field(default_factory=lambda: list(SMOKE_SYMBOLS), min_length=2,
                                   description="Names of the smoke run.")
    n_boot: int = Field(1000, ge=100, description="Bootstrap resamples of the paired cost.")
    block_length: float = Field(21.0, ge=1, description="Mean block of the stationary "
                                                          "bootstrap, sessions.")
    es_sims: int = Field(5000, ge=100, description="Null simulations of the ES test.")
    es_df: Annotated[float | None, BeforeValidator(empty_to_none)] = Field(
        5.0, description="Student-t degrees of freedom of the ES test's null; None: Gaussian.")
    risk_parity: bool = Field(True, description="Also replay the risk-parity strategy under "
                                                "the same limits (a third replay).")
    alert_cooldown_days: float = Field(5.0, ge=0, description="Alert cool-down, calendar days.")
    seed: int = Field(0, description="Seed of the bootstrap and the ES simulations.")
    n_jobs: int = Field(2, ge=1, le=2, description="Processes: the two replays side by side.")

    @field_validator("es_df")
    @classmethod
    def _finite_variance(cls, value: float | None) -> float | None:
        if value is not None and not value > 2:
            raise ValueError(f"es_df must be above 2 (a finite variance) or None, got {value}")
        return value

    @model_validator(mode="after")
    def _window_ordered(self) -> RiskLimitsParams:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    def run_config(self) -> Any:
        """The run config to replay: the file's, cut to the smoke names and window when
        ``smoke``."""
        from research.config import load_run_config

        config = load_run_config(self.config)
        if not self.smoke:
            return config
        names = [s for s in config.universe.symbols if s in self.smoke_symbols] or \
            list(self.smoke_symbols)
        universe = config.universe.model_copy(update={
            "symbols": names, "start": SMOKE_START, "end": SMOKE_END})
        return config.model_copy(update={"universe": universe})

    def window(self) -> tuple[str | None, str | None]:
        """(start, end) given here; None leaves the config's (the smoke window in smoke)."""
        if self.smoke:
            return self.start or SMOKE_START, self.end or SMOKE_END
        return self.start, self.end
