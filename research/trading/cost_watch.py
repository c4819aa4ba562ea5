"""The cost model watching the trading loop: each parent's expected cost predicted when it
arrives, and its realised implementation shortfall compared with that prediction when it
completes (live feeds ``qlab_slippage_vs_model_bps`` and ``qlab_slippage_z`` from it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from research.domain import Algorithm, Side
from research.execution import MarketSnapshot, ParentOrder
from research.trading.sessions import minutes_after_open


class CostWatch:
    """Parameters: ``cost_model`` (fitted ``research.costs.CostModel``), ``symbols`` (the
    loop's universe, in order), ``policy`` (the run config's execution policy), ``log``,
    ``observed(quality, slippage_vs_model_bps)`` (called once per completed parent)."""

    def __init__(self, cost_model: Any, symbols: tuple[str, ...], policy: Any, log: Any,
                 observed: Callable[[Any, float], None]):
        self.cost_model = cost_model
        self.symbols = symbols
        self.policy = policy
        self.log = log
        self.observed = observed
        self._index = {s: i for i, s in enumerate(symbols)}
        self._state = self._cost_inputs(cost_model)
        self.predicted: dict[str, tuple[float, float]] = {}  # parent -> (bps, std bps)
        self.pending: set[str] = set()  # predicted, not yet completed

    def reload(self) -> None:
        """Read the model's per-symbol state again (after ``CostModel.refresh_state``)."""
        self._state = self._cost_inputs(self.cost_model)

    def _cost_inputs(self, model: Any) -> dict[str, np.ndarray]:
        """Per-symbol (adv, daily vol, spread) of the fitted model, in universe order; a
        symbol the model never saw is NaN, so a prediction for it raises naming it."""
        def col(series: Any) -> np.ndarray:
            return series.reindex(list(self.symbols)).to_numpy(float)

        return {"adv": col(model.adv_), "daily_vol": col(model.daily_vol_),
                "spread_bps": col(model.spread_bps_)}

    def predict(self, parents: list[ParentOrder], snap: MarketSnapshot, engine: Any) -> None:
        """Expected cost of ``parents`` at their arrival (the model's array fast path); kept
        until each completes. Runs after the bar's orders were handed to the broker."""
        from research.costs import ALGORITHM_CODES

        rows = np.array([self._index[p.symbol] for p in parents], dtype=np.int64)
        arrival = np.array([engine.parents[p.parent_id].arrival_price for p in parents])
        st = self._state
        minute = max(0.0, minutes_after_open(snap.timestamp))
        # the quote at arrival, rescaled to a session average (the model's spread unit),
        # is fresher than the fitted spread; the fitted one covers a missing quote
        bid, ask = snap.bid[rows], snap.ask[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            quoted = (ask - bid) / (0.5 * (ask + bid)) * 1e4 / float(
                self.cost_model.spread_profile_.at(minute))
        spread = np.where(np.isfinite(quoted) & (quoted >= 0), quoted, st["spread_bps"][rows])
        adv, vol = st["adv"][rows], st["daily_vol"][rows]
        known = np.isfinite(spread) & np.isfinite(adv) & (adv > 0) & np.isfinite(vol) & np.isfinite(
            arrival) & (arrival > 0)
        if not known.all():
            self.log.warning("cost_prediction_unavailable", reason="no spread, adv, volatility "
                             "or arrival price for the symbol in the fitted model or the quote",
                             parents=[p.parent_id for p, k in zip(parents, known, strict=True)
                                      if not k])
        if not known.any():
            return
        parents = [p for p, k in zip(parents, known, strict=True) if k]
        n = len(parents)
        ex = self.policy
        est = self.cost_model.predict({
            "quantity": np.array([p.quantity for p in parents], dtype=float),
            "price": arrival[known], "adv": adv[known], "daily_vol": vol[known],
            "spread_bps": spread[known],
            "algorithm": np.array([ALGORITHM_CODES[p.algorithm.value] for p in parents]),
            "is_sell": np.array([p.side is Side.SELL for p in parents]),
            "start_minute": np.full(n, minute),
            "horizon_minutes": np.full(n, float(ex.horizon_minutes)),
            "limit_offset_bps": np.full(n, float(ex.limit_offset_bps)),
            "fees_on": pd.Timestamp(snap.timestamp).date(),
            "order_ids": [p.parent_id for p in parents],
            "min_child_shares": np.array([p.params.get("min_child_shares", np.nan)
                                          for p in parents], dtype=float),
        })
        for p, bps, std in zip(parents, est.total_bps, est.timing_risk_bps, strict=True):
            self.predicted[p.parent_id] = (float(bps), float(std))
            self.pending.add(p.parent_id)

    def trade_cost_usd(self, trade: np.ndarray, price: np.ndarray, day: Any) -> np.ndarray:
        """Predicted total cost ($) of trading ``trade`` signed shares per universe symbol at
        the open of ``day`` under the policy's algorithm and horizon, at the previous closes
        ``price`` and the fitted spread, ADV and volatility (a decision before the open has no
        quote yet); 0 where nothing trades, NaN where the fitted model lacks an input."""
        from research.costs import ALGORITHM_CODES

        trade = np.asarray(trade, dtype=float)
        st = self._state
        price = np.asarray(price, dtype=float)
        rows = np.flatnonzero((trade != 0) & np.isfinite(price) & (price > 0)
                              & np.isfinite(st["adv"]) & (st["adv"] > 0)
                              & np.isfinite(st["daily_vol"]) & np.isfinite(st["spread_bps"]))
        out = np.where(trade == 0, 0.0, np.nan)
        if rows.size == 0:
            return out
        n, ex = rows.size, self.policy
        est = self.cost_model.predict({
            "quantity": np.abs(trade[rows]), "price": price[rows], "adv": st["adv"][rows],
            "daily_vol": st["daily_vol"][rows], "spread_bps": st["spread_bps"][rows],
            "algorithm": np.full(n, ALGORITHM_CODES[Algorithm(ex.algorithm).value],
                                 dtype=np.int64),
            "is_sell": trade[rows] < 0, "start_minute": np.zeros(n),
            "horizon_minutes": np.full(n, float(ex.horizon_minutes)),
            "limit_offset_bps": np.full(n, float(ex.limit_offset_bps)),
            "fees_on": pd.Timestamp(day).date(),
            "order_ids": [self.symbols[r] for r in rows]})
        out[rows] = est.usd("total_bps")
        return out

    def _prediction(self, parent: ParentOrder, arrival_price: float) -> tuple[float, float]:
        return self.predicted.get(parent.parent_id, (float("nan"), float("nan")))

    def observe_completed(self, engine: Any) -> None:
        """Realised shortfall minus predicted cost of every parent that completed since the
        last call (once each; parents without a prediction, e.g. recovered after a restart,
        are skipped)."""
        done = [pid for pid in self.pending if engine.parents[pid].done]
        if not done:
            return
        from research.execution.quality import execution_quality

        self.pending.difference_update(done)
        for q in execution_quality(engine, self._prediction, parent_ids=sorted(done)):
            if q.filled_quantity == 0 or not np.isfinite(q.shortfall_bps):
                continue
            diff = q.shortfall_bps - q.predicted_cost_bps
            self.observed(q, diff)
            self.log.info("parent_cost", parent_id=q.parent_id, symbol=q.symbol,
                          shortfall_bps=round(q.shortfall_bps, 3),
                          predicted_bps=round(q.predicted_cost_bps, 3),
                          predicted_std_bps=round(q.predicted_std_bps, 3),
                          slippage_vs_model_bps=round(diff, 3), fill_rate=q.fill_rate)
