"""Score drift: the live scores of a rolling window against the model's reference good scores.

Both sides are the parts the model passes: the live window's scores below
the reject threshold against the reference good scores below it (so the
line's defect rate does not read as drift, while good parts creeping up
towards the threshold, or all scores collapsing, do). Two figures:

- **PSI** (population stability index) over ``BINS`` bins cut at the
  reference's quantiles: < 0.1 stable, 0.1–0.25 moving, > 0.25 shifted.
- **Kolmogorov–Smirnov** two-sample test: ``ks`` the largest gap between
  the two cumulative distributions, ``ks_p`` its asymptotic p-value
  (scipy's ``kstwo``).

Drift is said when both agree: the shift is large (PSI ≥ ``psi_alert``) and
not chance (KS p < ``ks_alpha``); with few reference scores PSI alone is noisy.

``map_drift`` compares the window's mean 16×16 anomaly map with the
reference's (in units of the reference's spread per cell): where on the part
the anomaly maps move.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

BINS = 10
PSI_ALERT = 0.25
KS_ALPHA = 0.001
MAP_SIGMAS = 4.0


def psi(reference: Sequence[float], live: Sequence[float], bins: int = BINS) -> float | None:
    ref = np.asarray(reference, np.float64)
    cur = np.asarray(live, np.float64)
    if ref.size < 2 or cur.size < 2:
        return None
    bins = max(2, min(bins, ref.size // 5, cur.size // 5))     # a few values per bin, or PSI is noise
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    k = edges.size + 1
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=k)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=k)
    r = (r + 0.5) / (ref.size + 0.5 * k)        # half a count in each bin: an empty bin is not infinite
    c = (c + 0.5) / (cur.size + 0.5 * k)
    return float(np.sum((c - r) * np.log(c / r)))


def ks(reference: Sequence[float], live: Sequence[float]) -> tuple[float | None, float | None]:
    """Two-sample Kolmogorov–Smirnov: the largest gap between the two empirical CDFs and its asymptotic
    p-value (the Kolmogorov distribution for nm/(n+m) samples, as ``scipy.stats.ks_2samp(method="asymp")``);
    the statistic in numpy, a fraction of what scipy's wrapper costs."""
    ref = np.sort(np.asarray(reference, np.float64))
    cur = np.sort(np.asarray(live, np.float64))
    if ref.size < 2 or cur.size < 2:
        return None, None
    from scipy.stats import kstwo

    both = np.concatenate([ref, cur])
    d = float(np.max(np.abs(np.searchsorted(ref, both, side="right") / ref.size
                            - np.searchsorted(cur, both, side="right") / cur.size)))
    en = round(ref.size * cur.size / (ref.size + cur.size))
    return d, float(min(1.0, max(0.0, kstwo.sf(d, en))))


def score_drift(ref: dict[str, Any] | None, cut: float, live_scores: Sequence[float]) -> dict[str, Any]:
    """``{psi, ks, ks_p, window, reference_n, drifted}`` of the live scores below ``cut``; 'no reference' said."""
    live = np.asarray([s for s in live_scores if s is not None and np.isfinite(s) and s < cut], np.float64)
    out: dict[str, Any] = {"psi": None, "ks": None, "ks_p": None, "window": int(live.size), "drifted": False}
    if ref is None:
        out["note"] = "no reference: the model card has no reference scores (evaluate the model to add them)"
        return out
    from studio.monitoring.reference import good_below

    base = good_below(ref, cut)
    out["reference_n"] = int(base.size)
    if base.size < 2:
        out["note"] = "too few reference good scores below the threshold"
        return out
    out["psi"] = psi(base, live)
    out["ks"], out["ks_p"] = ks(base, live)
    for k in ("psi", "ks"):
        if out[k] is not None:
            out[k] = round(out[k], 4)
    if out["ks_p"] is not None:
        out["ks_p"] = float(f"{out['ks_p']:.3g}")
    out["live_median"] = float(np.median(live)) if live.size else None
    out["reference_median"] = float(np.median(base))
    out["drifted"] = bool(out["psi"] is not None and out["psi"] >= PSI_ALERT
                          and out["ks_p"] is not None and out["ks_p"] < KS_ALPHA)
    return out


def map_drift(ref: dict[str, Any] | None, window_mean: np.ndarray | None, n: int) -> dict[str, Any] | None:
    """Where the window's mean anomaly map departs from the reference: the cell, by how much, a coarse grid."""
    if ref is None or window_mean is None or "map_mean" not in ref or n <= 0:
        return None
    mean = np.asarray(ref["map_mean"], np.float32)
    std = np.asarray(ref["map_std"], np.float32)
    if mean.shape != window_mean.shape:
        return None
    floor = max(float(std.mean()), 1e-6)
    z = (window_mean - mean) / np.maximum(std, floor)
    r, c = np.unravel_index(int(np.argmax(np.abs(z))), z.shape)
    h, w = z.shape
    return {"cell": [int(r), int(c)], "where": f"{'top' if r < h / 3 else 'bottom' if r >= 2 * h / 3 else 'middle'}"
            f"-{'left' if c < w / 3 else 'right' if c >= 2 * w / 3 else 'centre'}",
            "z": round(float(z[r, c]), 2), "moved": bool(abs(z[r, c]) >= MAP_SIGMAS), "parts": int(n),
            "grid": np.round(z, 1).tolist()}
