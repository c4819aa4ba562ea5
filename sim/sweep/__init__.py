"""Parameter sweeps: a base run config and a grid or seeded random search over its fields, each
point run as a backtest (the daily replay) or on the vectorbt research path, on joblib (one
machine) or Dask distributed (a cluster), tracked in MLflow (a parent run, one child per point,
resumable by config hash) and summarised as a table and an HTML view.

Modules, one job each: :mod:`.spec` (the YAML model and its validation), :mod:`.points`
(grid / random expansion, applying a point to the config and settings, config hashing),
:mod:`.tasks` (what a worker runs), :mod:`.executors` (joblib / Dask), :mod:`.tracking`
(MLflow parent and children, resume), :mod:`.progress`, :mod:`.results` (table, deflated
Sharpe, HTML), :mod:`.runner` (the sweep end to end) and :mod:`.cli` (``qlab sweep``).
"""
