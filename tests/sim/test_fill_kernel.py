"""The compiled fill step (sim.fill_kernel.fill_bar) against its numpy reference: identical
fills, prices, state updates and impact on random order books, and a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest

from sim.fill_kernel import fill_bar, fill_bar_numpy


def random_state(rng: np.random.Generator, n_orders: int, n_sym: int) -> dict:
    sign = rng.choice([-1, 1], n_orders).astype(np.int64)
    qty = rng.integers(1, 20_000, n_orders).astype(np.int64)
    close = 100 * np.exp(rng.normal(0, 0.01, n_sym))
    is_limit = rng.random(n_orders) < 0.5
    sym = rng.integers(0, n_sym, n_orders).astype(np.int64)
    limit = np.where(is_limit, np.round(close[sym] * (1 + rng.normal(0, 1e-3, n_orders)), 2),
                     np.nan)
    volume = rng.uniform(0, 50_000, n_sym)
    volume[rng.random(n_sym) < 0.15] = 0.0  # halts: no fill
    close_raw = close.copy()
    close_raw[rng.random(n_sym) < 0.1] = np.nan  # missing bars
    quoted = rng.random(n_sym) < 0.5  # some symbols with quotes, some without
    half = rng.uniform(1e-5, 5e-4, n_sym)
    return dict(
        t=5, rows=np.sort(rng.choice(n_orders, n_orders // 2 + 1, replace=False)).astype(np.int64),
        eligible=rng.integers(0, 8, n_orders).astype(np.int64), sym_col=sym, sign_col=sign,
        qty_col=qty, filled_col=(qty * rng.uniform(0, 0.9, n_orders)).astype(np.int64),
        notional_col=rng.uniform(0, 1e6, n_orders), limit_col=limit,
        is_open_col=rng.random(n_orders) < 0.9, nfills_col=rng.integers(0, 5, n_orders),
        pos=rng.integers(-1000, 1000, n_sym).astype(np.int64), close_raw=close_raw,
        high_raw=close * 1.001, low_raw=close * 0.999,
        bid_raw=np.where(quoted, close * (1 - half), np.nan),
        ask_raw=np.where(quoted, close * (1 + half), np.nan), volume=volume,
        mult=np.exp(rng.normal(0, 1e-3, n_sym)), half=half,
        sigma=np.where(rng.random(n_sym) < 0.1, 0.0, rng.uniform(1e-4, 2e-3, n_sym)),
        max_participation=float(rng.choice([0.02, 0.1, 1.0])),
        limit_volume_share=float(rng.choice([0.01, 0.05, 0.5])),
        through=bool(rng.random() < 0.5), impact_y=float(rng.uniform(0.3, 1.2)),
        perm_coef=np.where(rng.random(n_sym) < 0.1, 0.0, rng.uniform(0, 1e-9, n_sym)),
    )


def copy_state(st: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in st.items()}


@pytest.mark.parametrize("seed", range(40))
def test_kernel_matches_numpy_reference_exactly(seed):
    rng = np.random.default_rng(seed)
    st = random_state(rng, int(rng.integers(1, 400)), int(rng.integers(1, 25)))
    a, b = copy_state(st), copy_state(st)
    out_a = fill_bar_numpy(**a)
    out_b = fill_bar(**b)
    names = ("frows", "fq", "fp", "fsign", "fsym", "done", "nfills", "cum", "net", "perm_frac")
    for name, x, y in zip(names, out_a, out_b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)  # exact: no tolerance
        assert np.asarray(x).dtype.kind == np.asarray(y).dtype.kind, name
    for k in ("filled_col", "notional_col", "is_open_col", "nfills_col", "pos"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the random books do exercise fills of both kinds
    if seed == 0:
        assert out_b[0].size > 0


def test_kernel_on_a_hand_computed_bar():
    """Two market buys taking a 10% cap in arrival order, one sell limit traded through."""
    nan = np.nan
    st = dict(
        t=1, rows=np.array([0, 1, 2], np.int64), eligible=np.array([1, 1, 1], np.int64),
        sym_col=np.array([0, 0, 1], np.int64), sign_col=np.array([1, 1, -1], np.int64),
        qty_col=np.array([1500, 1000, 500], np.int64), filled_col=np.zeros(3, np.int64),
        notional_col=np.zeros(3), limit_col=np.array([nan, nan, 50.0]),
        is_open_col=np.ones(3, bool), nfills_col=np.zeros(3, np.int64),
        pos=np.zeros(2, np.int64), close_raw=np.array([100.0, 50.0]),
        high_raw=np.array([100.5, 50.2]), low_raw=np.array([99.5, 49.9]),
        bid_raw=np.array([99.99, nan]), ask_raw=np.array([100.01, nan]),
        volume=np.array([20_000.0, 10_000.0]), mult=np.ones(2), half=np.full(2, 1e-4),
        sigma=np.array([1e-3, 1e-3]), max_participation=0.1, limit_volume_share=0.05,
        through=True, impact_y=0.5, perm_coef=np.array([1e-8, 2e-8]),
    )
    frows, fq, fp, fsign, fsym, done, nfills, cum, net, perm = fill_bar(**st)
    # cap 2,000 shares: the first order takes all its 1,500, the later one the 500 left;
    # the limit takes 5% of 10,000 = 500 (all)
    assert frows.tolist() == [0, 1, 2]
    assert fq.tolist() == [1500, 500, 500]
    impact = 0.5 * 1e-3 * np.sqrt(2000 / 20_000)
    assert fp[0] == pytest.approx(100.01 * (1 + impact), rel=1e-15)
    assert fp[2] == 50.0
    assert done.tolist() == [True, False, True]
    assert st["pos"].tolist() == [2000, -500]
    assert net.tolist() == [2000.0, 0.0]
    assert perm.tolist() == [2000 * 1e-8, 0.0]  # linear in the net market flow
    assert st["is_open_col"].tolist() == [False, True, False]


@pytest.mark.parametrize("kernel", [fill_bar, fill_bar_numpy])
def test_a_closed_row_still_listed_takes_no_fill_and_no_capacity(kernel):
    """Row 0 was cancelled after the broker last pruned its open rows: it is skipped, and the
    later market order gets the whole participation cap it would otherwise have shared."""
    st = dict(
        t=3, rows=np.array([0, 1], np.int64), eligible=np.array([1, 1], np.int64),
        sym_col=np.zeros(2, np.int64), sign_col=np.array([1, 1], np.int64),
        qty_col=np.array([5_000, 5_000], np.int64), filled_col=np.array([700, 0], np.int64),
        notional_col=np.array([70_000.0, 0.0]), limit_col=np.array([np.nan, np.nan]),
        is_open_col=np.array([False, True]), nfills_col=np.array([1, 0], np.int64),
        pos=np.array([700], np.int64), close_raw=np.array([100.0]), high_raw=np.array([100.0]),
        low_raw=np.array([100.0]), bid_raw=np.array([np.nan]), ask_raw=np.array([np.nan]),
        volume=np.array([10_000.0]), mult=np.ones(1), half=np.full(1, 1e-4),
        sigma=np.zeros(1), max_participation=0.1, limit_volume_share=0.05, through=True,
        impact_y=0.5, perm_coef=np.zeros(1),
    )
    frows, fq, *_ = kernel(**st)
    assert frows.tolist() == [1] and fq.tolist() == [1_000]
    assert st["filled_col"].tolist() == [700, 1_000]  # the cancelled order keeps its 700
    assert st["nfills_col"].tolist() == [1, 1] and st["pos"].tolist() == [1_700]
