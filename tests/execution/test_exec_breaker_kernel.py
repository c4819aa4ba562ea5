"""The compiled market-breaker conditions against their numpy reference (bit for bit), and the
min/max shortcut of the price-move test against the brute-force maximum over the window."""

from __future__ import annotations

import numpy as np
import pytest

from research.execution._breaker_kernel import market_conditions, market_conditions_numpy


def random_bar(rng: np.random.Generator, n: int, cap: int) -> dict:
    close = 100 * np.exp(rng.normal(0, 0.02, n))
    close[rng.random(n) < 0.1] = np.nan
    volume = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(1, 1e4, n))
    half = np.abs(rng.normal(2e-4, 3e-4, n))
    bid, ask = close * (1 - half), close * (1 + half)
    bid[rng.random(n) < 0.2] = np.nan  # some symbols without quotes
    crossed = rng.random(n) < 0.1
    ask[crossed] = close[crossed] * (1 - 2 * half[crossed])  # ask below bid: not a quote
    win = 100 * np.exp(rng.normal(0, 0.02, (cap, n)))
    win[rng.random((cap, n)) < 0.2] = np.nan
    normal = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(1e-4, 6e-4, n))
    return dict(
        close=close, volume=volume, bid=bid, ask=ask, ts=1_700_000_000.0,
        now_s=1_700_000_000.0 + float(rng.choice([0.0, 30.0, 400.0])), win_close=win,
        win_start=int(rng.integers(0, cap)), win_len=int(rng.integers(0, cap)),
        prev_close=np.where(rng.random(n) < 0.2, np.nan, close * (1 + rng.normal(0, 0.03, n))),
        last_update=np.where(rng.random(n) < 0.2, np.nan,
                             1_700_000_000.0 - rng.uniform(0, 600, n)),
        normal_spread=normal, spread_obs=rng.integers(0, 10, n).astype(np.int64),
        last_close=np.full(n, 99.0), price_move_pct=float(rng.choice([0.005, 0.02])),
        spread_multiple=float(rng.choice([1.5, 3.0])), day_band_pct=0.03,
        max_staleness_s=120.0, alpha=0.0138,
    )


def copy(d: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in d.items()}


@pytest.mark.parametrize("seed", range(40))
def test_kernel_matches_numpy_reference_exactly(seed):
    rng = np.random.default_rng(seed)
    bar = random_bar(rng, int(rng.integers(1, 40)), int(rng.integers(1, 12)))
    a, b = copy(bar), copy(bar)
    for name, x, y in zip(("flags", "move", "band", "rel_spread"),
                          market_conditions_numpy(**a), market_conditions(**b), strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)
    for k in ("win_close", "last_update", "normal_spread", "spread_obs", "last_close"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_every_condition_is_exercised_by_the_random_bars():
    seen = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        bar = random_bar(rng, int(rng.integers(1, 40)), int(rng.integers(1, 12)))
        flags, *_ = market_conditions(**bar)
        seen |= int(np.bitwise_or.reduce(flags)) if flags.size else 0
    assert seen == 1 | 2 | 4 | 8 | 16


@pytest.mark.parametrize("seed", range(10))
def test_move_equals_the_brute_force_maximum_over_the_window(seed):
    """max_k |c / p_k - 1| over the window, as the breaker computed it before (np.nanmax)."""
    rng = np.random.default_rng(seed)
    n, cap = 30, 8
    bar = random_bar(rng, n, cap)
    bar["win_len"] = cap
    past = bar["win_close"].copy()
    flags, move, *_ = market_conditions(**bar)
    with np.errstate(invalid="ignore", divide="ignore"):
        brute = np.nanmax(np.abs(bar["close"] / past - 1.0), axis=0, initial=0.0)
    brute = np.where(np.isfinite(brute), brute, 0.0)
    np.testing.assert_array_equal(move, brute)
    assert (move > 0).sum() > n // 2
