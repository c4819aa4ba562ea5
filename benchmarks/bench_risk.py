"""Risk manager latency: full snapshot (20 positions x 252 days) and one pre-trade check.

    python benchmarks/bench_risk.py [--repeat 2000]

Full snapshot = RiskManager.update on a returns window: Ledoit-Wolf covariance, correlation,
historical VaR/CVaR at 21 days (configured method, sqrt scaling) and the Gaussian VaR/CVaR at
21 days, Euler contributions of volatility/VaR/CVaR, every limit (position, sector, pairwise
correlation, gross, net, VaR budget, daily loss). Targets from the issue: snapshot < 1 ms,
pre-trade check < 50 us (the seed report claimed < 100 ms for risk metrics, < 200 ms for
VaR and < 10 ms per order check). Data: skfolio's embedded S&P 500 closes, last 252 days.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np


def measure(fn: Callable[[], object], repeat: int, warmup: int = 200) -> tuple[float, float]:
    """Median and p99 of single-call wall times, microseconds."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeat)
    for k in range(repeat):
        start = time.perf_counter()
        fn()
        times[k] = time.perf_counter() - start
    return statistics.median(times) * 1e6, float(np.percentile(times, 99)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    from skfolio.datasets import load_sp500_dataset
    from sklearn.covariance import LedoitWolf as SklearnLedoitWolf

    from research.risk import RiskManager, var_cvar
    from research.risk.covariance import ledoit_wolf_shrunk
    from research.risk.tail_risk import historical_var_cvar

    returns = load_sp500_dataset().pct_change().dropna().iloc[-252:]
    values = returns.to_numpy()
    symbols = list(returns.columns)
    weights = np.full(len(symbols), 0.045)
    nav = 10_000_000.0

    manager = RiskManager()
    snap = manager.update(values, weights, nav=nav, symbols=symbols)
    centred = values - values.mean(axis=0)
    portfolio = values @ weights

    rows: list[tuple[str, float, float, str]] = []

    def add(name: str, fn: Callable[[], object], target: str = "", repeat: int = args.repeat):
        median, p99 = measure(fn, repeat)
        rows.append((name, median, p99, target))

    add(
        "full snapshot: update(ndarray) -> RiskSnapshot",
        lambda: manager.update(values, weights, nav=nav, symbols=symbols),
        "< 1000 us",
    )
    add("full snapshot: update(DataFrame)", lambda: manager.update(returns, weights, nav=nav))
    add("  Ledoit-Wolf (own numpy)", lambda: ledoit_wolf_shrunk(centred))
    add("  Ledoit-Wolf (sklearn, reference)", lambda: SklearnLedoitWolf().fit(values), repeat=300)
    add("  historical VaR+CVaR, 1-D, 252 obs", lambda: historical_var_cvar(portfolio, 0.95))
    add(
        "  var_cvar(method='monte_carlo', 10k x 21d)",
        lambda: var_cvar(portfolio, 0.95, "monte_carlo", 21, n_paths=10_000),
        repeat=100,
    )

    # Pre-trade checks against the cached book: one that passes and one that is trimmed
    # (the trimmed path also builds the human-readable reason).
    small = lambda: manager.check_order("MSFT", "buy", 100, 240.0)  # noqa: E731
    big = lambda: manager.check_order("AAPL", "buy", 5_000, 130.0)  # noqa: E731
    assert small().decision.value == "approved", small()
    assert big().decision.value in ("trimmed", "rejected"), big()
    add("pre-trade check, approved order", small, "< 50 us", repeat=args.repeat * 10)
    add("pre-trade check, trimmed order (with reasons)", big, "< 50 us", repeat=args.repeat * 10)

    print(
        f"risk benchmark: {len(symbols)} positions x {values.shape[0]} days, "
        f"{snap.method} VaR {snap.confidence:.0%} at {snap.horizon} days, "
        f"covariance {manager.settings.covariance}; median and p99 of single calls"
    )
    print(f"{'operation':50s} {'median us':>10s} {'p99 us':>10s}  target")
    for name, median, p99, target in rows:
        verdict = ""
        if target:
            limit = float(target.split()[1])
            verdict = "  ok" if p99 < limit else ("  ok (median)" if median < limit else "  MISSED")
        print(f"{name:50s} {median:10.1f} {p99:10.1f}  {target}{verdict}")
    print(
        f"snapshot: VaR {snap.var:.4f}, CVaR {snap.cvar:.4f}, vol {snap.volatility:.4f}/day, "
        f"breaches: {[str(s.kind) for s in snap.breaches]}"
    )


if __name__ == "__main__":
    main()
