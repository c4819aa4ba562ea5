"""Throughput of the execution engine driving the simulated broker.

A child-order bar-step is one open child order considered on one bar by the simulated broker
(its fill loop is vectorised over open orders). Scenarios:

* resting limits: many passive limit children that fill slowly (the fill loop dominates);
* TWAP: market children every bar for every parent (reports, journal and algorithms dominate);
* study (issue 6): 1,000 parent orders executed by each of 6 strategies (market, limit, twap,
  vwap, pov, is), one engine + broker run per strategy, sequentially, over one month of
  synthetic minute bars (2022-03, 20 symbols, from the embedded S&P 500 closes) — the workload
  of ``qlab tca compare``. Horizons 15-120 minutes, decision times spread over the sessions,
  sizes log-normal in % of the previous session's volume.

Each scenario runs 3 times after a warm-up; wall time (time.perf_counter) and CPU time of this
process (time.process_time) are both reported: the machine is shared, and the gap between them
is I/O wait (journal commits) or time the scheduler gave to others. The journal runs with
synchronous=NORMAL (WAL) as in backtests. Order-rate and notional limits are lifted so that the
figure measures the engine, not Tiger's throttle. Run: ``python benchmarks/bench_engine.py``
(``--quick`` skips the study).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from research.config import ExecutionSettings
from research.domain import Algorithm, Side
from research.execution import ExecutionEngine, Journal, ParentOrder
from sim import BarReplay, SimulatedBroker, run_replay

NY = ZoneInfo("America/New_York")
SETTINGS = ExecutionSettings(max_orders_per_second=1e6, order_burst=1_000_000,
                             max_order_notional=1e12, breaker_price_move_pct=1.0,
                             breaker_day_band_pct=1.0)
COMMIT_EVERY_BAR = "--commit-every-bar" in sys.argv  # default: backtest batching
STUDY_STRATEGIES = ("market", "limit", "twap", "vwap", "pov", "is")


def bars(n_bars: int, n_sym: int, seed: int = 0) -> BarReplay:
    rng = np.random.default_rng(seed)
    ts = [datetime(2024, 3, 4, 9, 31, tzinfo=NY) + timedelta(minutes=i) for i in range(n_bars)]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, (n_bars, n_sym)), axis=0))
    spread = close * 3e-4
    return BarReplay.from_arrays(
        ts, [f"S{i:03d}" for i in range(n_sym)], close=close, high=close * 1.0008,
        low=close * 0.9992, volume=rng.uniform(2e4, 6e4, (n_bars, n_sym)),
        bid=close - spread / 2, ask=close + spread / 2,
    )


def execute(rp: BarReplay, arrivals: dict[int, list[ParentOrder]]) -> dict:
    """One engine + simulated broker over the whole replay; parents added on their bar."""
    with tempfile.TemporaryDirectory() as d:
        broker = SimulatedBroker(rp)
        journal = Journal(Path(d) / "j.sqlite", synchronous="NORMAL")
        engine = ExecutionEngine("bench", rp.symbols, broker, journal, SETTINGS,
                                 commit_every_bar=COMMIT_EVERY_BAR)
        engine.recover()

        def add(e, snap):
            for p in arrivals.get(snap.bar_index, ()):
                e.add_parent(p, snap)

        run_replay(engine, broker, before_bar=add)
        journal.close()
    return {"steps": broker.bar_steps, "fills": engine.stats.fills,
            "children": len(engine.children), "local_rejects": engine.stats.local_rejects}


def synthetic_parents(scenario: str, n_parents: int, rp: BarReplay) -> dict[int, list]:
    parents = []
    n_sym, n_bars = rp.n_symbols, rp.n_bars
    for k in range(n_parents):
        sym = rp.symbols[k % n_sym]
        side = Side.BUY if k % 2 == 0 else Side.SELL
        if scenario == "resting limits":
            parents.append(ParentOrder(f"p{k}", sym, side, 5_000, Algorithm.LIMIT,
                                       horizon_bars=n_bars - 5,
                                       params={"offset_bps": 8.0, "fallback_to_market": False}))
        else:
            parents.append(ParentOrder(f"p{k}", sym, side, 3_000, Algorithm.TWAP,
                                       horizon_bars=60))
    return {0: parents}


def timed(fn, repeats: int = 3) -> tuple[list[float], list[float], dict]:
    """Wall and CPU seconds of ``repeats`` calls (after the caller's warm-up), last result."""
    walls, cpus, out = [], [], {}
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return walls, cpus, out


def p99(xs: list[float]) -> float:
    return float(np.percentile(xs, 99))


# ---------------------------------------------------------------------- the issue-6 study
def study_inputs(n_parents: int = 1_000, seed: int = 7):
    """(replay, arrivals per strategy) for the study scenario; built outside the timing."""
    from research.data import load_sp500_closes, synthesize_minute_bars

    closes = load_sp500_closes().loc["2022-02-15":"2022-03-31"]
    frame = synthesize_minute_bars(closes, "2022-03-01", "2022-03-31")
    rp = BarReplay.from_frame(frame)
    dates = np.array([t.date() for t in rp.timestamps])
    sessions = sorted(set(dates))
    first_bar = {d: int(np.flatnonzero(dates == d)[0]) for d in sessions}
    per_session = 390
    vol = np.nan_to_num(rp.volume)
    rng = np.random.default_rng(seed)
    horizons = np.array([15, 30, 60, 120])
    by_strategy: dict[str, dict[int, list[ParentOrder]]] = {s: {} for s in STUDY_STRATEGIES}
    for k in range(n_parents):
        d = sessions[int(rng.integers(1, len(sessions)))]  # session 0 is history for VWAP
        s = int(rng.integers(rp.n_symbols))
        h = int(rng.choice(horizons))
        b0 = first_bar[d]
        start = b0 + int(rng.integers(0, per_session - h - 4))
        prev_day = vol[b0 - per_session:b0, s]
        adv_frac = min(0.05, float(rng.lognormal(np.log(0.003), 1.0)))
        qty = max(100, int(adv_frac * prev_day.sum()))
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        # VWAP profile from the previous session only (no look-ahead)
        offset = start - b0
        profile = (prev_day[offset:offset + h] + 1.0).tolist()
        price = float(rp.close[start, s])
        sigma_bar = price * 8e-4  # $/share per bar
        eta = 2.5e-6
        is_params = {"sigma": sigma_bar, "eta": eta, "gamma": 0.0, "epsilon": 0.01,
                     "risk_aversion": (2.0 / h) ** 2 * eta / sigma_bar**2}
        params = {"market": {}, "limit": {"offset_bps": 2.0},
                  "twap": {}, "vwap": {"volume_profile": profile}, "pov": {"rate": 0.1},
                  "is": is_params}
        for name in STUDY_STRATEGIES:
            p = ParentOrder(f"o{k}-{name}", rp.symbols[s], side, qty, Algorithm(name),
                            horizon_bars=h, params=params[name])
            by_strategy[name].setdefault(start, []).append(p)
    return rp, by_strategy


def study(rp: BarReplay, by_strategy: dict) -> dict:
    out = {}
    for name in STUDY_STRATEGIES:
        w, c = time.perf_counter(), time.process_time()
        r = execute(rp, by_strategy[name])
        r["wall"], r["cpu"] = time.perf_counter() - w, time.process_time() - c
        out[name] = r
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"{'scenario':<16}{'parents':>8}{'children':>9}{'fills':>8}{'bar-steps':>11}"
          f"{'wall med s':>11}{'p99':>7}{'cpu med s':>10}{'steps/s wall':>14}{'steps/s cpu':>13}"
          f"{'us/child wall':>14}")
    for scenario, n in (("resting limits", 500), ("resting limits", 2_000), ("TWAP", 500)):
        rp = bars(390, 50)
        arrivals = synthetic_parents(scenario, n, rp)
        execute(bars(30, 50), synthetic_parents(scenario, min(n, 200), bars(30, 50)))  # warm-up
        walls, cpus, last = timed(lambda rp=rp, a=arrivals: execute(rp, a))
        med, cmed = statistics.median(walls), statistics.median(cpus)
        print(f"{scenario:<16}{n:>8}{last['children']:>9}{last['fills']:>8}{last['steps']:>11}"
              f"{med:>11.3f}{p99(walls):>7.2f}{cmed:>10.3f}{last['steps'] / med:>14,.0f}"
              f"{last['steps'] / cmed:>13,.0f}{med / last['children'] * 1e6:>14.1f}")
    if quick:
        return
    t0 = time.perf_counter()
    rp, by_strategy = study_inputs()
    print(f"\nstudy: {rp.n_bars} bars x {rp.n_symbols} symbols, 1,000 parents x "
          f"{len(STUDY_STRATEGIES)} strategies (bars + parents built in "
          f"{time.perf_counter() - t0:.1f} s, not timed below)")
    walls, cpus, last = timed(lambda: study(rp, by_strategy))
    print(f"{'strategy':<10}{'children':>9}{'fills':>8}{'rejects':>8}{'wall s':>8}{'cpu s':>7}"
          f"{'us/child':>9}")
    for name, r in last.items():
        print(f"{name:<10}{r['children']:>9}{r['fills']:>8}{r['local_rejects']:>8}"
              f"{r['wall']:>8.2f}{r['cpu']:>7.2f}{r['wall'] / max(r['children'], 1) * 1e6:>9.1f}")
    print(f"total (6 strategies, sequential): wall median {statistics.median(walls):.2f} s "
          f"(runs {', '.join(f'{w:.2f}' for w in walls)}; p99 {p99(walls):.2f}), "
          f"cpu median {statistics.median(cpus):.2f} s — target < 20 s")


if __name__ == "__main__":
    main()
