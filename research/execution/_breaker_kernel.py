"""The market breakers' per-bar arithmetic, compiled (imported lazily by MarketBreakers).

Why: the conditions are ~35 numpy calls on arrays of a few dozen symbols, so a bar cost ~50 us
of call overhead (measured; ~3 s of the 54,000 engine bars of the execution-comparison study).
:func:`market_conditions` does the same arithmetic in one numba call;
:func:`market_conditions_numpy` is the vectorised reference it is tested against
(tests/execution/test_exec_breaker_kernel.py).
Both do only correctly rounded operations in the same order, so they agree bit for bit.

Arguments: the bar (``close, volume, bid, ask`` per symbol, ``ts`` its time and ``now_s`` the
clock, epoch seconds), the price window as a ring buffer (``win_close`` rows, ``win_start``,
``win_len``), ``prev_close`` and the state updated in place (``last_update`` epoch seconds,
``normal_spread`` fraction, ``spread_obs`` count, ``last_close``), then the thresholds. The
bar's close (NaN where it did not trade) is written to ring row ``(win_start + win_len) %
capacity``: the caller makes room first and then counts it. Returns ``(flags, move, band,
rel_spread)``: per symbol a bit mask of the tripped conditions (:data:`HALTED` ...) and the
measured price move, distance from the previous close and relative spread (fractions).
"""

from __future__ import annotations

import numpy as np
from numba import njit

HALTED, STALE, MOVED, WIDE, BANDED = 1, 2, 4, 8, 16
MIN_SPREAD_OBS = 5  # spread observations before "wider than normal" can trip


def market_conditions_numpy(close, volume, bid, ask, ts, now_s, win_close, win_start, win_len,
                            prev_close, last_update, normal_spread, spread_obs, last_close,
                            price_move_pct, spread_multiple, day_band_pct, max_staleness_s,
                            alpha):
    """Vectorised reference of :func:`market_conditions` (same arguments and results)."""
    cap = win_close.shape[0]
    traded = np.isfinite(close) & (volume > 0)
    last_update[:] = np.where(traded, ts, last_update)
    with np.errstate(invalid="ignore", divide="ignore"):
        if win_len:
            rows = win_close[(win_start + np.arange(win_len)) % cap]
            # |close / p - 1| is monotone in p: its maximum over the window is at the min or
            # the max past close
            lo, hi = np.fmin.reduce(rows, axis=0), np.fmax.reduce(rows, axis=0)
            move = np.maximum(np.abs(close / lo - 1.0), np.abs(close / hi - 1.0))
            move = np.where(np.isfinite(move), move, 0.0)  # no past price or no price now
        else:
            move = np.zeros_like(close)
        band = np.abs(close / prev_close - 1.0)
        mid = 0.5 * (bid + ask)
        rel_spread = (ask - bid) / mid
        quoted = np.isfinite(rel_spread) & (rel_spread >= 0)
        known = spread_obs >= MIN_SPREAD_OBS
        wide = quoted & known & (rel_spread > spread_multiple * normal_spread)
        stale = ~np.isfinite(last_update) | (now_s - last_update > max_staleness_s)
        moved = move > price_move_pct
        banded = np.isfinite(band) & (band > day_band_pct)
    halted = ~traded
    upd = quoted & ~wide
    first = upd & ~np.isfinite(normal_spread)
    normal_spread[:] = np.where(first, rel_spread, normal_spread)
    normal_spread[:] = np.where(upd & ~first,
                                normal_spread + alpha * (rel_spread - normal_spread),
                                normal_spread)
    spread_obs += upd
    win_close[(win_start + win_len) % cap] = np.where(traded, close, np.nan)
    last_close[:] = np.where(np.isfinite(close), close, last_close)
    flags = (halted * HALTED + stale * STALE + moved * MOVED + wide * WIDE
             + banded * BANDED).astype(np.uint8)
    return flags, move, band, rel_spread


@njit(cache=True, error_model="numpy")
def market_conditions(close, volume, bid, ask, ts, now_s, win_close, win_start, win_len,
                      prev_close, last_update, normal_spread, spread_obs, last_close,
                      price_move_pct, spread_multiple, day_band_pct, max_staleness_s,
                      alpha):  # pragma: no cover
    n = close.shape[0]
    cap = win_close.shape[0]
    flags = np.zeros(n, np.uint8)
    move = np.zeros(n)
    band = np.empty(n)
    rel_spread = np.empty(n)
    new_row = (win_start + win_len) % cap
    for s in range(n):
        c = close[s]
        traded = np.isfinite(c) and volume[s] > 0
        if traded:
            last_update[s] = ts
        if win_len > 0:
            lo = np.nan
            hi = np.nan
            for j in range(win_len):
                p = win_close[(win_start + j) % cap, s]
                if not np.isnan(p):
                    if np.isnan(lo) or p < lo:
                        lo = p
                    if np.isnan(hi) or p > hi:
                        hi = p
            x1 = abs(c / lo - 1.0)
            x2 = abs(c / hi - 1.0)
            if np.isfinite(x1) and np.isfinite(x2):
                move[s] = x1 if x1 >= x2 else x2
        band[s] = abs(c / prev_close[s] - 1.0)
        mid = 0.5 * (bid[s] + ask[s])
        rel = (ask[s] - bid[s]) / mid
        rel_spread[s] = rel
        quoted = np.isfinite(rel) and rel >= 0
        wide = (quoted and spread_obs[s] >= MIN_SPREAD_OBS
                and rel > spread_multiple * normal_spread[s])
        lu = last_update[s]
        stale = (not np.isfinite(lu)) or (now_s - lu > max_staleness_s)
        f = 0
        if not traded:
            f |= HALTED
        if stale:
            f |= STALE
        if move[s] > price_move_pct:
            f |= MOVED
        if wide:
            f |= WIDE
        if np.isfinite(band[s]) and band[s] > day_band_pct:
            f |= BANDED
        flags[s] = f
        if quoted and not wide:
            if not np.isfinite(normal_spread[s]):
                normal_spread[s] = rel
            else:
                normal_spread[s] = normal_spread[s] + alpha * (rel - normal_spread[s])
            spread_obs[s] += 1
        win_close[new_row, s] = c if traded else np.nan
        if np.isfinite(c):
            last_close[s] = c
    return flags, move, band, rel_spread
