"""Bid-ask spread: from quotes, or estimated from bars on past data only.

All estimators return the **full relative spread as a fraction of the mid** (0.01 = 1% =
100 bps). Prices must be in time order (oldest first).

* :func:`corwin_schultz` — high-low estimator of Corwin & Schultz (2012, JF 67(2)) on pairs of
  consecutive bars, with the overnight adjustment: when bar t opens with a gap past bar t-1's
  close, bar t's high and low are shifted by the gap before the pair is used. The per-pair
  estimates are averaged and the average is floored at 0 (averaging before flooring is the
  unbiased variant; flooring each pair first biases upward).
* :func:`abdi_ranaldo` — close-high-low estimator of Abdi & Ranaldo (2017, RFS 30(12)):
  S^2 = 4 E[(c_t - eta_t)(c_t - eta_{t+1})], eta = mid-range in logs, floored at 0.
* :func:`roll` — Roll (1984): S = 2 sqrt(-Cov(dp_t, dp_{t-1})); 0 when the autocovariance is
  positive. Noisy on daily bars; a fallback.

No look-ahead: the ``rolling_*`` versions return, at row t, an estimate that uses only bars
0..t (the window that *ends* at bar t), i.e. what is known at bar t's close. Shift by one
row when the estimate is needed before bar t has closed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_K = 3.0 - 2.0 * np.sqrt(2.0)
SPREAD_ESTIMATORS = ("corwin_schultz", "abdi_ranaldo", "roll")


def _logs(*arrays) -> list[np.ndarray]:
    out = []
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if np.any(a <= 0):
            raise ValueError("spread estimators need positive prices")
        out.append(np.log(a))
    return out


def quoted_spread(bid, ask) -> np.ndarray:
    """(ask - bid) / mid. NaN where either quote is missing; crossed quotes raise."""
    bid = np.asarray(bid, dtype=float)
    ask = np.asarray(ask, dtype=float)
    crossed = ask < bid
    if np.any(crossed):
        i = int(np.flatnonzero(crossed)[0])
        raise ValueError(f"crossed quote at row {i}: bid {bid[i]} > ask {ask[i]}")
    return (ask - bid) / (0.5 * (ask + bid))


# ------------------------------------------------------------------------- per-pair terms
def _cs_pairs(lh: np.ndarray, ll: np.ndarray, lc: np.ndarray) -> np.ndarray:
    """Corwin-Schultz spread of each consecutive pair (t-1, t); element k is pair (k, k+1)."""
    gap = np.maximum(0.0, lc[:-1] - lh[1:]) + np.minimum(0.0, lc[:-1] - ll[1:])
    h2, l2 = lh[1:] + gap, ll[1:] + gap
    beta = (lh[:-1] - ll[:-1]) ** 2 + (h2 - l2) ** 2
    gamma = (np.maximum(lh[:-1], h2) - np.minimum(ll[:-1], l2)) ** 2
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
    ea = np.exp(alpha)
    return 2.0 * (ea - 1.0) / (1.0 + ea)


def _ar_pairs(lh: np.ndarray, ll: np.ndarray, lc: np.ndarray) -> np.ndarray:
    """Abdi-Ranaldo squared-spread moment of each consecutive pair (t-1, t)."""
    eta = 0.5 * (lh + ll)
    return 4.0 * (lc[:-1] - eta[:-1]) * (lc[:-1] - eta[1:])


def _floored_sqrt(x):
    return np.sqrt(np.maximum(x, 0.0))


# ------------------------------------------------------------------------ full sample
def _same_session(sessions, n: int) -> np.ndarray | None:
    """``ok[k]``: bars k and k+1 belong to the same session (None: no sessions given)."""
    if sessions is None:
        return None
    sessions = np.asarray(sessions)
    if sessions.shape != (n,):
        raise ValueError(f"sessions must label each of the {n} bars, got shape {sessions.shape}")
    return sessions[1:] == sessions[:-1]


def _pair_mean(name: str, pair_terms, high, low, close, sessions) -> float:
    """Mean of an estimator's per-pair terms over consecutive bars (within sessions when
    ``sessions`` labels the bars)."""
    lh, ll, lc = _logs(high, low, close)
    if lh.size < 2:
        raise ValueError(f"{name} needs at least two bars")
    pairs = pair_terms(lh, ll, lc)
    ok = _same_session(sessions, lh.size)
    if ok is not None:
        pairs = pairs[ok]
    if pairs.size == 0:
        raise ValueError(f"{name} needs two bars of one session")
    return float(np.mean(pairs))


def corwin_schultz(high, low, close, sessions=None) -> float:
    """Corwin-Schultz spread over the whole sample (fraction of the mid).

    ``sessions`` (one label per bar, e.g. the session date): on intraday bars, only pairs
    within a session are used (the overnight pair mixes a day's gap into one bar pair)."""
    return float(max(_pair_mean("corwin_schultz", _cs_pairs, high, low, close, sessions), 0.0))


def abdi_ranaldo(high, low, close, sessions=None) -> float:
    """Abdi-Ranaldo spread over the whole sample (fraction of the mid); ``sessions`` as in
    :func:`corwin_schultz`."""
    return float(_floored_sqrt(_pair_mean("abdi_ranaldo", _ar_pairs, high, low, close,
                                          sessions)))


def roll(close, sessions=None) -> float:
    """Roll spread over the whole sample (fraction of the mid); 0 if autocovariance >= 0.
    ``sessions``: only pairs of returns that both lie within one session are used."""
    (lc,) = _logs(close)
    r = np.diff(lc)
    if r.size < 3:
        raise ValueError("roll needs at least four bars")
    a, b = r[1:], r[:-1]
    ok = _same_session(sessions, lc.size)
    if ok is not None:
        keep = ok[1:] & ok[:-1]
        a, b = a[keep], b[keep]
        if a.size < 2:
            raise ValueError("roll needs three bars of one session")
    cov = np.cov(a, b)[0, 1]
    return float(2.0 * np.sqrt(max(-cov, 0.0)))


# ------------------------------------------------------------------------------ rolling
def _rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of x[t-window+1..t]; NaN until a full window exists."""
    out = np.full(x.size, np.nan)
    if x.size >= window:
        c = np.concatenate([[0.0], np.cumsum(x)])
        out[window - 1:] = (c[window:] - c[:-window]) / window
    return out


def _check_window(window: int, minimum: int) -> None:
    if int(window) != window or window < minimum:
        raise ValueError(f"window must be an integer >= {minimum}, got {window!r}")


def rolling_corwin_schultz(high, low, close, window: int) -> np.ndarray:
    """Row t: Corwin-Schultz over the ``window`` pairs ending at bar t (bars t-window..t)."""
    _check_window(window, 1)
    lh, ll, lc = _logs(high, low, close)
    out = np.full(lh.size, np.nan)
    if lh.size >= 2:
        out[1:] = np.maximum(_rolling_mean(_cs_pairs(lh, ll, lc), window), 0.0)
    return out


def rolling_abdi_ranaldo(high, low, close, window: int) -> np.ndarray:
    """Row t: Abdi-Ranaldo over the ``window`` pairs ending at bar t (bars t-window..t)."""
    _check_window(window, 1)
    lh, ll, lc = _logs(high, low, close)
    out = np.full(lh.size, np.nan)
    if lh.size >= 2:
        out[1:] = _floored_sqrt(_rolling_mean(_ar_pairs(lh, ll, lc), window))
    return out


def rolling_roll(close, window: int) -> np.ndarray:
    """Row t: Roll over the ``window`` return pairs ending at bar t (bars t-window-1..t)."""
    _check_window(window, 2)
    (lc,) = _logs(close)
    out = np.full(lc.size, np.nan)
    if lc.size >= 3:
        r = np.diff(lc)
        a, b = r[1:], r[:-1]
        cov = (_rolling_mean(a * b, window) - _rolling_mean(a, window) * _rolling_mean(b, window))
        cov *= window / (window - 1.0)
        out[2:] = 2.0 * _floored_sqrt(-cov)
    return out


_ROLLING = {
    "corwin_schultz": lambda f, w: rolling_corwin_schultz(f["high"], f["low"], f["close"], w),
    "abdi_ranaldo": lambda f, w: rolling_abdi_ranaldo(f["high"], f["low"], f["close"], w),
    "roll": lambda f, w: rolling_roll(f["close"], w),
}


def estimate_spreads(bars: pd.DataFrame, method: str = "corwin_schultz", window: int = 21) -> pd.Series:
    """Rolling spread (fraction of the mid) for every bar of a long-format bar frame.

    Returns a Series aligned with ``bars.index``; each symbol is estimated separately, in
    timestamp order, on its own past bars (row t uses that symbol's bars up to t).
    """
    if method not in _ROLLING:
        raise ValueError(f"unknown spread estimator {method!r}; choose one of {SPREAD_ESTIMATORS}")
    missing = [c for c in ("timestamp", "symbol", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lack column(s) {missing} needed by {method}")
    values = np.full(len(bars), np.nan)
    symbols = bars["symbol"].to_numpy()
    order = np.lexsort((pd.to_datetime(bars["timestamp"]).to_numpy(), symbols))
    cuts = np.flatnonzero(symbols[order][1:] != symbols[order][:-1]) + 1
    for rows in np.split(order, cuts):
        frame = {c: bars[c].to_numpy(float)[rows] for c in ("high", "low", "close")}
        values[rows] = _ROLLING[method](frame, window)
    return pd.Series(values, index=bars.index, name=f"spread_{method}")
