"""Workload W1 through three engines, side by side in one run (issue #13, Performance): the
full replay, the vectorbt fast path and backtrader.

W1: the 20 embedded S&P 500 stocks (real closes 1990-2022), inverse-volatility targets (63
daily log returns, ddof=1), rebalanced every 21 sessions, 5 bps slippage and 5 bps fees, $1M.
All three engines take the same decisions on the same sessions: weights from the closes before
the rebalance session D, traded at D's close. The first rebalance is session 85 (1990-05-03),
then every 21 sessions (``strategy.rebalance_every_sessions: 21`` from ``universe.start``):
RRC's close does not move before session 69, so an earlier decision would have a symbol of
zero volatility (1/0 is not a weight). So 8,228 sessions are traded, 8,229 marked.

The engines, and what each one's "5 bps slippage" is:

* **replay** (:func:`sim.backtest.run_daily_backtest`): the trading loop, the execution engine
  with the risk manager's pre-trade checks, the simulated broker, on the daily layout (an
  opening-auction bar and a session bar per session). The execution algorithm is ``market``:
  sent at D's open bar, filled on D's session bar at the close -/+ the half spread. Slippage =
  a 5 bps half spread (``data.synth_spread_bps`` = 10, the full spread); the simulated market's
  impact is off (``impact_y`` 1e-12, the smallest positive value; ``permanent_impact`` 0); fees
  ``flat_bps`` at 5 bps. The risk limits are wide so that they never bind (position, sector 100%,
  gross/net 2x, VaR budget and daily loss 100%, correlation 1) — they are still checked on every
  child; the engine's child cap, rate limit and price breakers are widened too (a $1M book grows
  to tens of millions over 33 years; a 10% day-band breaker would pause symbols on crash days).
  Sizing: whole shares of the weights at NAV and the previous close (the decision).
* **vectorbt** (:func:`sim.backtest_vectorbt.run_vectorbt_backtest`, the ``--engine vectorbt``
  path on the same config; and :func:`research.analytics.inverse_volatility_grid`, the
  vectorised W1 of ``benchmarks/bench_vectorbt.py``): 5 bps slippage on the price, 5 bps fees;
  fractional shares sized at D's close (``targetpercent``). Warm: best of 3 after a first call.
* **backtrader** (1.9.78): cheat-on-close (``set_coc(True)``): an order placed in ``next()``
  on D executes at D's close; whole shares, truncated, sized at that close from the broker's
  value (``order_target_percent``'s rule, written out to leave the buffer below out) and sent
  with ``order_target_size``, sells before buys; ``set_slippage_perc(5 bps,
  slip_out=True)`` (the feeds carry only closes, so the slipped price lies outside the bar's
  range; slip_out lets it), 5 bps commission (percentage); a cash buffer (:data:`CASH_BUFFER`)
  so that the last buy of a rebalance is not refused for the few dollars of costs the weights
  leave no room for. Weights are computed in the strategy from its own close lines.

Differences in the final equities come from sizing (whole vs fractional shares, previous close
vs traded close: the replay can be a little over- or under-invested between rebalances) and
from how costs enter (a half spread on the fill price vs a slipped price): expected within a
fraction of a percent a year. Times are wall clock on a shared 2-core machine, printed, never
asserted: the replay cold (first call: imports, numba's cache, the exchange calendar) and warm
(best of 2 after it, as vectorbt's best of 3 after a first call), backtrader once. A last,
instrumented replay splits the loop's time between sessions with work (a decision or a working
order) and the others. Run: ``python benchmarks/bench_backtest_w1.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine  # noqa: E402

from research.analytics import FlatCosts, InverseVolatilityParams, inverse_volatility_grid  # noqa: E402
from research.analytics.metrics import performance_metrics  # noqa: E402
from research.config import LIMITS_OFF, RunConfig, Settings  # noqa: E402
from research.data import load_sp500_closes, load_sp500_index  # noqa: E402

LOOKBACK, EVERY, FIRST_ROW = 63, 21, 85
CAPITAL = 1_000_000.0
BPS = 5.0
#: backtrader refuses (Margin) a buy its cash cannot pay for, costs included; weights summing to
#: 1 leave no room for the costs, so the last buy of each rebalance would be refused. The
#: broker gets this much more cash, left out of every value the strategy sizes on or reports
#: (the replay's broker lets cash dip below 0 by those costs too).
CASH_BUFFER = 1_000_000.0


def w1_config(closes: pd.DataFrame) -> RunConfig:
    return RunConfig(
        name="w1", universe={"dataset": "sp500_daily", "symbols": list(closes.columns),
                             "start": f"{closes.index[FIRST_ROW]:%Y-%m-%d}"},
        strategy={"kind": "inverse_volatility", "lookback_days": LOOKBACK,
                  "rebalance_every_sessions": EVERY, "capital": CAPITAL},
        execution={"algorithm": "market"}, risk=LIMITS_OFF,
        cost_model={"fee_schedule": "flat_bps"})


def w1_settings() -> Settings:
    s = Settings()
    return s.model_copy(update={
        "data": s.data.model_copy(update={"synth_spread_bps": 2 * BPS}),
        "costs": s.costs.model_copy(update={"flat_fee_bps": BPS}),
        "simulation": s.simulation.model_copy(update={"impact_y": 1e-12,
                                                      "permanent_impact": 0.0}),
        "execution": s.execution.model_copy(update={
            "max_order_notional": 1e12, "max_orders_per_second": 1e6, "order_burst": 10_000,
            "breaker_day_band_pct": 10.0, "breaker_price_move_pct": 10.0})})


def run_backtrader(closes: pd.DataFrame) -> tuple[pd.Series, int]:
    """W1 in backtrader (see the module); returns the equity at each close and the number of
    orders it did not complete."""
    import backtrader as bt

    rebalance_rows = set(range(FIRST_ROW, len(closes), EVERY))

    class InverseVolatilityW1(bt.Strategy):
        def __init__(self):
            self.values, self.not_done = [], 0

        def notify_order(self, order):
            if order.status in (order.Margin, order.Rejected, order.Canceled):
                self.not_done += 1

        def next(self):
            row = len(self) - 1
            if row in rebalance_rows:
                # closes D-64..D-1: the decision reads only sessions before D
                window = np.array([d.close.get(ago=-1, size=LOOKBACK + 1) for d in self.datas])
                vol = np.diff(np.log(window), axis=1).std(axis=1, ddof=1)
                weights = (1 / vol) / (1 / vol).sum()
                value = self.broker.getvalue() - CASH_BUFFER
                price = np.array([d.close[0] for d in self.datas])
                held = np.array([self.getposition(d).size for d in self.datas])
                # order_target_percent's sizing (whole shares, truncated, at the close the
                # order executes at) on the book without the buffer
                target = np.trunc(weights * value / price)
                for j in np.argsort((target - held) * price):  # sells (most negative) first
                    self.order_target_size(self.datas[j], target=int(target[j]))
            self.values.append(self.broker.getvalue() - CASH_BUFFER)

    cerebro = bt.Cerebro(stdstats=False)
    for symbol in closes.columns:
        c = closes[symbol]
        frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": 1e12})
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=symbol)
    cerebro.addstrategy(InverseVolatilityW1)
    cerebro.broker.setcash(CAPITAL + CASH_BUFFER)
    cerebro.broker.set_coc(True)
    cerebro.broker.set_slippage_perc(BPS * 1e-4, slip_open=True, slip_match=True,
                                     slip_out=True)
    cerebro.broker.setcommission(commission=BPS * 1e-4)
    strategy = cerebro.run(preload=True, runonce=True)[0]
    equity = pd.Series(strategy.values, index=closes.index[-len(strategy.values):])
    return equity, strategy.not_done


def replay_split(full_replay) -> tuple[float, float, int, int]:
    """(seconds, bars) of the trading loop on sessions with work — a decision, or a parent still
    working — and on the others, from one run with each bar timed."""
    from research.trading.loop import TradingLoop

    on_bar = TradingLoop.on_bar
    spent = {True: [0.0, 0], False: [0.0, 0]}

    def timed(loop, snap):
        day = loop._session_day(snap.timestamp)
        busy = bool(loop._open_parents) or bool(loop._rebalance_days.get(day))
        t = time.perf_counter()
        on_bar(loop, snap)
        spent_now = time.perf_counter() - t
        cell = spent[busy or bool(loop._open_parents)]
        cell[0] += spent_now
        cell[1] += 1

    TradingLoop.on_bar = timed
    try:
        full_replay()
    finally:
        TradingLoop.on_bar = on_bar
    return spent[True][0], spent[False][0], spent[True][1], spent[False][1]


def main() -> None:
    from sim.backtest import run_daily_backtest
    from sim.backtest_vectorbt import run_vectorbt_backtest

    print(machine())
    closes = load_sp500_closes()
    index = load_sp500_index()
    cfg, settings = w1_config(closes), w1_settings()
    start = closes.index[FIRST_ROW]
    print(f"W1: {closes.shape[1]} stocks, sessions {start:%Y-%m-%d}..{closes.index[-1]:%Y-%m-%d}"
          f" traded ({len(closes) - FIRST_ROW:,d}), inverse volatility {LOOKBACK}, every "
          f"{EVERY} sessions, {BPS:g} bps slippage + {BPS:g} bps fees, ${CAPITAL:,.0f}")

    def full_replay():
        return run_daily_backtest(cfg, settings, closes, start=start, benchmark=index,
                                  data="embedded real daily closes")

    t = time.perf_counter()
    replay = full_replay()
    replay_cold_s = time.perf_counter() - t
    # warm, as vectorbt's is measured: imports, numba's cache and the exchange calendar loaded
    warm = []
    for _ in range(2):
        t = time.perf_counter()
        replay = full_replay()
        warm.append(time.perf_counter() - t)
    replay_s = min(warm)
    busy_s, idle_s, busy_bars, idle_bars = replay_split(full_replay)

    costs = FlatCosts(slippage_bps=BPS, fee_bps=BPS)

    def fast():
        return run_vectorbt_backtest(cfg, settings, closes, start=start, costs=costs,
                                     benchmark=index)

    def grid():
        return inverse_volatility_grid(closes, [InverseVolatilityParams(LOOKBACK, EVERY)],
                                       costs, CAPITAL, zero_volatility="exclude")

    fast(), grid()  # first calls: imports, numba loads
    best = {}
    for name, fn in (("fast", fast), ("grid", grid)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        best[name] = (min(times), out)
    fast_s, vbt_result = best["fast"]
    grid_s, _ = best["grid"]

    t = time.perf_counter()
    bt_equity, bt_not_done = run_backtrader(closes)
    bt_s = time.perf_counter() - t
    bt_equity = bt_equity.loc[closes.index[FIRST_ROW - 1]:]
    bt_metrics = performance_metrics(bt_equity)

    rows = [("replay (loop, engine, risk checks, simulated broker), cold", replay_cold_s,
             replay.metrics.final_equity, replay.metrics.cagr),
            ("replay, warm (best of 2)", replay_s, replay.metrics.final_equity,
             replay.metrics.cagr),
            ("vectorbt, --engine vectorbt path (decisions + run), warm", fast_s,
             vbt_result.metrics.final_equity, vbt_result.metrics.cagr),
            ("vectorbt, vectorised W1 (inverse_volatility_grid, 1 set), warm", grid_s,
             float("nan"), float("nan")),
            ("backtrader (cheat-on-close)", bt_s, bt_metrics.final_equity, bt_metrics.cagr)]
    print(f"{'engine':64s} {'seconds':>8s} {'final equity':>14s} {'CAGR':>8s}")
    for name, seconds, final, cagr in rows:
        money = f"${final:,.0f}" if np.isfinite(final) else "(from session 64)"
        rate = f"{cagr:.3%}" if np.isfinite(cagr) else ""
        print(f"{name:64s} {seconds:8.2f} {money:>14s} {rate:>8s}")
    sessions = replay.meta["bars"]["sessions"]
    print(f"replay: {replay_s / sessions * 1e3:.2f} ms a session, {len(replay.trades):,d} fills,"
          f" {len(replay.risk_events)} risk trims/rejects (limits wide: none expected), "
          f"costs ${replay.costs_dollars['total']:,.0f} "
          f"({replay.costs_bps()['total']:.2f} bps of traded)")
    print(f"replay's loop (an instrumented run): {busy_s:.2f} s on the {busy_bars:,d} bars of "
          f"sessions with a decision or a working order ({busy_s / busy_bars * 1e6:.0f} us a "
          f"bar), {idle_s:.2f} s on the {idle_bars:,d} bars of the others "
          f"({idle_s / idle_bars * 1e6:.0f} us a bar: the risk refit, limit usage, marks, "
          "breakers); the rest is building the daily market and measuring the result")
    print(f"backtrader: {bt_not_done} order(s) not completed")
    print(f"ratios (warm): replay / vectorbt = {replay_s / grid_s:.1f}x (vectorised W1; target "
          f"<= 3x), {replay_s / fast_s:.1f}x (config path); backtrader / replay = "
          f"{bt_s / replay_s:.2f}x (target >= 10x; {bt_s / replay_cold_s:.2f}x cold)")
    gap = {k: v / replay.metrics.final_equity - 1 for k, v in (
        ("vectorbt", vbt_result.metrics.final_equity), ("backtrader", bt_metrics.final_equity))}
    print(f"final equity against the replay's: vectorbt {gap['vectorbt']:+.2%}, backtrader "
          f"{gap['backtrader']:+.2%} over 33 years (sizing: whole shares at the previous close "
          "in the replay, fractional at the traded close in vectorbt, whole truncated at the "
          "traded close in backtrader; see the module)")


if __name__ == "__main__":
    main()
