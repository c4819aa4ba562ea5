"""The simulated broker's per-bar fill step over its open-order columns.

Why a kernel: the step is ~40 numpy calls on arrays of a few hundred open orders and 20
symbols, so it was dominated by per-call overhead (measured ~240 us per bar with open orders,
most of the simulated broker's time in the execution-comparison study). :func:`fill_bar` does
the same arithmetic in one numba call. :func:`fill_bar_numpy` is the readable vectorised
reference it is tested against (tests/sim/test_fill_kernel.py): the two must agree exactly, so
the kernel does only correctly rounded operations (+ - * / sqrt floor min) in the same order
and the same summation order as ``np.bincount`` (row order); the transcendental part of the
permanent impact (``log1p``) stays in numpy in the caller, where ``exp``/``log1p`` have always
been evaluated. ``perm_coef`` (per symbol, fraction of price per net share) is computed by the
caller: permanent impact is linear in the net market flow.

The fill rules themselves are documented in sim/broker.py. Both functions take the broker's
column arrays (indexed by order row) and the raw replay row of bar ``t``, consider only the
``rows`` that are eligible on bar ``t`` **and still open** (``is_open``: a row cancelled since the
caller last pruned its list is skipped, never filled), update the columns of
the orders that fill **in place** (filled, notional, is_open, nfills, pos) and return

``(frows, fq, fp, fsign, fsym, done, nfills_before, cum_filled, net, perm_frac)``:
per fill (in row order) the order row, shares, price ($), side sign, symbol index, whether the
order is now complete, its fill count before this fill and its cumulative filled shares; per
symbol the net market-order shares (buys - sells) and the permanent impact as a fraction of
price before ``log1p`` (the caller adds ``sign(net) * log1p(perm_frac)`` to its log shift).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.response import square_root_impact


def fill_bar_numpy(t, rows, eligible, sym_col, sign_col, qty_col, filled_col, notional_col,
                   limit_col, is_open_col, nfills_col, pos, close_raw, high_raw, low_raw,
                   bid_raw, ask_raw, volume, mult, half, sigma, max_participation,
                   limit_volume_share, through, impact_y, perm_coef):
    """Vectorised numpy reference of :func:`fill_bar` (same arguments, same results)."""
    # an order cancelled (or completed) since the open rows were last pruned is not open: it
    # must not fill, whatever the row list still holds
    rows = rows[(eligible[rows] <= t) & is_open_col[rows]]
    close, high, low = close_raw * mult, high_raw * mult, low_raw * mult
    bid, ask, vol = bid_raw * mult, ask_raw * mult, volume
    with np.errstate(invalid="ignore"):
        traded = np.isfinite(close) & (vol > 0)
    vol0 = np.where(traded, vol, 0.0)
    cap = np.floor(max_participation * vol0)
    sym = sym_col[rows]
    sign = sign_col[rows]
    rem = (qty_col[rows] - filled_col[rows]).astype(float)
    lim = limit_col[rows]
    is_mkt = np.isnan(lim)
    n = len(close)
    q = np.zeros(rows.size)
    # market orders cross first and take the participation cap in time (row) priority
    mk = is_mkt & traded[sym]
    q[mk] = _time_priority(sym[mk], rem[mk], cap)
    used = np.bincount(sym[mk], q[mk], minlength=n)
    # limits fill only when traded through (or touched), in time priority on what the cap leaves
    with np.errstate(invalid="ignore"):
        if through:
            cross = np.where(sign > 0, low[sym] < lim, high[sym] > lim)
        else:
            cross = np.where(sign > 0, low[sym] <= lim, high[sym] >= lim)
    lk = ~is_mkt & traded[sym] & cross
    if lk.any():
        lcap = np.minimum(np.floor(limit_volume_share * vol0), cap - used)
        q[lk] = _time_priority(sym[lk], rem[lk], lcap)
    # market prices: quote or close -/+ half spread, then temporary impact
    buy_ref = np.where(np.isfinite(ask), ask, close * (1 + half))
    sell_ref = np.where(np.isfinite(bid), bid, close * (1 - half))
    buys = mk & (sign > 0)
    sells = mk & (sign < 0)
    qb = np.bincount(sym[buys], q[buys], minlength=n)
    qs = np.bincount(sym[sells], q[sells], minlength=n)
    imp_b = square_root_impact(impact_y, sigma, qb, vol0)
    imp_s = square_root_impact(impact_y, sigma, qs, vol0)
    mprice = np.where(sign > 0, buy_ref[sym] * (1 + imp_b[sym]),
                      sell_ref[sym] * (1 - imp_s[sym]))
    price = np.where(is_mkt, mprice, lim)
    net = qb - qs
    perm_frac = perm_coef * np.abs(net)

    hit = q > 0
    frows, fq, fp = rows[hit], q[hit].astype(np.int64), price[hit]
    fsign, fsym = sign[hit], sym[hit]
    filled_col[frows] += fq
    notional_col[frows] += fq * fp
    np.add.at(pos, fsym, fsign * fq)
    done = filled_col[frows] >= qty_col[frows]
    is_open_col[frows[done]] = False
    nfills_before = nfills_col[frows].copy()
    nfills_col[frows] += 1
    return (frows, fq, fp, fsign, fsym, done, nfills_before, filled_col[frows].copy(), net,
            perm_frac)


def _time_priority(sym: np.ndarray, rem: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Shares each order takes when a symbol's ``cap`` is handed out in row (= arrival) order:
    an order gets ``min(rem, what the earlier orders left)``. Exact integer arithmetic."""
    ahead = np.zeros(rem.size)
    for s in np.unique(sym):  # a handful of symbols: a stable per-symbol running sum
        at = np.flatnonzero(sym == s)
        ahead[at] = np.cumsum(rem[at]) - rem[at]
    return np.clip(cap[sym] - ahead, 0.0, rem)


