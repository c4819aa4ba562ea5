"""Small sweep files for the sweep tests: a 4-name inverse-volatility config, one year of the
embedded daily closes."""

from __future__ import annotations

from pathlib import Path

import yaml

BASE_CONFIG = {
    "name": "sweep-test", "seed": 0,
    "universe": {"dataset": "sp500_daily", "symbols": ["AAPL", "MSFT", "JPM", "XOM"],
                 "start": "2021-01-04", "end": "2021-12-31"},
    "strategy": {"kind": "inverse_volatility", "rebalance": "monthly", "lookback_days": 63,
                 "capital": 10_000_000.0},
    "execution": {"algorithm": "twap"},
    "risk": {"max_position_weight": 0.3, "max_sector_weight": 0.5,
             "max_pairwise_correlation": 0.95},
}


def write_sweep(folder: Path, **fields) -> Path:
    """A sweep file (and its base config) in ``folder``; ``fields`` override the sweep's."""
    (folder / "base.yaml").write_text(yaml.safe_dump(BASE_CONFIG), encoding="utf-8")
    sweep = {"name": "small", "config": "base.yaml", "task": "backtest", "bars": "sp500_daily",
             "start": "2021-01-04", "end": "2021-12-31",
             "grid": {"strategy.lookback_days": [21, 63],
                      "settings.simulation.impact_y": [0.5, 2.0]}}
    sweep.update(fields)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path
