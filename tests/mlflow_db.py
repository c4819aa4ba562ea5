"""A real MLflow on a temporary SQLite file, for the tests that track runs: the database is
created (migrated) once per module and copied for each test (migrations take seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

from research.config import load_settings


def migrated_db(folder: Path) -> Path:
    """A fresh MLflow database in ``folder``, migrated by one empty run."""
    from research.tracking import tracked_run

    settings = load_settings(None, tracking={"mlflow_tracking_uri": f"sqlite:///{folder}/m.db"})
    with tracked_run("warm-up", settings=settings):
        pass
    return folder / "m.db"


def settings_on_copy(template: Path, folder: Path, experiment: str):
    """Settings tracking into a copy of ``template`` under ``folder``, in ``experiment``."""
    db = folder / "tracking" / "m.db"
    db.parent.mkdir()
    shutil.copy(template, db)
    return load_settings(None, tracking={"mlflow_tracking_uri": f"sqlite:///{db}",
                                         "experiment": experiment})
