"""Cost model: pricing a batch of orders (targets: 20 orders < 50 us, 10,000 orders < 5 ms).

``predict_arrays`` is the hot path an execution engine calls with arrays it already holds;
``predict`` adds DataFrame validation, symbol lookup, time-zone conversion and a result frame.
Figures are printed, never asserted. Run: ``python benchmarks/bench_costs.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import describe, machine, repeat  # noqa: E402

from research.costs import ALGORITHM_CODES, ALGORITHMS, CostModel  # noqa: E402


def batch(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` orders over 20 symbols, every strategy, mixed sides, sizes and horizons."""
    rng = np.random.default_rng(seed)
    symbols = [f"S{k:02d}" for k in range(20)]
    market = pd.DataFrame({
        "price": rng.uniform(10, 500, 20), "adv": rng.uniform(5e5, 5e7, 20),
        "daily_vol": rng.uniform(0.01, 0.04, 20), "spread_bps": rng.uniform(1, 20, 20),
    }, index=symbols)
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(n)],
        "symbol": rng.choice(symbols, n),
        "side": rng.choice(["buy", "sell"], n),
        "quantity": np.round(np.exp(rng.uniform(np.log(10), np.log(200_000), n))),
        "algorithm": np.resize(np.array(ALGORITHMS), n),
        "start_time": pd.Timestamp("2024-06-03 09:45", tz="America/New_York")
        + pd.to_timedelta(rng.integers(0, 300, n), "min"),
        "horizon_minutes": rng.choice([5, 15, 30, 60, 120, 390], n).astype(float),
        "limit_offset_bps": rng.uniform(0, 5, n),
    })
    return orders, market


def arrays(model: CostModel, orders: pd.DataFrame, market: pd.DataFrame) -> dict:
    m = market.loc[orders["symbol"]]
    ts = orders["start_time"].dt
    return dict(
        quantity=orders["quantity"].to_numpy(float).copy(), price=m["price"].to_numpy().copy(),
        adv=m["adv"].to_numpy().copy(), daily_vol=m["daily_vol"].to_numpy().copy(),
        spread_bps=m["spread_bps"].to_numpy().copy(),
        algorithm=orders["algorithm"].map(ALGORITHM_CODES).to_numpy().astype(np.int64),
        is_sell=(orders["side"] == "sell").to_numpy().copy(),
        start_minute=(ts.hour * 60 + ts.minute - 570).to_numpy(float).copy(),
        horizon_minutes=orders["horizon_minutes"].to_numpy().copy(),
        limit_offset_bps=orders["limit_offset_bps"].to_numpy().copy(),
        fees_on=model.fee_table("2024-06-03"),
    )


def report(name: str, times: list[float], target: str) -> None:
    print(f"{name:52s} {describe(times, 'us')}   target {target}")


def bench_law(law: str) -> None:
    model = CostModel(impact_law=law)
    print(f"\nimpact law: {law}")
    for n, runs, target in ((20, 20_000, "< 50 us"), (10_000, 500, "< 5 ms")):
        orders, market = batch(n, seed=n)
        kw = arrays(model, orders, market)
        report(f"predict(arrays), {n:,d} orders",
               repeat(lambda kw=kw: model.predict(kw), runs, warmup=50), target)
        report(f"predict (DataFrames), {n:,d} orders",
               repeat(lambda o=orders, m=market: model.predict(o, m), max(runs // 50, 50),
                      warmup=5), "(info)")
    orders, market = batch(20, seed=1)
    report("compare_algorithms, 20 orders x 6 algorithms",
           repeat(lambda: model.compare_algorithms(orders, market), 200, warmup=5), "(info)")


def main() -> None:
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    orders, market = batch(20)
    CostModel(impact_law="almgren_2005").predict(orders, market)
    print(f"first call in this process (numba load or compile): {time.perf_counter() - t0:.2f} s")
    for law in ("square_root", "almgren_2005"):
        bench_law(law)


if __name__ == "__main__":
    main()
