"""The pre-trade cost model: scikit-learn style estimator over batches of orders.

``CostModel(...)`` stores parameters; ``fit(bars)`` learns per-symbol spread level, daily
volatility, ADV and last price, and (from intraday bars) the time-of-day spread and volume
profiles; ``predict(orders, market)`` prices a batch of orders without looping in Python.
``predict_arrays`` is the allocation-light fast path that ``predict`` wraps.

See the package docstring (``research.costs``) for the exact input contract.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from research.costs._algorithms import (
    ALGORITHM_CODES,
    ALGORITHMS,
    INPUT_ERRORS,
    OUTPUT_FIELDS,
    strategy_cost_kernel,
)
from research.costs._calibration import load_calibration
from research.costs._fees import FeeSchedule, FeeTable, as_date, fee_schedule
from research.costs._impact import DEFAULT_TURNOVER_RATIO, IMPACT_LAWS
from research.costs._profile import (
    SESSION_MINUTES,
    TimeOfDayProfile,
    default_spread_profile,
    default_volume_profile,
    estimate_spread_profile,
    estimate_volume_profile,
)
from research.costs._spread import SPREAD_ESTIMATORS, abdi_ranaldo, corwin_schultz, roll
from research.costs._volatility import (
    CLOSE_TO_CLOSE,
    INTRADAY_REALISED,
    NO_ESTIMATE,
    close_to_close_vol,
    intraday_realised_vol,
)
from research.data.schema import EXCHANGE_TZ
from research.estimator import ParamsMixin

ORDER_COLUMNS = ("order_id", "symbol", "side", "quantity", "algorithm", "start_time",
                 "horizon_minutes")
MARKET_COLUMNS = ("price", "adv", "daily_vol", "spread_bps", "shares_outstanding")
_COST_FIELDS = OUTPUT_FIELDS[:7]
_MAX_LISTED = 5


@dataclass(frozen=True, eq=False)
class CostEstimate:
    """Per-order cost components (arrays of equal length). Costs in bps of ``notional``
    (positive = cost); ``timing_risk_bps`` is a standard deviation."""

    notional: np.ndarray
    """Quantity x arrival price, $."""
    spread_bps: np.ndarray
    temporary_impact_bps: np.ndarray
    permanent_impact_bps: np.ndarray
    timing_risk_bps: np.ndarray
    opportunity_cost_bps: np.ndarray
    fees_bps: np.ndarray
    total_bps: np.ndarray
    """spread + temporary + permanent + opportunity + fees (timing risk is not added)."""
    participation: np.ndarray
    """Average share of market volume taken (0 for a resting limit order)."""
    duration_minutes: np.ndarray
    fill_probability: np.ndarray
    exceeds_participation_cap: np.ndarray
    """True where the schedule breaks the cap or cannot finish within the horizon."""

    def usd(self, name: str) -> np.ndarray:
        """A bps component in dollars: bps x notional / 1e4."""
        return getattr(self, name) * self.notional * 1e-4

    def to_frame(self, index=None, leading: dict | None = None) -> pd.DataFrame:
        """One row per order: ``leading`` columns first, then notional, costs in bps and $,
        diagnostics."""
        data = dict(leading or {})
        data["notional_usd"] = self.notional
        for name in _COST_FIELDS:
            data[name] = getattr(self, name)
        for name in _COST_FIELDS:
            data[name.replace("_bps", "_usd")] = self.usd(name)
        for name in OUTPUT_FIELDS[7:]:
            data[name] = getattr(self, name)
        return pd.DataFrame(data, index=index)


def _listing(ids, symbols, values, rows: np.ndarray) -> str:
    parts = [f"order {ids[r]!r} ({symbols[r]}): got {values[r]!r}" for r in rows[:_MAX_LISTED]]
    more = f"; and {rows.size - _MAX_LISTED} more" if rows.size > _MAX_LISTED else ""
    return "; ".join(parts) + more


class CostModel(ParamsMixin):
    """Pre-trade transaction-cost model (a predictor; never used to produce simulated fills).

    Parameters (units)
    ------------------
    impact_law : "square_root" or "almgren_2005".
    sqrt_impact_y : Y of the square-root law.
    almgren_eta, almgren_beta, almgren_gamma : Almgren et al. (2005) coefficients.
    max_participation : cap on the share of market volume (fraction).
    pov_rate : participation of the ``pov`` algorithm (fraction).
    risk_aversion : lambda of expected cost + lambda x variance, 1/$.
    spread_source : "quotes" (bid/ask when the bars have them) or a bar estimator
        ("corwin_schultz", "abdi_ranaldo", "roll"); the others are fallbacks in that order.
    spread_lookback_days, vol_lookback_days, adv_lookback_days : fit windows (days).
    vol_min_daily_returns : with fewer daily returns than this, the daily volatility comes from
        the intraday bars (5-minute realised volatility, open to close) when there are any: the
        std of a handful of daily returns is too noisy (relative error ~ 1/sqrt(2(n-1)), 24% at
        10) and one session gives none. ``daily_vol_method_`` records which was used.
    fee_schedule : "tiger_us", "zero", "flat_bps", or a :class:`FeeSchedule`.
    flat_fee_bps : rate of the flat_bps schedule.
    limit_offset_bps : default passive offset of limit orders from the mid (bps).
    limit_queue_half_spreads : extra travel, in half-spreads, before a limit order fills.
    limit_cleanup : complete unfilled limit orders at the horizon with a market order.
    market_order_minutes : execution time of a market order for rate-dependent impact.
    child_order_minutes : one child order per this many minutes of a scheduled algorithm.
    turnover_ratio : Theta/V used when shares outstanding are unknown.
    spread_profile, volume_profile : fixed :class:`TimeOfDayProfile`; None = estimate from
        intraday bars in ``fit``, else the documented defaults.
    profile_bucket_minutes : bucket width of estimated profiles.
    """

    def __init__(
        self, *, impact_law: str = "square_root", sqrt_impact_y: float = 0.7,
        almgren_eta: float = 0.142, almgren_beta: float = 0.6, almgren_gamma: float = 0.314,
        max_participation: float = 0.10, pov_rate: float = 0.10, risk_aversion: float = 1e-6,
        spread_source: str = "quotes", spread_lookback_days: int = 21,
        vol_lookback_days: int = 63, adv_lookback_days: int = 21,
        vol_min_daily_returns: int = 10,
        fee_schedule: str | FeeSchedule = "tiger_us", flat_fee_bps: float = 0.0,
        limit_offset_bps: float = 0.0, limit_queue_half_spreads: float = 1.0,
        limit_cleanup: bool = True, market_order_minutes: float = 1.0,
        child_order_minutes: float = 5.0, turnover_ratio: float = DEFAULT_TURNOVER_RATIO,
        spread_profile: TimeOfDayProfile | None = None,
        volume_profile: TimeOfDayProfile | None = None, profile_bucket_minutes: float = 30.0,
    ):
        self.impact_law = impact_law
        self.sqrt_impact_y = sqrt_impact_y
        self.almgren_eta = almgren_eta
        self.almgren_beta = almgren_beta
        self.almgren_gamma = almgren_gamma
        self.max_participation = max_participation
        self.pov_rate = pov_rate
        self.risk_aversion = risk_aversion
        self.spread_source = spread_source
        self.spread_lookback_days = spread_lookback_days
        self.vol_lookback_days = vol_lookback_days
        self.vol_min_daily_returns = vol_min_daily_returns
        self.adv_lookback_days = adv_lookback_days
        self.fee_schedule = fee_schedule
        self.flat_fee_bps = flat_fee_bps
        self.limit_offset_bps = limit_offset_bps
        self.limit_queue_half_spreads = limit_queue_half_spreads
        self.limit_cleanup = limit_cleanup
        self.market_order_minutes = market_order_minutes
        self.child_order_minutes = child_order_minutes
        self.turnover_ratio = turnover_ratio
        self.spread_profile = spread_profile
        self.volume_profile = volume_profile
        self.profile_bucket_minutes = profile_bucket_minutes

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_settings(cls, costs=None, **overrides) -> CostModel:
        """From ``research.config.CostSettings`` (defaults when None); keywords override."""
        if costs is None:
            from research.config import CostSettings

            costs = CostSettings()
        names = set(cls._param_names())
        params = {k: v for k, v in costs.model_dump().items() if k in names}
        params.update(overrides)
        return cls(**params)

    @classmethod
    def for_run(cls, choice, costs=None) -> CostModel:
        """The cost model a run config asks for: ``choice`` (``RunConfig.cost_model``: impact
        law, spread source, fee schedule, optional calibration file) over the process defaults
        ``costs`` (``CostSettings``: coefficients, lookbacks, flat fee rate) — the run config
        wins where both speak. A calibration file sets the impact coefficients (and the spread
        profile when it has one) and must be fitted for the config's impact law; a missing or
        unreadable file is a ValueError naming ``cost_model.calibration_file``."""
        model = cls.from_settings(costs, impact_law=choice.impact_law,
                                  spread_source=choice.spread_source,
                                  fee_schedule=choice.fee_schedule)
        path = choice.calibration_file
        if path is None:
            return model
        if not Path(path).is_file():
            raise ValueError(f"cost_model.calibration_file: no such file: {path}")
        try:
            calibration = load_calibration(path)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cost_model.calibration_file: {path}: unreadable calibration "
                             f"({exc})") from None
        if calibration.law != choice.impact_law:
            raise ValueError(f"cost_model.calibration_file: {path} was fitted for the impact "
                             f"law {calibration.law!r}, but cost_model.impact_law is "
                             f"{choice.impact_law!r}")
        return model.set_params(**calibration.model_params())

    @classmethod
    def from_calibration(cls, calibration, **params) -> CostModel:
        """A model using a fitted :class:`ImpactCalibration` (impact law, coefficients and,
        when calibrated, the spread profile); other parameters as keywords."""
        return cls(**{**calibration.model_params(), **params})

    def _check_params(self) -> None:
        if self.impact_law not in IMPACT_LAWS:
            raise ValueError(f"impact_law must be one of {IMPACT_LAWS}, got {self.impact_law!r}")
        if self.spread_source not in ("quotes", *SPREAD_ESTIMATORS):
            raise ValueError(f"spread_source must be 'quotes' or one of {SPREAD_ESTIMATORS}, "
                             f"got {self.spread_source!r}")
        for name in ("max_participation", "pov_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("sqrt_impact_y", "almgren_eta", "almgren_beta", "market_order_minutes",
                     "child_order_minutes", "turnover_ratio"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not (self.almgren_gamma >= 0 and self.risk_aversion >= 0):
            raise ValueError("almgren_gamma and risk_aversion must be >= 0")

    # ------------------------------------------------------------------------- fit
    def fit(self, bars: pd.DataFrame, y=None) -> CostModel:
        """Learn per-symbol state and intraday profiles from **past** bars (long format).

        Sets ``symbols_``, ``spread_bps_`` (session-average full spread, bps; NaN when no
        estimator gave a positive value), ``spread_method_``, ``daily_vol_`` (std of daily log
        returns; from the intraday bars when there are fewer than ``vol_min_daily_returns``),
        ``daily_vol_method_`` (which estimator: ``"daily_close_to_close"``,
        ``"intraday_realised_5min"`` or ``"none"``), ``adv_`` (mean daily volume, shares),
        ``last_price_`` (last close), ``spread_profile_``, ``volume_profile_``, ``fitted_through_`` (last timestamp).

        Everything in ``bars`` is used: pass only bars that closed before the decision (the
        model does not trim them). Intraday bars also give the time-of-day profiles and let
        the bar spread estimators run on minute bars; a partial last session lowers ``adv_``.
        """
        self._check_params()
        missing = [c for c in ("timestamp", "symbol", "open", "high", "low", "close", "volume")
                   if c not in bars.columns]
        if missing:
            raise ValueError(f"bars lack required column(s) {missing}")
        if bars.empty:
            raise ValueError("bars are empty")
        ts = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"]))
        if ts.tz is not None:
            ts = ts.tz_convert(EXCHANGE_TZ)
        frame = bars.assign(_ts=ts, _day=ts.normalize()).sort_values(["symbol", "_ts"],
                                                                       kind="stable")
        has_quotes = ("bid" in frame.columns and "ask" in frame.columns
                      and frame["bid"].notna().any())
        intraday = bool(frame.groupby(["symbol", "_day"]).size().max() > 1)
        if intraday:
            sprof = self.spread_profile or estimate_spread_profile(
                frame, bucket_minutes=self.profile_bucket_minutes)
            vprof = self.volume_profile or estimate_volume_profile(
                frame, bucket_minutes=self.profile_bucket_minutes)
        else:
            sprof = self.spread_profile or default_spread_profile()
            vprof = self.volume_profile or default_volume_profile()
        if has_quotes:
            frame["_qs"] = (frame["ask"] - frame["bid"]) / (0.5 * (frame["ask"] + frame["bid"]))
            if (frame["_qs"] < 0).any():
                bad = frame.loc[frame["_qs"] < 0].iloc[0]
                raise ValueError(f"crossed quote for {bad['symbol']} at {bad['_ts']}: "
                                 f"bid {bad['bid']} > ask {bad['ask']}")
        agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        if has_quotes:
            agg["_qs"] = "mean"
        daily = frame.groupby(["symbol", "_day"], sort=True).agg(agg)
        if has_quotes and not intraday:
            # daily bars quote at the close: rescale to the session average
            daily["_qs"] = daily["_qs"] / float(sprof.at(SESSION_MINUTES - 1e-9))

        rows = {}
        intraday_by_symbol = dict(tuple(frame.groupby("symbol", sort=False))) if intraday else {}
        bar_minutes = _bar_minutes(frame) if intraday else np.nan
        for symbol, d in daily.groupby(level="symbol", sort=True):
            d = d.droplevel("symbol")
            window = d.iloc[-self.spread_lookback_days:]
            if intraday:
                # on intraday bars the estimators see far less volatility per bar than on
                # daily bars, so they are run on the bars of the look-back days themselves
                bars_sym = intraday_by_symbol[symbol]
                spread_bars = bars_sym[bars_sym["_day"] >= window.index[0]]
            else:
                spread_bars = window
            rows[symbol] = self._fit_symbol(d, window, spread_bars, has_quotes)
            rows[symbol].update(self._fit_daily_vol(d, intraday_by_symbol.get(symbol),
                                                    bar_minutes))
        state = pd.DataFrame.from_dict(rows, orient="index")
        self.symbols_ = state.index.to_numpy()
        self.spread_bps_ = state["spread_bps"].astype(float)
        self.spread_method_ = state["spread_method"].astype(str)
        self.daily_vol_ = state["daily_vol"].astype(float)
        self.daily_vol_method_ = state["daily_vol_method"].astype(str)
        self.adv_ = state["adv"].astype(float)
        self.last_price_ = state["last_price"].astype(float)
        self.spread_profile_ = sprof
        self.volume_profile_ = vprof
        self.fitted_through_ = ts.max()
        return self

    def refresh_state(self, closes: pd.DataFrame, volume: pd.DataFrame | None = None
                      ) -> CostModel:
        """Bring each fitted symbol's daily volatility and ADV up to date from sessions that
        closed since the fit, with :meth:`fit`'s estimators and windows: the close-to-close
        std of the last ``vol_lookback_days`` returns once ``vol_min_daily_returns`` are there,
        the mean volume of the last ``adv_lookback_days`` sessions that traded once that many
        are there. A symbol with fewer keeps its fitted value; the spread, the profiles and the
        parameters are kept. Why: a model fitted once prices a long replay's 2022 orders with
        1990's ADV and volatility (the trading loop calls it at each decision).

        ``closes``, ``volume``: wide (session dates x symbols), only sessions that closed
        before the decision. Sets ``refreshed_through_`` (the last session read); returns
        self."""
        if not hasattr(self, "symbols_"):
            raise ValueError("refresh_state: the cost model is not fitted (fit it first)")
        vol = np.array(self.daily_vol_, dtype=float)
        adv = np.array(self.adv_, dtype=float)
        method = np.array(self.daily_vol_method_, dtype=object)
        last = np.array(self.last_price_, dtype=float)
        names = [str(s) for s in self.symbols_]
        close_v = closes.reindex(columns=names).to_numpy(float)
        volume_v = (None if volume is None
                    else volume.reindex(columns=names).to_numpy(float))
        for k in range(len(names)):
            c = close_v[:, k]
            c = c[np.isfinite(c) & (c > 0)]
            if len(c) - 1 >= self.vol_min_daily_returns:
                vol[k] = close_to_close_vol(c, self.vol_lookback_days)
                method[k] = CLOSE_TO_CLOSE
            if len(c):
                last[k] = c[-1]
            if volume_v is not None:
                v = volume_v[:, k]
                v = v[np.isfinite(v) & (v > 0)][-self.adv_lookback_days:]
                if len(v) == self.adv_lookback_days:
                    adv[k] = float(v.mean())
        index = self.daily_vol_.index
        self.daily_vol_ = pd.Series(vol, index=index, name=self.daily_vol_.name)
        self.daily_vol_method_ = pd.Series(method, index=index, name=self.daily_vol_method_.name)
        self.adv_ = pd.Series(adv, index=index, name=self.adv_.name)
        self.last_price_ = pd.Series(last, index=index, name=self.last_price_.name)
        self.refreshed_through_ = closes.index.max() if len(closes.index) else None
        return self

    def _fit_symbol(self, d: pd.DataFrame, window: pd.DataFrame, spread_bars: pd.DataFrame,
                    has_quotes: bool) -> dict:
        spread, method = np.nan, "none"
        if self.spread_source == "quotes" and has_quotes and window["_qs"].notna().any():
            spread, method = float(window["_qs"].mean()), "quotes"
        else:
            order = [self.spread_source] if self.spread_source in SPREAD_ESTIMATORS else []
            order += [m for m in SPREAD_ESTIMATORS if m not in order]
            for m in order:
                value = _bar_spread(m, spread_bars)
                if value > 0:
                    spread, method = value, m
                    break
        return {
            "spread_bps": spread * 1e4, "spread_method": method,
            "adv": float(d["volume"].iloc[-self.adv_lookback_days:].mean()),
            "last_price": float(d["close"].iloc[-1]),
        }

    def _fit_daily_vol(self, d: pd.DataFrame, intraday_bars: pd.DataFrame | None,
                       bar_minutes: float) -> dict:
        """Close-to-close when there are ``vol_min_daily_returns`` daily returns (or no
        intraday bars), else 5-minute realised volatility over the look-back sessions."""
        closes = d["close"].to_numpy(float)
        n_returns = min(len(closes) - 1, self.vol_lookback_days)
        if n_returns >= self.vol_min_daily_returns or intraday_bars is None:
            vol = close_to_close_vol(closes, self.vol_lookback_days)
            return {"daily_vol": vol,
                    "daily_vol_method": CLOSE_TO_CLOSE if np.isfinite(vol) else NO_ESTIMATE}
        recent = intraday_bars[intraday_bars["_day"] >= d.index[-self.vol_lookback_days:][0]]
        vol, _ = intraday_realised_vol(recent, bar_minutes)
        return {"daily_vol": vol,
                "daily_vol_method": INTRADAY_REALISED if np.isfinite(vol) else NO_ESTIMATE}

    # ---------------------------------------------------------------------- helpers
    def _profiles(self) -> tuple[TimeOfDayProfile, TimeOfDayProfile]:
        sprof = getattr(self, "spread_profile_", None) or self.spread_profile
        vprof = getattr(self, "volume_profile_", None) or self.volume_profile
        return sprof or _DEFAULT_SPREAD, vprof or _DEFAULT_VOLUME

    def _tables(self) -> np.ndarray:
        """Cumulative per-minute tables (4 x 391) the kernel integrates: spread, volume,
        spread x volume, volume^-beta."""
        sprof, vprof = self._profiles()
        key = (id(sprof), id(vprof), self.almgren_beta)
        cache = self.__dict__.get("_table_cache")
        if cache is not None and cache[0] == key:
            return cache[1]
        s = sprof.minute_grid()
        v = vprof.minute_grid()
        rows = np.stack([s, v, s * v, v ** (-self.almgren_beta)])
        table = np.concatenate([np.zeros((4, 1)), np.cumsum(rows, axis=1)], axis=1)
        table = np.ascontiguousarray(table)
        self.__dict__["_table_cache"] = (key, table, sprof, vprof)
        return table

    def _schedule(self) -> FeeSchedule:
        if isinstance(self.fee_schedule, FeeSchedule):
            return self.fee_schedule
        return fee_schedule(self.fee_schedule, flat_bps=self.flat_fee_bps)

    def fee_table(self, date) -> FeeTable:
        """The model's fee schedule as in force on ``date``."""
        return self._schedule().as_of(date)

    def _params(self) -> np.ndarray:
        return np.array([
            0.0 if self.impact_law == "square_root" else 1.0, self.sqrt_impact_y,
            self.almgren_eta, self.almgren_beta, self.almgren_gamma, self.max_participation,
            self.pov_rate, self.risk_aversion, self.market_order_minutes,
            self.child_order_minutes, self.limit_queue_half_spreads,
            1.0 if self.limit_cleanup else 0.0,
        ])

    # -------------------------------------------------------------------- fast path
    def predict_arrays(
        self, *, quantity, price, adv, daily_vol, spread_bps, algorithm, is_sell, start_minute,
        horizon_minutes, limit_offset_bps, shares_outstanding=None, fees_on=None,
        order_ids=None, min_child_shares=None,
    ) -> CostEstimate:
        """Vectorised core of :meth:`predict` on plain arrays (one element per order).

        quantity (shares, > 0), price ($), adv (shares/day), daily_vol (fraction),
        spread_bps (session-average full spread, bps), algorithm (int codes of
        ``ALGORITHM_CODES``), is_sell (bool), start_minute (minutes after 09:30 ET),
        horizon_minutes (> 0), limit_offset_bps (passive offset, bps; used by limit orders),
        shares_outstanding (NaN = unknown), fees_on (a date or a :class:`FeeTable`; None = the
        latest schedule version), min_child_shares (fee-aware slicing's smallest child of
        each sliced order, shares; None or NaN = no minimum). A bad element raises ``ValueError`` naming the order (its
        id from ``order_ids``, else its position).
        """
        f64 = np.float64
        q = _arr(quantity, f64)
        n = q.shape[0]
        if shares_outstanding is None:
            turnover = np.full(n, float(self.turnover_ratio))
        else:
            theta = np.asarray(shares_outstanding, dtype=f64) / np.asarray(adv, dtype=f64)
            turnover = np.where(np.isnan(theta), float(self.turnover_ratio), theta)
        if isinstance(fees_on, FeeTable):
            table = fees_on
        else:
            table = self._schedule().as_of(fees_on if fees_on is not None else _FAR_FUTURE)
        out = np.empty((len(OUTPUT_FIELDS), n))
        price = _arr(price, f64)
        min_child = (np.ones(n) if min_child_shares is None else
                     np.nan_to_num(_arr(min_child_shares, f64), nan=1.0))
        bad, code = strategy_cost_kernel(
            q, price, _arr(adv, f64), _arr(daily_vol, f64), _arr(spread_bps, f64),
            _arr(algorithm, np.int64), _arr(is_sell, np.bool_), _arr(start_minute, f64),
            _arr(horizon_minutes, f64), _arr(limit_offset_bps, f64), turnover, min_child,
            self._params(),
            self._tables(), table.per_share, table.value_rate, table.minimum, table.maximum,
            table.max_fraction, table.sells_only, out,
        )
        if bad >= 0:
            field, must = INPUT_ERRORS[code]
            who = f"order {order_ids[bad]!r}" if order_ids is not None else f"order #{bad}"
            values = {"quantity": quantity, "price": price, "adv": adv, "daily_vol": daily_vol,
                      "spread_bps": spread_bps, "horizon_minutes": horizon_minutes,
                      "algorithm": algorithm, "start_minute": start_minute,
                      "limit_offset_bps": limit_offset_bps,
                      "shares_outstanding": shares_outstanding}[field]
            raise ValueError(f"{who}: {field} must be {must}, got {np.asarray(values)[bad]!r}")
        return CostEstimate(q * price, *out[:10], out[10] > 0)

    # -------------------------------------------------------------------- DataFrame path
    def _order_arrays(self, orders: pd.DataFrame, market: pd.DataFrame | None) -> dict:
        """Validate a batch of orders (+ market state) and turn it into kernel arrays."""
        self._check_params()
        missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
        if missing:
            raise ValueError(f"orders lack required column(s) {missing}; expected "
                             f"{list(ORDER_COLUMNS)} (+ optional limit_offset_bps)")
        n = len(orders)
        id_index = pd.Index(orders["order_id"], name="order_id")
        ids = orders["order_id"].to_numpy()
        if id_index.has_duplicates:
            dup = id_index[id_index.duplicated()]
            raise ValueError(f"duplicate order_id(s): {sorted({str(i) for i in dup})[:5]}")
        symbol_values = orders["symbol"].array
        symbols = orders["symbol"].to_numpy()

        def categorical(col: str, mapping: dict, must: str) -> np.ndarray:
            # parse the few distinct values once, not every row
            codes, uniques = pd.factorize(orders[col])
            lookup = np.array([mapping.get(str(u).strip().lower(), -1) for u in uniques] + [-1])
            parsed = lookup[codes]  # factorize marks missing values -1 -> last entry, -1
            if (parsed < 0).any():
                raise ValueError(f"{col} must be {must}: "
                                 + _listing(ids, symbols, orders[col].to_numpy(),
                                            np.flatnonzero(parsed < 0)))
            return parsed

        is_sell = categorical("side", {"buy": 0, "sell": 1}, "'buy' or 'sell'").astype(bool)
        codes = categorical("algorithm", ALGORITHM_CODES, f"one of {ALGORITHMS}").astype(np.int64)

        def positive(col: str, must: str) -> np.ndarray:
            values = pd.to_numeric(orders[col], errors="coerce").to_numpy(float)
            bad = ~(values > 0) | ~np.isfinite(values)
            if bad.any():
                raise ValueError(f"{col} must be {must}: "
                                 + _listing(ids, symbols, orders[col].to_numpy(),
                                            np.flatnonzero(bad)))
            return values

        qty = positive("quantity", "a positive number of shares")
        horizon = positive("horizon_minutes", "positive")
        if "limit_offset_bps" in orders.columns:
            offset = pd.to_numeric(orders["limit_offset_bps"], errors="coerce").to_numpy(float)
            offset = np.where(np.isnan(offset), float(self.limit_offset_bps), offset)
        else:
            offset = np.full(n, float(self.limit_offset_bps))
        min_child = np.ones(n)
        if "min_child_shares" in orders.columns:
            min_child = pd.to_numeric(orders["min_child_shares"], errors="coerce").to_numpy(float)
            bad = ~np.isnan(min_child) & ~(min_child >= 1)
            if bad.any():
                raise ValueError("min_child_shares must be >= 1 share (or empty): "
                                 + _listing(ids, symbols, orders["min_child_shares"].to_numpy(),
                                            np.flatnonzero(bad)))
        start_ts = pd.DatetimeIndex(pd.to_datetime(orders["start_time"]))
        bad = np.asarray(start_ts.isna())
        if bad.any():
            raise ValueError("start_time must be a timestamp: "
                             + _listing(ids, symbols, orders["start_time"].to_numpy(),
                                        np.flatnonzero(bad)))
        if start_ts.tz is not None:
            start_ts = start_ts.tz_convert(EXCHANGE_TZ).tz_localize(None)
        wall = start_ts.as_unit("s").asi8  # New York wall-clock seconds
        start = (wall % 86_400) / 60.0 - 570.0
        dates = (wall // 86_400).astype("datetime64[D]")

        if market is not None:
            mkt_symbols = market.index.astype(str)
            if mkt_symbols.has_duplicates:
                raise ValueError(f"market frame lists symbol(s) more than once: "
                                 f"{sorted(set(mkt_symbols[mkt_symbols.duplicated()]))[:5]}")
            mkt_pos = mkt_symbols.get_indexer(symbol_values)
        else:
            mkt_pos = np.full(n, -1)
        fit_pos = (pd.Index(self.symbols_.astype(str)).get_indexer(symbol_values)
                   if hasattr(self, "symbols_") else np.full(n, -1))
        unknown = (mkt_pos < 0) & (fit_pos < 0)
        if unknown.any():
            raise ValueError("unknown symbol (not in the market frame and not fitted): "
                             + _listing(ids, symbols, symbols, np.flatnonzero(unknown)))
        fitted = {"price": "last_price_", "adv": "adv_", "daily_vol": "daily_vol_",
                  "spread_bps": "spread_bps_"}
        state = {}
        for col in MARKET_COLUMNS:
            values = np.full(n, np.nan)
            if market is not None and col in market.columns:
                column = pd.to_numeric(market[col], errors="coerce").to_numpy(float)
                values = np.where(mkt_pos >= 0, column[np.maximum(mkt_pos, 0)], np.nan)
            if col in fitted and hasattr(self, fitted[col]):
                column = getattr(self, fitted[col]).to_numpy(float)
                fallback = np.where(fit_pos >= 0, column[np.maximum(fit_pos, 0)], np.nan)
                values = np.where(np.isnan(values), fallback, values)
            state[col] = values
        rules = {"price": ("price must be a positive finite number", False),
                 "adv": ("adv must be a positive number of shares per day", False),
                 "daily_vol": ("daily_vol must be a finite fraction >= 0", True),
                 "spread_bps": ("spread_bps must be >= 0 (no fitted spread and none in the "
                                "market frame)", True)}
        for col, (message, zero_ok) in rules.items():
            v = state[col]
            bad = ~np.isfinite(v) | ((v < 0) if zero_ok else (v <= 0))
            if bad.any():
                raise ValueError(f"{message}: " + _listing(ids, symbols, v, np.flatnonzero(bad)))
        return {
            "ids": ids, "index": id_index, "symbols": symbol_values,
            "side": pd.Categorical.from_codes(is_sell.astype(np.int8), ["buy", "sell"]),
            "quantity": qty, "algorithm": codes, "is_sell": is_sell, "start_minute": start,
            "horizon_minutes": horizon, "limit_offset_bps": offset, "dates": dates,
            "min_child_shares": min_child, **state,
        }

    def _estimate(self, a: dict) -> CostEstimate:
        """Run the kernel once per distinct fee date (fee versions are per date)."""
        kwargs = {k: a[k] for k in ("quantity", "price", "adv", "daily_vol", "spread_bps",
                                    "algorithm", "is_sell", "start_minute", "horizon_minutes",
                                    "limit_offset_bps", "shares_outstanding",
                                    "min_child_shares")}
        dates = a["dates"]
        unique = np.unique(dates)
        if len(unique) == 1:
            return self.predict_arrays(**kwargs, fees_on=as_date(str(unique[0])),
                                       order_ids=a["ids"])
        parts = np.empty((len(fields(CostEstimate)), len(dates)))
        for day in unique:
            rows = np.flatnonzero(dates == day)
            est = self.predict_arrays(**{k: v[rows] for k, v in kwargs.items()},
                                      fees_on=as_date(str(day)), order_ids=a["ids"][rows])
            for j, f in enumerate(fields(CostEstimate)):
                parts[j, rows] = getattr(est, f.name)
        return CostEstimate(*parts[:-1], parts[-1] > 0)

    def predict(self, orders, market: pd.DataFrame | None = None):
        """Expected cost of each order under its algorithm.

        DataFrame in, DataFrame out: one row per order (index ``order_id``), costs in bps and
        in dollars (``*_usd`` = bps x notional / 1e4). ``market`` (indexed by symbol) may give
        price, adv, daily_vol, spread_bps, shares_outstanding; missing columns or NaN cells
        fall back to the fitted state.

        A mapping of arrays in (the keyword arguments of :meth:`predict_arrays`), a
        :class:`CostEstimate` out: the allocation-light path a trading loop uses on every bar,
        where building DataFrames would cost a hundred times the arithmetic.
        """
        if not isinstance(orders, pd.DataFrame):
            if market is not None:
                raise ValueError("with array input, pass market values as arrays in `orders`")
            return self.predict_arrays(**orders)
        a = self._order_arrays(orders, market)
        est = self._estimate(a)
        head = {"symbol": a["symbols"], "side": a["side"],
                "algorithm": pd.Categorical.from_codes(a["algorithm"], ALGORITHMS),
                "quantity": a["quantity"], "price": a["price"]}
        return est.to_frame(index=a["index"], leading=head)

    def compare_algorithms(self, orders: pd.DataFrame, market: pd.DataFrame | None = None,
                           algorithms=ALGORITHMS) -> pd.DataFrame:
        """Every order priced under each algorithm, ranked per order by expected cost +
        risk_aversion x variance (dollars). Index (order_id, algorithm); ``rank`` 1 = best."""
        unknown = [s for s in algorithms if s not in ALGORITHM_CODES]
        if unknown:
            raise ValueError(f"unknown algorithms {unknown}; choose from {ALGORITHMS}")
        a = self._order_arrays(orders.assign(algorithm="market"), market)
        k, n = len(algorithms), len(orders)
        take = np.tile(np.arange(n), k)
        rep = {key: v[take] for key, v in a.items()}
        rep["algorithm"] = np.repeat([ALGORITHM_CODES[s] for s in algorithms], n).astype(np.int64)
        est = self._estimate(rep)
        index = pd.MultiIndex.from_arrays(
            [rep["ids"], np.repeat(np.asarray(algorithms, dtype=object), n)],
            names=["order_id", "algorithm"])
        frame = est.to_frame(index=index, leading={"symbol": rep["symbols"]})
        frame["objective_usd"] = (frame["total_usd"]
                                  + self.risk_aversion * frame["timing_risk_usd"] ** 2)
        frame["rank"] = (frame.groupby(level="order_id", sort=False)["objective_usd"]
                         .rank(method="first").astype(int))
        return frame.sort_index(level="order_id", sort_remaining=False)


def _arr(values, dtype) -> np.ndarray:
    """C-contiguous, writeable array of ``dtype``: the compiled kernel is specialised on
    array flags, and pandas hands out read-only arrays."""
    return np.require(values, dtype=dtype, requirements=("C", "W"))


_DEFAULT_SPREAD = default_spread_profile()
_DEFAULT_VOLUME = default_volume_profile()
_FAR_FUTURE = as_date("2100-01-01")


def _bar_minutes(frame: pd.DataFrame) -> float:
    """Typical bar length in minutes: median spacing of a symbol's bars within a session."""
    gaps = frame.groupby(["symbol", "_day"], sort=False)["_ts"].diff().dropna()
    return float(gaps.dt.total_seconds().median() / 60.0) if len(gaps) else 1.0


def _bar_spread(method: str, d: pd.DataFrame) -> float:
    # intraday bars carry their session ("_day"): pairs across the overnight gap are left out
    sessions = d["_day"].to_numpy() if "_day" in d.columns else None
    try:
        if method == "corwin_schultz":
            return corwin_schultz(d["high"], d["low"], d["close"], sessions)
        if method == "abdi_ranaldo":
            return abdi_ranaldo(d["high"], d["low"], d["close"], sessions)
        return roll(d["close"], sessions)
    except ValueError:  # too few bars for this estimator: try the next one
        return np.nan
