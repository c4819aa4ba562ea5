"""What the `qlab backtest` CLI tests share: a run config written to a folder, and the command
invoked in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner


def write_run_config(folder: Path, name: str, universe: dict[str, Any],
                     **sections: Any) -> Path:
    """``folder``/run.yaml: an equal-weight weekly book of $1M within 40% position and 60%
    sector limits, with ``universe`` and any other ``sections`` (execution, ...)."""
    cfg = {"name": name, "universe": universe,
           "strategy": {"kind": "equal_weight", "rebalance": "weekly", "capital": 1e6},
           **sections, "risk": {"max_position_weight": 0.4, "max_sector_weight": 0.6}}
    path = Path(folder) / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def invoke_backtest(args: list[str]):
    from qlab.cli import app

    return CliRunner().invoke(app, ["backtest", *args])
