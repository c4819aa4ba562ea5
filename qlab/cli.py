"""``qlab``: the command line over research (data, config, costs, risk, report) and sim (tca).

Each area's CLI module imports only typer at module level, so ``qlab --help`` stays fast.
"""

from __future__ import annotations

from research.cli import app


def _mount_simulation() -> None:
    from sim.cli import tca_app

    app.add_typer(tca_app, name="tca")


_mount_simulation()

__all__ = ["app"]


def _mount_live() -> None:
    from live.cli import mount

    mount(app)  # validate-run, promote, live


_mount_live()
