"""Calibrate impact coefficients (and the spread profile) from a table of executions.

Executions table — one row per parent order (simulated or live):

=====================  ===================================================================
quantity               shares executed, > 0
adv                    average daily volume, shares
daily_vol              daily volatility, fraction
cost_bps               realised cost vs the arrival mid, bps, positive = cost, fees excluded
spread_bps             optional: full quoted spread at arrival, bps; half of it is removed
                       from ``cost_bps`` before fitting impact
duration_minutes       execution time (required by ``almgren_2005``)
shares_outstanding     optional (``almgren_2005`` permanent term; NaN = turnover fallback)
start_time / start_minute  optional: arrival time, for the spread profile
order_id, symbol       optional: named in errors / used to normalise the spread profile
=====================  ===================================================================

Impact target y = cost_bps - spread_bps/2 (- half the Almgren permanent shift, with gamma held
fixed: cost alone does not identify gamma). Models, in bps:

* ``square_root``: y = Y * 1e4 * sigma * sqrt(Q/V)
* ``almgren_2005``: y = eta * 1e4 * sigma * (Q / (V T))^beta, T = duration in days

Fit by robust (Huber) nonlinear least squares (``scipy.optimize.least_squares``, loss
"huber", scale re-estimated from the MAD of the residuals). Standard errors follow Huber
(1981): cov = K^2 [sum psi^2 / (n-p)] / (mean psi')^2 * s^2 (J'J)^-1 with the small-sample
factor K = 1 + p/n * (1 - m)/m, m = mean psi'.

Fitted parameters are saved as JSON (``format`` ``qlab.costs.calibration``, ``version`` 1).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from research.costs._impact import ALMGREN_BETA, ALMGREN_ETA, ALMGREN_GAMMA, DEFAULT_TURNOVER_RATIO
from research.costs._profile import (
    TimeOfDayProfile,
    minutes_since_open,
    profile_from_observations,
)

CALIBRATION_FORMAT = "qlab.costs.calibration"
CALIBRATION_VERSION = 1
_MAD_TO_SD = 1.4826


@dataclass(frozen=True, eq=False)
class ImpactCalibration:
    """Fitted impact coefficients with standard errors (and optionally a spread profile)."""

    law: str
    params: dict[str, float]
    std_errors: dict[str, float]
    n_obs: int
    residual_scale_bps: float
    huber_delta: float
    fixed: dict[str, float] = field(default_factory=dict)
    """Coefficients held fixed during the fit (e.g. almgren_gamma)."""
    spread_profile: TimeOfDayProfile | None = None
    created_utc: str = ""

    def model_params(self) -> dict:
        """Keyword arguments for :class:`CostModel`."""
        out = {"impact_law": self.law, **self.params, **self.fixed}
        if self.spread_profile is not None:
            out["spread_profile"] = self.spread_profile
        return out

    def to_dict(self) -> dict:
        return {
            "format": CALIBRATION_FORMAT, "version": CALIBRATION_VERSION, "law": self.law,
            "params": self.params, "std_errors": self.std_errors, "n_obs": self.n_obs,
            "residual_scale_bps": self.residual_scale_bps, "huber_delta": self.huber_delta,
            "fixed": self.fixed, "created_utc": self.created_utc,
            "spread_profile": None if self.spread_profile is None else self.spread_profile.to_dict(),
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict, where: str = "calibration") -> ImpactCalibration:
        if data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(f"{where}: not a {CALIBRATION_FORMAT} file "
                             f"(format={data.get('format')!r})")
        if data.get("version") != CALIBRATION_VERSION:
            raise ValueError(f"{where}: calibration version {data.get('version')!r} is not "
                             f"supported; this qlab reads version {CALIBRATION_VERSION}")
        profile = data.get("spread_profile")
        return cls(
            law=data["law"], params={k: float(v) for k, v in data["params"].items()},
            std_errors={k: float(v) for k, v in data["std_errors"].items()},
            n_obs=int(data["n_obs"]), residual_scale_bps=float(data["residual_scale_bps"]),
            huber_delta=float(data["huber_delta"]),
            fixed={k: float(v) for k, v in data.get("fixed", {}).items()},
            spread_profile=None if profile is None else TimeOfDayProfile.from_dict(profile),
            created_utc=str(data.get("created_utc", "")),
        )


def load_calibration(path: str | Path) -> ImpactCalibration:
    """Read a calibration file written by :meth:`ImpactCalibration.save`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    return ImpactCalibration.from_dict(data, where=str(path))


# ---------------------------------------------------------------------------- inputs
def _column(frame: pd.DataFrame, name: str, ok, must: str) -> np.ndarray:
    if name not in frame.columns:
        raise ValueError(f"executions lack column {name!r}")
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(values) & ok(np.nan_to_num(values, nan=-1.0)))
    if bad.any():
        ids = frame["order_id"].to_numpy() if "order_id" in frame.columns else frame.index
        rows = np.flatnonzero(bad)
        shown = ", ".join(f"{ids[r]!r}={values[r]}" for r in rows[:5])
        raise ValueError(f"executions: {name} must be {must} ({rows.size} bad row(s): {shown})")
    return values


