"""Expected cost of working an order with each execution algorithm (the per-order kernel).

All costs are in **bps of the order's notional** (quantity x arrival mid), positive = cost,
whatever the side; ``timing_risk`` is a standard deviation in bps. Notation: u = Q/V (share of
average daily volume), sigma = daily volatility, s(t) = full spread at minute t = spread level
x spread profile(t), T = duration in trading days (390 minutes), "volume time" = clock time
weighted by the intraday volume profile.

market
    Crosses the spread at once: half-spread s(start)/2; temporary impact of the law with an
    execution time of ``market_order_minutes`` (volume time at the start); timing risk of that
    short interval.
limit (passive, ``limit_offset_bps`` = o from the arrival mid, positive = passive)
    Resting until the horizon. It fills if the mid travels d = o + k s(start)/2 against it
    (k = ``limit_queue_half_spreads``: 0 = the mid reaching the limit fills it, 1 = the opposite
    quote must reach it). For a driftless Brownian mid with sd S = sigma sqrt(T_h) the fill
    probability is p = 2 Phi(-d/S) (reflection principle), a fill costs -o, and the expected
    move against an unfilled order is E[B_T; no fill] = d p, which is the **opportunity cost**
    (adverse selection: the order misses exactly when the price runs away). With
    ``limit_cleanup`` the unfilled order is completed at the horizon with a market order (its
    half-spread and impact enter spread/temporary impact with weight 1-p); without it the
    order is cancelled. Timing risk is the standard deviation of this fill/no-fill mixture.
    An offset at or beyond the far touch (o <= -s/2) is marketable and priced as ``market``.
twap, vwap
    Children spread over the horizon evenly in clock time (TWAP) or in volume time (VWAP),
    each crossing the half-spread at its time (TWAP: time-weighted, VWAP: volume-weighted
    spread profile). Almgren 2005 temporary impact uses the participation the schedule implies
    (TWAP: the time-average of (rate / volume profile)^beta, so TWAP pays for trading through
    the quiet mid-day; VWAP: constant participation). Timing risk sigma sqrt(T/3) of a linear
    liquidation. Flagged when the average participation exceeds the cap.
pov
    Constant participation ``pov_rate`` in volume time until done: duration u / rate days of
    volume, mapped to clock time through the volume profile. Flagged when it cannot finish
    within the horizon or ``pov_rate`` exceeds the cap.
is (implementation shortfall)
    Like ``pov`` at the risk-optimal participation of :func:`optimal_participation` (expected
    impact + risk_aversion x variance, clipped to [finish-in-horizon rate, cap]). Flagged when
    the cap cannot finish within the horizon. :class:`AlmgrenChriss` gives the front-loaded
    trajectory of the linear-impact model.

Fees: scheduled algorithms send ``ceil(duration / child_order_minutes)`` child orders (at most
one per share; with fee-aware slicing's minimum child m, at most ``ceil(quantity / m)``), each
paying per-order minimums; market and limit orders are one order (a
limit order cancelled without cleanup pays fees only with its fill probability; partial
fills are not modelled).
Permanent impact (Almgren 2005 only) is half the permanent price shift and does not depend on
the algorithm. The kernel is compiled with numba: measured numpy ufunc overhead (~0.6 us per
call on 20-element arrays, ~100 calls for this logic) cannot meet a 50 us budget for 20 orders.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from research.domain import Algorithm

ALGORITHMS = tuple(a.value for a in Algorithm)  # the names are the enum's
ALGORITHM_CODES = {name: code for code, name in enumerate(ALGORITHMS)}
# the kernel's codes: positions in the enum
MARKET, LIMIT, TWAP, VWAP, POV, IS = (ALGORITHM_CODES[a.value] for a in (
    Algorithm.MARKET, Algorithm.LIMIT, Algorithm.TWAP, Algorithm.VWAP, Algorithm.POV, Algorithm.IS))

OUTPUT_FIELDS = (
    "spread_bps", "temporary_impact_bps", "permanent_impact_bps", "timing_risk_bps",
    "opportunity_cost_bps", "fees_bps", "total_bps", "participation", "duration_minutes",
    "fill_probability", "exceeds_participation_cap",
)
INPUT_ERRORS = {
    1: ("quantity", "a positive number of shares"),
    2: ("price", "a positive finite price"),
    3: ("adv", "a positive finite average daily volume (shares)"),
    4: ("daily_vol", "a finite daily volatility >= 0"),
    5: ("spread_bps", "a finite spread >= 0 bps"),
    6: ("horizon_minutes", "a positive finite number of minutes"),
    7: ("algorithm", f"one of {ALGORITHMS}"),
    8: ("start_minute", "a finite minute after the open"),
    9: ("limit_offset_bps", "a finite offset (bps) for a limit order"),
    10: ("shares_outstanding", "positive (or NaN to use the turnover-ratio fallback)"),
}
# Order of the scalar parameters passed to the kernel.
PARAMS = ("law", "y", "eta", "beta", "gamma", "max_participation", "pov_rate", "risk_aversion",
          "market_order_minutes", "child_order_minutes", "queue_half_spreads", "cleanup")
SESSION = 390.0
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ------------------------------------------------------------------- profile integrals
@njit(cache=True)
def _cum(row, t):
    """Integral of a per-minute profile from the open to minute t (wraps by session)."""
    sessions = math.floor(t / SESSION)
    r = t - sessions * SESSION
    i = int(r)
    if i > 389:
        i = 389
    return sessions * row[390] + row[i] + (r - i) * (row[i + 1] - row[i])


@njit(cache=True)
def _point(row, t):
    r = t - math.floor(t / SESSION) * SESSION
    i = int(r)
    if i > 389:
        i = 389
    return row[i + 1] - row[i]


@njit(cache=True)
def _window_mean(row, a, b):
    if b > a:
        return (_cum(row, b) - _cum(row, a)) / (b - a)
    return _point(row, a)


@njit(cache=True)
def _clock_after_volume(row_v, start, volume_minutes):
    """Clock minute at which ``volume_minutes`` of profile-weighted volume has traded."""
    target = _cum(row_v, start) + volume_minutes
    total = row_v[390]
    sessions = math.floor(target / total)
    r = target - sessions * total
    i = np.searchsorted(row_v, r, side="right") - 1
    if i < 0:
        i = 0
    if i > 389:
        i = 389
    seg = row_v[i + 1] - row_v[i]
    return sessions * SESSION + i + (r - row_v[i]) / seg


# ------------------------------------------------------------------------------ pieces
@njit(cache=True)
def _temporary(law, y, eta, beta, sigma, u, rate):
    """Temporary impact in bps: square-root law, or Almgren 2005 at participation ``rate``."""
    if law == 0:
        return 1e4 * y * sigma * math.sqrt(u)
    return 1e4 * eta * sigma * rate**beta


@njit(cache=True)
def _fees(q, price, sell, children, ps, vr, fmin, fmax, ffrac, sells_only):
    """Dollars of fees for ``children`` equal child orders (see ``FeeTable.matrix``)."""
    qc = q / children
    value = qc * price
    total = 0.0
    for k in range(ps.shape[0]):
        if sells_only[k] != 0.0 and not sell:
            continue
        raw = ps[k] * qc + vr[k] * value
        if raw <= 0.0:
            continue
        cap = min(fmax[k], ffrac[k] * value)
        total += max(fmin[k], min(raw, cap))
    return total * children


@njit(cache=True)
def _check(q, price, adv, sigma, level, strat, start, horizon, offset, turnover):
    if not (q > 0.0 and q < np.inf):
        return 1
    if not (price > 0.0 and price < np.inf):
        return 2
    if not (adv > 0.0 and adv < np.inf):
        return 3
    if not (sigma >= 0.0 and sigma < np.inf):
        return 4
    if not (level >= 0.0 and level < np.inf):
        return 5
    if not (horizon > 0.0 and horizon < np.inf):
        return 6
    if strat < 0 or strat > 5:
        return 7
    if not (start > -np.inf and start < np.inf):
        return 8
    if strat == 1 and not (offset > -np.inf and offset < np.inf):
        return 9
    if not (turnover > 0.0):
        return 10
    return 0


@njit(cache=True)
def strategy_cost_kernel(q, price, adv, sigma, level, strat, sell, start, horizon, offset,
                         turnover, min_child, params, cum, ps, vr, fmin, fmax, ffrac, sells_only,
                         out):
    """Fill ``out`` (11 x n, rows = OUTPUT_FIELDS). Returns (first bad order index, error
    code) or (-1, 0). Arrays are float64 except ``strat`` (int64) and ``sell`` (bool).
    ``min_child``: fee-aware slicing's smallest child per order (1 = none)."""
    law = int(params[0])
    y, eta, beta, gamma = params[1], params[2], params[3], params[4]
    cap, pov_rate, lam = params[5], params[6], params[7]
    mkt_minutes, child_minutes, queue_k, cleanup = params[8], params[9], params[10], params[11]
    row_s, row_v, row_sv, row_vb = cum[0], cum[1], cum[2], cum[3]
    for i in range(q.shape[0]):
        code = _check(q[i], price[i], adv[i], sigma[i], level[i], strat[i], start[i],
                      horizon[i], offset[i], turnover[i])
        if code != 0:
            return i, code
        u = q[i] / adv[i]
        sig = sigma[i]
        sig_bps = 1e4 * sig
        t0 = start[i]
        if t0 < 0.0 or t0 >= SESSION:  # outside regular hours: starts at the (next) open
            t0 = 0.0
        h = horizon[i]
        kind = strat[i]
        s0 = level[i] * _point(row_s, t0)
        o = offset[i]
        if kind == LIMIT and o <= -0.5 * s0:
            kind = MARKET  # marketable limit: crosses at once
        perm = 0.0
        if law == 1:
            perm = 0.5e4 * gamma * sig * u * turnover[i] ** 0.25
        spread = 0.0
        temp = 0.0
        timing = 0.0
        opp = 0.0
        part = 0.0
        fill = 1.0
        flag = 0.0
        children = 1.0
        if kind == MARKET:
            dur = mkt_minutes
            tvol = dur / SESSION * _point(row_v, t0)
            part = u / tvol
            spread = 0.5 * s0
            temp = _temporary(law, y, eta, beta, sig, u, part)
            timing = sig_bps * math.sqrt(dur / SESSION / 3.0)
        elif kind == LIMIT:
            dur = h
            t1 = t0 + h
            big_s = sig_bps * math.sqrt(h / SESSION)
            d = o + queue_k * 0.5 * s0
            if d <= 0.0:
                fill = 1.0
            elif big_s <= 0.0:
                fill = 0.0
            else:
                fill = math.erfc(d / (big_s * _SQRT2))
            hc = 0.0
            if cleanup != 0.0:
                s1 = level[i] * _point(row_s, t1)
                tvol1 = mkt_minutes / SESSION * _point(row_v, t1)
                temp_end = _temporary(law, y, eta, beta, sig, u, u / tvol1)
                spread = fill * (-o) + (1.0 - fill) * 0.5 * s1
                temp = (1.0 - fill) * temp_end
                hc = 0.5 * s1 + temp_end
            else:
                spread = fill * (-o)
                perm *= fill
            if d > 0.0 and big_s > 0.0:
                opp = d * fill
                z = d / big_s
                phi_neg = 0.5 * fill
                eb2 = (big_s * big_s - (2.0 * big_s * big_s + 4.0 * d * d) * phi_neg
                       + 2.0 * d * big_s * _INV_SQRT_2PI * math.exp(-0.5 * z * z))
                mean = fill * (-o) + opp + (1.0 - fill) * hc
                second = fill * o * o + eb2 + 2.0 * hc * opp + hc * hc * (1.0 - fill)
                timing = math.sqrt(max(second - mean * mean, 0.0))
        elif kind == TWAP or kind == VWAP:
            dur = h
            t1 = t0 + h
            days = h / SESSION
            v_cum = _cum(row_v, t1) - _cum(row_v, t0)
            part = u / (v_cum / SESSION)
            if kind == TWAP:
                spread = 0.5 * level[i] * _window_mean(row_s, t0, t1)
                if law == 0:
                    temp = _temporary(law, y, eta, beta, sig, u, part)
                else:
                    temp = 1e4 * eta * sig * (u / days) ** beta * _window_mean(row_vb, t0, t1)
            else:
                spread = 0.5 * level[i] * (_cum(row_sv, t1) - _cum(row_sv, t0)) / v_cum
                temp = _temporary(law, y, eta, beta, sig, u, part)
            timing = sig_bps * math.sqrt(days / 3.0)
            if part > cap:
                flag = 1.0
            children = math.ceil(dur / child_minutes)
        else:  # POV or IS
            t_h = t0 + h
            horizon_volume_days = (_cum(row_v, t_h) - _cum(row_v, t0)) / SESSION
            rho_min = u / horizon_volume_days
            if kind == POV:
                rate = pov_rate
                if rate > cap or rho_min > rate:
                    flag = 1.0
            else:
                if law == 1:
                    base = lam * sig * q[i] * price[i] * u / (3.0 * eta * beta)
                    unconstrained = base ** (1.0 / (1.0 + beta))
                elif lam > 0.0:
                    unconstrained = cap
                else:
                    unconstrained = 0.0
                rate = min(max(unconstrained, rho_min), cap)
                if rho_min > cap:
                    flag = 1.0
            t1 = _clock_after_volume(row_v, t0, u / rate * SESSION)
            dur = t1 - t0
            part = rate
            spread = (0.5 * level[i] * (_cum(row_sv, t1) - _cum(row_sv, t0))
                      / (_cum(row_v, t1) - _cum(row_v, t0)))
            temp = _temporary(law, y, eta, beta, sig, u, rate)
            timing = sig_bps * math.sqrt(dur / SESSION / 3.0)
            children = math.ceil(dur / child_minutes)
        if children > math.floor(q[i]):
            children = max(math.floor(q[i]), 1.0)
        if min_child[i] > 1.0 and children > math.ceil(q[i] / min_child[i]):
            children = math.ceil(q[i] / min_child[i])  # fee-aware slicing merges slices
        notional = q[i] * price[i]
        fees = 1e4 * _fees(q[i], price[i], sell[i], children, ps, vr, fmin, fmax, ffrac,
                           sells_only) / notional
        if kind == LIMIT and cleanup == 0.0:
            fees *= fill  # a cancelled order that never traded pays nothing
        out[0, i] = spread
        out[1, i] = temp
        out[2, i] = perm
        out[3, i] = timing
        out[4, i] = opp
        out[5, i] = fees
        out[6, i] = spread + temp + perm + opp + fees
        out[7, i] = part
        out[8, i] = dur
        out[9, i] = fill
        out[10, i] = flag
    return -1, 0
