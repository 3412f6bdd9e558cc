"""Confidence intervals for a share measured on a finite test split.

A test split is small: "recall 100 %" on 37 defective images only says the
true recall is at least 90.6 % with 95 % confidence. ``wilson`` is the
interval the studio reports (good coverage, never outside 0..1, defined for
0 and n); ``clopper_pearson`` is the exact (conservative) one, given beside
it. Pure Python: no scipy at run time.
"""
from __future__ import annotations

import math
from statistics import NormalDist

CONFIDENCE = 0.95


def z_for(confidence: float = CONFIDENCE) -> float:
    """Two-sided normal quantile: 1.96 for 95 %."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} must be between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"{k} of {n} is not a count")


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Wilson score interval for ``k`` successes in ``n`` trials; ``None`` when ``n`` is 0."""
    _check(k, n)
    if n == 0:
        return None
    z = z_for(confidence)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    # exact ends at 0 and n (rounding would otherwise give 1 - 1e-17)
    return (0.0 if k == 0 else lo, 1.0 if k == n else hi)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q, by bisection (60 halvings: below 1e-15)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Exact (Clopper–Pearson) interval; ``None`` when ``n`` is 0."""
    _check(k, n)
    if n == 0:
        return None
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else beta_ppf(alpha / 2.0, k, n - k + 1)
    hi = 1.0 if k == n else beta_ppf(1.0 - alpha / 2.0, k + 1, n - k)
    if k == n:                                   # closed form, exactly
        lo = (alpha / 2.0) ** (1.0 / n)
    if k == 0:
        hi = 1.0 - (alpha / 2.0) ** (1.0 / n)
    return lo, hi


def share(k: int, n: int, confidence: float = CONFIDENCE) -> dict | None:
    """A measured share with both intervals, as reports and the GUI show it; ``None`` when n is 0."""
    if n == 0:
        return None
    w, cp = wilson(k, n, confidence), clopper_pearson(k, n, confidence)
    return {"value": k / n, "k": int(k), "n": int(n), "confidence": confidence,
            "wilson": [w[0], w[1]], "clopper_pearson": [cp[0], cp[1]]}


def kappa_interval(po: float, pe: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Cohen's kappa's normal interval from its observed and chance agreement over ``n`` items, with
    Cohen's (1960) standard error sqrt(po (1 - po) / (n (1 - pe)^2)), clipped to -1..1; None when undefined."""
    if n <= 0 or pe >= 1.0:
        return None
    kappa = (po - pe) / (1.0 - pe)
    se = math.sqrt(max(0.0, po * (1.0 - po)) / (n * (1.0 - pe) ** 2))
    z = z_for(confidence)
    return max(-1.0, kappa - z * se), min(1.0, kappa + z * se)


def pct(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None else f"{100 * v:.{digits}f} %"


def in_words(name: str, s: dict | None, *, what: str = "") -> str:
    """One sentence a line engineer can act on, e.g. the 37-of-37 recall case.

    "recall 100.0 % (37 of 37 defective parts): at least 90.6 % with 95 %
    confidence (Wilson; 90.5 % by Clopper–Pearson)".
    """
    if s is None:
        return f"{name}: unknown ({what or 'nothing to measure it on'})"
    k, n, conf = s["k"], s["n"], s["confidence"]
    (wl, wh), (cl, ch) = s["wilson"], s["clopper_pearson"]
    counted = f"{name} {pct(s['value'])} ({k} of {n}{' ' + what if what else ''})"
    c = f"{round(100 * conf)} %"
    if k == n:
        return f"{counted}: at least {pct(wl)} with {c} confidence (Wilson; {pct(cl)} by Clopper–Pearson)"
    if k == 0:
        return f"{counted}: at most {pct(wh)} with {c} confidence (Wilson; {pct(ch)} by Clopper–Pearson)"
    return (f"{counted}: between {pct(wl)} and {pct(wh)} with {c} confidence "
            f"(Wilson; {pct(cl)}–{pct(ch)} by Clopper–Pearson)")
