"""The backtest report (``notebooks/backtest.ipynb``, ``qlab report backtest``): pure functions
from a :class:`sim.backtest.BacktestResult` and a benchmark series to the tearsheet's tables
(:mod:`.tables`), the execution algorithms compared at the portfolio level, paired by
rebalance (:mod:`.algorithms`), plotly figures of both (:mod:`.figures`) and a verdict written
from the numbers (:mod:`.verdict`). Nothing here runs a backtest except
:func:`.algorithms.run_algorithms`, which calls the runner it is given."""
