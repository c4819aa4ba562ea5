"""``qlab``: the command line over research (data, config, costs, risk, report) and sim (tca).

Each area's CLI module imports only typer at module level, so ``qlab --help`` stays fast.
"""

from __future__ import annotations

from research.cli import app


def _mount_simulation() -> None:
    try:
        from sim.cli import tca_app
    except ImportError:  # the study is optional until sim/cli.py lands
        return
    app.add_typer(tca_app, name="tca")


_mount_simulation()

__all__ = ["app"]