def _robust_fit(model, jac, y, x0, bounds, huber_delta):
    from scipy.optimize import least_squares

    def resid(p):
        return model(p) - y

    fit = least_squares(resid, x0, bounds=bounds, method="trf")  # least-squares start
    scale = 1.0
    for _ in range(3):  # alternate robust scale and Huber fit
        r = resid(fit.x)
        scale = _MAD_TO_SD * np.median(np.abs(r - np.median(r)))
        if not scale > 0:
            scale = float(np.std(r)) or 1.0
        fit = least_squares(resid, fit.x, bounds=bounds, loss="huber",
                            f_scale=huber_delta * scale, method="trf")
    if not fit.success:
        raise RuntimeError(f"impact calibration did not converge: {fit.message}")
    r = resid(fit.x) / scale
    n, p = y.size, fit.x.size
    psi = np.clip(r, -huber_delta, huber_delta)
    m = float(np.mean(np.abs(r) <= huber_delta))
    if m == 0:
        raise RuntimeError("impact calibration: every residual is an outlier; check cost_bps")
    k = 1.0 + p / n * (1.0 - m) / m
    j = jac(fit.x)
    cov = k**2 * (np.sum(psi**2) / (n - p)) / m**2 * scale**2 * np.linalg.inv(j.T @ j)
    return fit.x, np.sqrt(np.diag(cov)), scale


def calibrate_impact(
    executions: pd.DataFrame, law: str = "square_root", *, gamma: float = ALMGREN_GAMMA,
    turnover_ratio: float = DEFAULT_TURNOVER_RATIO, huber_delta: float = 1.345,
    with_spread_profile: bool | None = None, bucket_minutes: float = 30.0,
) -> ImpactCalibration:
    """Fit Y (``square_root``) or eta and beta (``almgren_2005``, gamma fixed) by robust
    regression; see the module docstring for the table and the model."""
    if law not in ("square_root", "almgren_2005"):
        raise ValueError(f"law must be 'square_root' or 'almgren_2005', got {law!r}")
    n = len(executions)
    if n < 10:
        raise ValueError(f"need at least 10 executions to calibrate, got {n}")
    q = _column(executions, "quantity", lambda x: x > 0, "positive shares")
    adv = _column(executions, "adv", lambda x: x > 0, "positive shares per day")
    sigma = _column(executions, "daily_vol", lambda x: x > 0, "a positive daily volatility")
    cost = _column(executions, "cost_bps", lambda x: np.ones_like(x, bool), "finite bps")
    y = cost.copy()
    if "spread_bps" in executions.columns:
        y -= 0.5 * _column(executions, "spread_bps", lambda x: x >= 0, "a spread >= 0 bps")
    u = q / adv
    fixed: dict[str, float] = {}
    if law == "square_root":
        x = 1e4 * sigma * np.sqrt(u)
        x0 = np.array([max(np.sum(x * y) / np.sum(x * x), 1e-3)])
        est, se, scale = _robust_fit(lambda p: p[0] * x, lambda p: x[:, None], y, x0,
                                     ([0.0], [np.inf]), huber_delta)
        params = {"sqrt_impact_y": float(est[0])}
        errors = {"sqrt_impact_y": float(se[0])}
    else:
        days = _column(executions, "duration_minutes", lambda x: x > 0, "positive minutes") / 390.0
        ratio = np.full(n, float(turnover_ratio))
        if "shares_outstanding" in executions.columns:
            theta = pd.to_numeric(executions["shares_outstanding"], errors="coerce").to_numpy(float)
            ratio = np.where(theta > 0, theta / adv, ratio)
        y = y - 0.5e4 * gamma * sigma * u * ratio**0.25
        fixed = {"almgren_gamma": float(gamma)}
        rate = u / days
        base = 1e4 * sigma

        def model(p):
            return p[0] * base * rate ** p[1]

        def jac(p):
            r = rate ** p[1]
            return np.column_stack([base * r, p[0] * base * r * np.log(rate)])

        est, se, scale = _robust_fit(model, jac, y, np.array([ALMGREN_ETA, ALMGREN_BETA]),
                                     ([0.0, 0.01], [np.inf, 3.0]), huber_delta)
        params = {"almgren_eta": float(est[0]), "almgren_beta": float(est[1])}
        errors = {"almgren_eta": float(se[0]), "almgren_beta": float(se[1])}

    has_time = "start_minute" in executions.columns or "start_time" in executions.columns
    if with_spread_profile is None:
        with_spread_profile = has_time and "spread_bps" in executions.columns
    profile = (calibrate_spread_profile(executions, bucket_minutes=bucket_minutes)
               if with_spread_profile else None)
    return ImpactCalibration(
        law=law, params=params, std_errors=errors, n_obs=n, residual_scale_bps=float(scale),
        huber_delta=huber_delta, fixed=fixed, spread_profile=profile,
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def calibrate_spread_profile(executions: pd.DataFrame, *, bucket_minutes: float = 30.0
                             ) -> TimeOfDayProfile:
    """Time-of-day spread profile from the quoted spread at each execution's arrival.

    Needs ``spread_bps`` and ``start_minute`` (minutes after 09:30) or ``start_time``; each
    symbol's spreads are divided by that symbol's median first."""
    if "start_minute" in executions.columns:
        minute = pd.to_numeric(executions["start_minute"], errors="coerce").to_numpy(float)
    elif "start_time" in executions.columns:
        minute = minutes_since_open(executions["start_time"])
    else:
        raise ValueError("executions need start_minute or start_time for a spread profile")
    spread = _column(executions, "spread_bps", lambda x: x >= 0, "a spread >= 0 bps")
    group = executions["symbol"].to_numpy() if "symbol" in executions.columns else None
    return profile_from_observations(minute, spread, bucket_minutes=bucket_minutes, group=group,
                                     kind="spread")
