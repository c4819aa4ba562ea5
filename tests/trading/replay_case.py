"""A short replay of a ten-name book on seeded synthetic minute bars, shared by the paired
tests of the trading package (the same bars and cost model for both arms of a comparison)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from research.config import RunConfig, Settings
from tests import short_replay

SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "PG", "KO", "WMT", "HD", "UNH"]
START = pd.Timestamp("2022-03-01")


def replay_inputs(sp500_closes: pd.DataFrame, sessions_run: int = 6):
    """(bars of the run, daily closes before it, cost model fitted on the 10 sessions before)."""
    return short_replay.replay_inputs(sp500_closes, SYMBOLS, START, sessions_run)


def small_book_config(name: str, strategy: dict[str, Any], execution: dict[str, Any]
                      ) -> RunConfig:
    """A $300k book (small parents: Tiger's per-order minimums matter) with loose limits: a
    fully invested book's gross and net exposure have room for the fees it pays (at 1x NAV the
    run that pays more fees would be trimmed more, and the runs would not trade the same)."""
    return RunConfig.model_validate({
        "name": name, "universe": {"symbols": SYMBOLS},
        "strategy": {"kind": "inverse_volatility", "capital": 300_000.0, **strategy},
        "execution": execution,
        "risk": {"max_position_weight": 0.2, "max_sector_weight": 0.5,
                 "max_pairwise_correlation": 0.99, "max_gross_exposure": 1.05,
                 "max_net_exposure": 1.05}})


def run_replay(config: RunConfig, inputs) -> Any:
    from sim.driver import ReplayDriver

    bars, closes, model = inputs
    return ReplayDriver(config, Settings(), bars, daily_closes=closes, cost_model=model).run()


def fees_paid(loop: Any) -> float:
    """Dollars of fees the simulated broker charged the run's children."""
    return float(sum(c.fees for c in loop.engine.children.values()))
