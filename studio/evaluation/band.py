"""The cost model with a review band: the cheapest pair of thresholds when a manual review has a price.

With a band ``[low, high)`` a part scoring below ``low`` passes, at or above
``high`` is rejected, and in between goes to a person, who is assumed to
judge it right. Per 1,000 parts, with ``p`` the line's defect rate,

    cost = 1000 · ( p · (1 − R(low)) · escape_cost            defects passed
                  + (1 − p) · F(high) · false_reject_cost      good parts rejected
                  + (p · (R(low) − R(high)) + (1 − p) · (F(low) − F(high))) · review_cost )

R is recall and F the false-reject rate of a threshold on the test split.
The cost splits into a part that depends on ``low`` only and one that
depends on ``high`` only, so the cheapest band over all cuts
(``high`` at or above ``low``) is found in one pass with a running minimum.
Without a band (``low == high``) it is ``picker.cheapest``'s cost.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.evaluation.picker import _arrays, cost_curve


def _rates(y: np.ndarray, s: np.ndarray, t: float) -> tuple[float, float]:
    rejected = s >= t
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((rejected & y).sum()) / n_pos, float((rejected & ~y).sum()) / n_neg


def expected_cost(y, s, low: float, high: float | None, escape_cost: float, false_reject_cost: float,
                  defect_rate: float, review_cost: float = 0.0) -> float:
    """Expected cost per 1,000 parts with the threshold ``low`` and review up to ``high`` (None: no band)."""
    cost_curve(y, s, escape_cost, false_reject_cost, defect_rate)        # checks inputs and classes
    y, s = _arrays(y, s)
    high = low if high is None or high < low else high
    r_lo, f_lo = _rates(y, s, low)
    r_hi, f_hi = _rates(y, s, high)
    p = defect_rate
    return 1000.0 * (p * (1 - r_lo) * escape_cost + (1 - p) * f_hi * false_reject_cost
                     + (p * (r_lo - r_hi) + (1 - p) * (f_lo - f_hi)) * review_cost)


def cheapest_band(y, s, escape_cost: float, false_reject_cost: float, defect_rate: float,
                  review_cost: float) -> dict[str, Any]:
    """The cheapest ``(low, high)`` over all cuts; ``review_up_to`` is None when no band pays off."""
    if not review_cost >= 0:
        raise StudioError(f"review cost {review_cost!r} must be zero or more",
                          hint="give what one manual review of a part costs, e.g. 0.5")
    c = cost_curve(y, s, escape_cost, false_reject_cost, defect_rate)
    p, r, f = defect_rate, c["recall"], c["false_reject_rate"]
    # cut index k: larger k = lower threshold. low = cut kl, high = cut kh with kh <= kl
    a = p * (1 - r) * escape_cost + review_cost * (p * r + (1 - p) * f)          # depends on low only
    b = (1 - p) * f * false_reject_cost - review_cost * (p * r + (1 - p) * f)      # depends on high only
    b = np.round(b, 12)
    best_b = np.minimum.accumulate(b)
    arg_b = np.zeros(len(b), dtype=int)            # where the running minimum was first reached: highest t
    for k in range(1, len(b)):
        arg_b[k] = k if b[k] < b[arg_b[k - 1]] else arg_b[k - 1]
    total = np.round(1000.0 * (a + best_b), 9)
    kl = int(np.argmin(total))
    kh = int(arg_b[kl])
    low, high = float(c["threshold"][kl]), float(c["threshold"][kh])
    review_share = p * (r[kl] - r[kh]) + (1 - p) * (f[kl] - f[kh])
    precision = c["precision"][kl]
    return {"how": "cost", "escape_cost": float(escape_cost), "false_reject_cost": float(false_reject_cost),
            "defect_rate": float(defect_rate), "review_cost": float(review_cost),
            "threshold": low, "review_up_to": high if kh < kl else None,
            "cost_per_1000": float(total[kl]), "review_share_on_line": float(review_share),
            "recall": float(r[kl]), "false_reject_rate": float(f[kh]),
            "precision": None if np.isnan(precision) else float(precision)}
