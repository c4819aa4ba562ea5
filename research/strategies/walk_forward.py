"""Walk-forward validation of a portfolio strategy's parameters: chosen on past windows only,
evaluated out of sample on the next window, in-sample and out-of-sample reported apart.

Folds over the sessions of ``closes`` (rows): the first test window starts at row
``first_test``; each test window is ``test_sessions`` long and the next starts where it ends.
The training window of a fold ends where its test window starts and begins at row 0
(``"expanding"``) or ``train_sessions`` earlier (``"rolling"``).

In each fold every parameter set of the grid is backtested on the training window, the one
with the best in-sample Sharpe ratio is chosen (ties: grid order), and only that one is run on
the test window. Evaluation is the fast vectorbt path
(:func:`research.analytics.vectorbt_path.backtest_target_weights`: decision on close t, traded
at close t+1, flat costs) — a research approximation, not the replay.

No look-ahead, by construction rather than by trust: a decision on row t is asked of the
strategy with the frame of closes truncated after row t (``closes.iloc[:t+1]``), so neither a
training decision nor an out-of-sample one can read a later close, and the parameter choice
of a fold sees only the backtests of its training window. A fold's deflated Sharpe ratio
(Bailey & Lopez de Prado 2014) deflates the chosen set's in-sample Sharpe ratio by the number
of sets tried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research.analytics.deflated_sharpe import deflated_sharpe_ratio, per_period_sharpe
from research.analytics.metrics import performance_metrics
from research.analytics.vectorbt_path import FlatCosts, backtest_target_weights


@dataclass(frozen=True)
class Fold:
    train: tuple[pd.Timestamp, pd.Timestamp]  # first and last session
    test: tuple[pd.Timestamp, pd.Timestamp]
    chosen: Any  # the parameter set
    in_sample_sharpe: pd.Series  # every set's, annualised, on the training window
    out_of_sample_sharpe: float  # the chosen set's, annualised, on the test window
    deflated_sharpe: float  # of the chosen set's in-sample Sharpe, given the sets tried


@dataclass(frozen=True)
class WalkForwardResult:
    """``folds`` in order; ``out_of_sample_equity``: the test windows chained (each starts
    from the previous one's final value); ``in_sample`` / ``out_of_sample``: metrics of the
    chosen sets, in-sample averaged over folds, out-of-sample on the chained curve."""

    folds: list[Fold]
    out_of_sample_equity: pd.Series
    in_sample: dict[str, float]
    out_of_sample: dict[str, float]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "train_start": f.train[0], "train_end": f.train[1], "test_start": f.test[0],
            "test_end": f.test[1], "chosen": f.chosen,
            "in_sample_sharpe": float(f.in_sample_sharpe.loc[[f.chosen]].iloc[0]),
            "out_of_sample_sharpe": f.out_of_sample_sharpe,
            "deflated_sharpe": f.deflated_sharpe} for f in self.folds])


def _decisions(make_strategy: Callable[[Any], Any], params: Any, closes: pd.DataFrame,
               rows: range, every: int) -> pd.DataFrame:
    """Target weights decided on every ``every``-th row of ``rows`` (NaN elsewhere), each from
    the closes up to and including its row only."""
    out = pd.DataFrame(np.nan, index=closes.index[rows.start:rows.stop], columns=closes.columns)
    strategy = make_strategy(params)
    for t in rows[::every]:
        if t == rows.stop - 1:
            break  # a decision on the window's last close is never traded in it
        past = closes.iloc[: t + 1]
        asof = closes.index[t] + pd.Timedelta(days=1)  # the session after close t
        w = strategy.target_weights(past, asof).reindex(closes.columns).fillna(0.0)
        out.iloc[t - rows.start] = w.to_numpy(float)
    return out


def walk_forward(closes: pd.DataFrame, make_strategy: Callable[[Any], Any], grid: Sequence[Any],
                 *, first_test: int, test_sessions: int, train_sessions: int | None = None,
                 scheme: str = "expanding", rebalance_every: int = 21,
                 costs: FlatCosts = FlatCosts(), initial_cash: float = 1_000_000.0
                 ) -> WalkForwardResult:
    """Walk-forward of ``make_strategy(params)`` over ``grid`` (see the module docstring).

    ``grid`` items are the parameter sets (hashable: they label results). Training windows
    must hold at least two decisions' worth of sessions; a strategy that cannot decide early
    in a window (too little history) should raise, which is reported with the fold."""
    if scheme not in ("expanding", "rolling"):
        raise ValueError(f"walk-forward: scheme must be 'expanding' or 'rolling', got {scheme!r}")
    if scheme == "rolling" and (train_sessions is None or train_sessions < 2):
        raise ValueError("walk-forward: a rolling scheme needs train_sessions >= 2")
    if len(grid) == 0:
        raise ValueError("walk-forward: the parameter grid is empty")
    if len(set(grid)) != len(grid):
        raise ValueError("walk-forward: the parameter grid has duplicates")
    if not 2 <= first_test < len(closes) or test_sessions < 2 or rebalance_every < 1:
        raise ValueError(f"walk-forward: need 2 <= first_test < {len(closes)} sessions, "
                         f"test_sessions >= 2 and rebalance_every >= 1")
    folds, pieces, in_sample = [], [], []
    value = initial_cash
    for test_start in range(first_test, len(closes) - 1, test_sessions):
        test_end = min(test_start + test_sessions, len(closes))
        train_start = 0 if scheme == "expanding" else max(0, test_start - train_sessions)
        train = range(train_start, test_start)
        window = closes.iloc[train_start:test_start]
        try:
            decided = {p: _decisions(make_strategy, p, closes, train, rebalance_every)
                       for p in grid}
        except ValueError as exc:
            raise ValueError(f"walk-forward fold training {closes.index[train_start]:%Y-%m-%d}"
                             f"..{closes.index[test_start - 1]:%Y-%m-%d}: {exc}") from None
        fitted = backtest_target_weights(window, dict(enumerate(decided.values())), costs,
                                         initial_cash)
        sharpe = pd.Series(fitted.metrics["sharpe"].to_numpy(float), index=list(grid))
        best = int(np.nanargmax(sharpe.to_numpy())) if sharpe.notna().any() else 0
        chosen = list(grid)[best]
        returns = fitted.equity.iloc[:, best].pct_change().iloc[1:].to_numpy()
        trial = [per_period_sharpe(fitted.equity.iloc[:, k].pct_change().iloc[1:])
                 for k in range(len(grid))]
        finite = [s for s in trial if np.isfinite(s)]
        dsr = (deflated_sharpe_ratio(returns, finite) if len(finite) >= 2
               and np.std(returns) > 0 else float("nan"))
        test = range(test_start, test_end)
        # the test window's backtest starts from the previous close: one session of history
        # so the first decision (on that close) trades on the test window's first session
        span = range(test_start - 1, test_end)
        oos_decisions = _decisions(make_strategy, chosen, closes, span, rebalance_every)
        oos = backtest_target_weights(closes.iloc[span.start:span.stop], {0: oos_decisions},
                                      costs, value)
        curve = oos.equity.iloc[:, 0]
        pieces.append(curve if not pieces else curve.iloc[1:])
        value = float(curve.iloc[-1])
        in_sample.append(fitted.metrics.iloc[best])
        folds.append(Fold((closes.index[train.start], closes.index[train.stop - 1]),
                          (closes.index[test.start], closes.index[test.stop - 1]), chosen,
                          sharpe, float(oos.metrics["sharpe"].iloc[0]), dsr))
    equity = pd.concat(pieces)
    is_frame = pd.DataFrame(in_sample)
    oos_metrics = performance_metrics(equity).as_dict()
    return WalkForwardResult(
        folds, equity,
        {k: float(is_frame[k].mean()) for k in ("sharpe", "cagr", "volatility", "max_drawdown")},
        {k: float(oos_metrics[k]) for k in ("sharpe", "cagr", "volatility", "max_drawdown")})


__all__ = ["Fold", "WalkForwardResult", "walk_forward"]
