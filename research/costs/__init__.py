"""Pre-trade transaction-cost model: spread, impact, timing and opportunity cost, fees,
optimal schedules and calibration.

The model is a *predictor* used to rank algorithms, size participation and estimate cost
before trading, and the yardstick of transaction-cost analysis. The simulated broker never
calls it (DESIGN.md, "No circularity").

Input contract of :meth:`CostModel.predict`
-------------------------------------------
``orders`` — one row per parent order:

=================  ======================================================================
order_id           unique id; every validation error names it
symbol             str
side               "buy" / "sell" (case-insensitive)
quantity           shares, > 0
algorithm           "market", "limit", "twap", "vwap", "pov", "is"
start_time         timestamp (tz-aware, or naive = New York time); outside 09:30-16:00 the
                   order starts at the (next) open; its date selects the fee-schedule version
horizon_minutes    > 0: the schedule length (twap/vwap), the deadline (pov/is), the resting
                   time (limit); ignored by market orders
limit_offset_bps   optional: limit price distance from the arrival mid, positive = passive;
                   NaN / absent = the model's ``limit_offset_bps``
min_child_shares   optional: fee-aware slicing's smallest child (twap/vwap/pov/is), shares;
                   the order is predicted in at most ceil(quantity / it) children; NaN /
                   absent = no minimum
=================  ======================================================================

``market`` — optional DataFrame **indexed by symbol**, columns (each optional; a missing
column or NaN cell falls back to what :meth:`CostModel.fit` learned; a value needed but known
nowhere is an error naming the order):

==================  =====================================================================
price               arrival mid, $
adv                 average daily volume, shares
daily_vol           daily return volatility, fraction (0.02 = 2%)
spread_bps          session-average full bid-ask spread, bps; the time-of-day profile
                    scales it to the order's execution window (from a live quote q at
                    minute m pass q / spread_profile.at(m))
shares_outstanding  shares; Almgren 2005 permanent impact (NaN = turnover-ratio fallback)
==================  =====================================================================

Output: one row per order (index ``order_id``) with ``spread``, ``temporary_impact``,
``permanent_impact``, ``timing_risk`` (a standard deviation), ``opportunity_cost``, ``fees``
and ``total`` in ``*_bps`` (of the notional) and ``*_usd`` (= bps x notional / 1e4), plus
``participation``, ``duration_minutes``, ``fill_probability`` and
``exceeds_participation_cap``. Costs are positive when they cost the trader, for either side.

The package imports lazily (names resolve on first use), so ``qlab costs --help`` does not pay
for numpy, pandas or numba.
"""

from __future__ import annotations

from research.lazy import lazy_names

_EXPORTS = {
    "AlmgrenChriss": "_almgren_chriss",
    "AlmgrenChrissSchedule": "_almgren_chriss",
    "EfficientFrontier": "_almgren_chriss",
    "CostModel": "_model",
    "CostEstimate": "_model",
    "ImpactCalibration": "_calibration",
    "calibrate_impact": "_calibration",
    "calibrate_spread_profile": "_calibration",
    "load_calibration": "_calibration",
    "FeeComponent": "_fees",
    "FeeSchedule": "_fees",
    "FeeTable": "_fees",
    "compute_fees": "_fees",
    "fee_schedule": "_fees",
    "load_fee_schedules": "_fees",
    "square_root_impact": "_impact",
    "almgren_temporary_impact": "_impact",
    "almgren_permanent_impact": "_impact",
    "ParticipationPlan": "_participation",
    "optimal_participation": "_participation",
    "TimeOfDayProfile": "_profile",
    "default_spread_profile": "_profile",
    "default_volume_profile": "_profile",
    "estimate_spread_profile": "_profile",
    "estimate_volume_profile": "_profile",
    "minutes_since_open": "_profile",
    "quoted_spread": "_spread",
    "corwin_schultz": "_spread",
    "abdi_ranaldo": "_spread",
    "roll": "_spread",
    "rolling_corwin_schultz": "_spread",
    "rolling_abdi_ranaldo": "_spread",
    "rolling_roll": "_spread",
    "estimate_spreads": "_spread",
    "ALGORITHMS": "_algorithms",
    "ALGORITHM_CODES": "_algorithms",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_names(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