# error_model="numpy": a division by zero gives inf/nan as in numpy (then mapped to 0 like
# square_root_impact does) instead of raising ZeroDivisionError
@njit(cache=True, error_model="numpy")
def fill_bar(t, rows, eligible, sym_col, sign_col, qty_col, filled_col, notional_col,
             limit_col, is_open_col, nfills_col, pos, close_raw, high_raw, low_raw,
             bid_raw, ask_raw, volume, mult, half, sigma, max_participation,
             limit_volume_share, through, impact_y, perm_coef):  # pragma: no cover
    n = close_raw.shape[0]
    close = np.empty(n)
    high = np.empty(n)
    low = np.empty(n)
    traded = np.zeros(n, np.bool_)
    vol0 = np.zeros(n)
    cap = np.zeros(n)
    for s in range(n):
        close[s] = close_raw[s] * mult[s]
        high[s] = high_raw[s] * mult[s]
        low[s] = low_raw[s] * mult[s]
        traded[s] = np.isfinite(close[s]) and volume[s] > 0
        if traded[s]:
            vol0[s] = volume[s]
        cap[s] = np.floor(max_participation * vol0[s])

    m = 0
    el = np.empty(rows.size, np.int64)
    for i in range(rows.size):
        if eligible[rows[i]] <= t and is_open_col[rows[i]]:
            el[m] = rows[i]
            m += 1

    # market orders first, in row (= arrival) order: each takes what the cap has left
    rem = np.empty(m)
    q = np.zeros(m)
    used = np.zeros(n)
    qb = np.zeros(n)
    qs = np.zeros(n)
    any_limit = False
    for i in range(m):
        r = el[i]
        s = sym_col[r]
        rem[i] = float(qty_col[r] - filled_col[r])
        if not traded[s]:
            continue
        if np.isnan(limit_col[r]):
            q[i] = min(rem[i], max(cap[s] - used[s], 0.0))
            used[s] += q[i]
            if sign_col[r] > 0:
                qb[s] += q[i]
            elif sign_col[r] < 0:
                qs[s] += q[i]
        else:
            any_limit = True
    # then limits traded through (or touched), in row order, on what the cap leaves
    if any_limit:
        lleft = np.empty(n)
        for s in range(n):
            lleft[s] = min(np.floor(limit_volume_share * vol0[s]), cap[s] - used[s])
        for i in range(m):
            r = el[i]
            s = sym_col[r]
            lim = limit_col[r]
            if np.isnan(lim) or not traded[s]:
                continue
            if through:
                cross = low[s] < lim if sign_col[r] > 0 else high[s] > lim
            else:
                cross = low[s] <= lim if sign_col[r] > 0 else high[s] >= lim
            if cross:
                q[i] = min(rem[i], max(lleft[s], 0.0))
                lleft[s] -= q[i]

    # temporary impact per symbol and side; permanent impact of the net market flow
    imp_b = np.zeros(n)
    imp_s = np.zeros(n)
    net = np.empty(n)
    perm_frac = np.empty(n)
    for s in range(n):
        x = impact_y * sigma[s] * np.sqrt(qb[s] / vol0[s])
        imp_b[s] = x if np.isfinite(x) else 0.0
        x = impact_y * sigma[s] * np.sqrt(qs[s] / vol0[s])
        imp_s[s] = x if np.isfinite(x) else 0.0
        net[s] = qb[s] - qs[s]
        perm_frac[s] = perm_coef[s] * abs(net[s])

    k = 0
    for i in range(m):
        if q[i] > 0:
            k += 1
    frows = np.empty(k, np.int64)
    fq = np.empty(k, np.int64)
    fp = np.empty(k)
    fsign = np.empty(k, sign_col.dtype)
    fsym = np.empty(k, sym_col.dtype)
    done = np.empty(k, np.bool_)
    nfills_before = np.empty(k, nfills_col.dtype)
    cum = np.empty(k, filled_col.dtype)
    j = 0
    for i in range(m):
        if not q[i] > 0:
            continue
        r = el[i]
        s = sym_col[r]
        sg = sign_col[r]
        lim = limit_col[r]
        if np.isnan(lim):
            if sg > 0:
                ref = ask_raw[s] * mult[s]
                if not np.isfinite(ref):
                    ref = close[s] * (1 + half[s])
                price = ref * (1 + imp_b[s])
            else:
                ref = bid_raw[s] * mult[s]
                if not np.isfinite(ref):
                    ref = close[s] * (1 - half[s])
                price = ref * (1 - imp_s[s])
        else:
            price = lim
        qq = np.int64(q[i])
        frows[j] = r
        fq[j] = qq
        fp[j] = price
        fsign[j] = sg
        fsym[j] = s
        filled_col[r] += qq
        notional_col[r] += qq * price
        pos[s] += sg * qq
        done[j] = filled_col[r] >= qty_col[r]
        if done[j]:
            is_open_col[r] = False
        nfills_before[j] = nfills_col[r]
        nfills_col[r] += 1
        cum[j] = filled_col[r]
        j += 1
    return frows, fq, fp, fsign, fsym, done, nfills_before, cum, net, perm_frac
