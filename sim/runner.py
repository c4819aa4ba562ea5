"""Drive an engine and a simulated broker through a bar replay, resumable after a crash.

Per bar t: the broker fills eligible orders against bar t, then the engine sees bar t (its
reports, breakers, algorithms; new children become eligible from t + latency). On a restart,
bars the broker has processed are not processed again and bars the engine finished are skipped.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from research.execution import ExecutionEngine
from research.execution.model import MarketSnapshot
from sim.broker import SimulatedBroker

OnBar = Callable[[ExecutionEngine, MarketSnapshot], None]

# Cyclic-GC thresholds during a replay. Why: a study run allocates millions of small acyclic
# objects (fills, reports, journal rows) that reference counting frees; with the default
# thresholds (700, 10, 10) the collector re-scans the growing set of live objects (seen report
# ids, order histories) over and over, measured at ~10% of a strategy's run. Collections still
# happen, only less often; the previous thresholds are restored when the replay returns.
_REPLAY_GC_THRESHOLDS = (10_000, 50, 1_000)


@contextmanager
def _replay_gc() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(old, _REPLAY_GC_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run_replay(
    engine: ExecutionEngine,
    broker: SimulatedBroker,
    *,
    stop: int | None = None,
    before_bar: OnBar | None = None,
) -> int:
    """Run from where the engine and broker stopped up to bar ``stop`` (exclusive; default all).

    ``before_bar(engine, snapshot)`` runs before the engine sees each bar (add parents there).
    Returns the number of bars the engine processed.
    """
    n = broker.replay.n_bars if stop is None else min(stop, broker.replay.n_bars)
    start = min(engine.last_bar_done, broker.last_bar) + 1
    done = 0
    with _replay_gc():
        for t in range(start, n):
            if t > broker.last_bar:
                broker.process_bar(t)
            if t > engine.last_bar_done:
                snap = broker.snapshot(t)
                if before_bar is not None:
                    before_bar(engine, snap)
                engine.on_bar(snap)
                done += 1
    return done


def run_trading_loop(loop, broker: SimulatedBroker, *, stop: int | None = None,
                     seen: Callable[[MarketSnapshot], None] | None = None) -> int:
    """Drive a started :class:`research.trading.TradingLoop` over ``broker``'s bars, from where
    the loop and the broker stopped up to bar ``stop`` (exclusive; default all): per bar the
    broker fills what is eligible, then the loop sees the bar (``seen(snapshot)`` first, to
    record the prices the run saw). Returns the bars processed."""
    n = broker.replay.n_bars if stop is None else min(stop, broker.replay.n_bars)
    engine = loop.engine
    start = min(engine.last_bar_done, broker.last_bar) + 1
    done = 0
    with _replay_gc():
        for t in range(start, n):
            if loop.stop_reason():
                break
            if t > broker.last_bar:
                broker.process_bar(t)
            if t > engine.last_bar_done:
                snap = broker.snapshot(t)
                if seen is not None:
                    seen(snap)
                loop.on_bar(snap)
                done += 1
    return done
