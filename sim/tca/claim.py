"""The seed report's claim the execution-comparison study tests, stated once.

Optimised execution cuts costs by 15-18% versus market orders (market about 20.7 bps, limit
about 17.9 bps, TWAP about 16.2 bps). The claim **holds** for a strategy only when its whole
95% interval of the % reduction lies inside the band widened by :data:`CLAIM_TOLERANCE_PP`
points each side (zero: the band as claimed). An interval can only do that once its half width
is at most :data:`CLAIM_RESOLUTION_PP`, half the band (to tell 15% from 18%). The study,
the verdict, the "days needed" figures and the report all read these constants.
"""

from __future__ import annotations

#: % reduction versus market orders the seed report claims.
CLAIM_REDUCTION_PCT = (15.0, 18.0)
#: Points the band is widened each side before an interval counts as inside it: none.
CLAIM_TOLERANCE_PP = 0.0
#: The accepted band, tolerance included.
CLAIM_BAND = (CLAIM_REDUCTION_PCT[0] - CLAIM_TOLERANCE_PP,
              CLAIM_REDUCTION_PCT[1] + CLAIM_TOLERANCE_PP)
#: Half width an interval needs before it can fit inside the accepted band.
CLAIM_RESOLUTION_PP = (CLAIM_BAND[1] - CLAIM_BAND[0]) / 2.0
#: The smallest saving the claim asserts, as a fraction of the market-order cost: what the
#: "days needed" figures are powered to detect.
CLAIM_MIN_SAVING = CLAIM_REDUCTION_PCT[0] / 100.0
#: The seed report's per-strategy levels (bps).
CLAIM_IS_BPS = {"market": 20.7, "limit": 17.9, "twap": 16.2}


def band_text() -> str:
    """'15-18%' (with the tolerance when there is one)."""
    lo, hi = CLAIM_REDUCTION_PCT
    text = f"{lo:g}-{hi:g}%"
    return text + (f" (±{CLAIM_TOLERANCE_PP:g} points)" if CLAIM_TOLERANCE_PP else "")
