"""Shared fixtures: small, seeded data only."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def sp500_closes() -> pd.DataFrame:
    from research.data import load_sp500_closes

    return load_sp500_closes()


@pytest.fixture(scope="session")
def small_minute_bars(sp500_closes) -> pd.DataFrame:
    """Five sessions of synthetic minute bars for three symbols (includes quotes)."""
    from research.data import SynthParams, synthesize_minute_bars

    closes = sp500_closes[["AAPL", "JPM", "RRC"]]
    return synthesize_minute_bars(closes, "2022-11-21", "2022-11-28", SynthParams(seed=1))


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory):
    """A migrated MLflow database that tracking tests copy (tests/mlflow_db.py)."""
    from tests.mlflow_db import migrated_db

    return migrated_db(tmp_path_factory.mktemp("mlflow-template"))


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """Run with an empty environment for QLAB_* and a private store/working directory."""
    import os

    for key in list(os.environ):
        if key.startswith("QLAB_") or key.startswith("TIGEROPEN_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QLAB_DATA__STORE_PATH", str(tmp_path / "store"))
    return tmp_path
