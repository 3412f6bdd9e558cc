"""Choosing the threshold: by cost, by a recall target, or by a false-reject target.

The test split's distinct scores ``s_0 > s_1 > … > s_{m-1}`` give ``m + 1``
different decisions ("cuts"): cut ``k`` rejects the parts scoring ``s_0 …
s_{k-1}``. Each cut's threshold sits halfway between the lowest score it
rejects and the next lower one (so a new part scoring a hair below a
rejected one is judged like its neighbour, not on a knife's edge); the two
outer cuts are half a mean gap beyond the extreme scores.

Cost model: with ``p`` the expected defect rate on the line, an escaped
defect costing ``escape_cost`` and a scrapped good part ``false_reject_cost``,

    cost per 1,000 parts = 1000 · (p · (1 − recall) · escape_cost + (1 − p) · FRR · false_reject_cost)

Recall and the false-reject rate (FRR) come from the test split; the defect
rate comes from the line, not from the test split (which is usually enriched
with defects). Ties go to the higher threshold (fewer rejects).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from studio.core.errors import StudioError


def _arrays(y, s):
    y = np.asarray(y).astype(bool).ravel()
    s = np.asarray(s, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if not len(s):
        raise StudioError("the test split has no labeled images to choose a threshold on",
                          hint="label some test images OK or NG (Label step), then evaluate again")
    if not np.isfinite(s).all():
        raise StudioError("the model gave a score that is not a number on some test images",
                          hint="retrain the model; its scores must be finite")
    return y, s


def cut_thresholds(s) -> np.ndarray:
    """The threshold of every cut, descending: index k rejects the k highest distinct scores."""
    d = np.unique(np.asarray(s, dtype=np.float64))[::-1]
    m = len(d)
    gap = (d[0] - d[-1]) / (m - 1) if m > 1 else 0.1 * max(1.0, abs(float(d[0])))
    ext = np.r_[d[0] + gap, d, d[-1] - gap]
    return (ext[:-1] + ext[1:]) / 2.0


def _cut_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tp and fp of every cut (cut 0 rejects nothing), in O(n log n)."""
    from studio.evaluation.metrics import _counts_by_threshold

    _, tp, fp = _counts_by_threshold(y, s)
    return np.r_[0, tp], np.r_[0, fp]


def curve(y, s) -> dict[str, np.ndarray]:
    """Per cut: threshold, tp, fp, recall (NaN without defects), false-reject rate (NaN without good parts)."""
    y, s = _arrays(y, s)
    t = cut_thresholds(s)
    tp, fp = _cut_counts(y, s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / n_pos if n_pos else np.full(len(t), np.nan)
        frr = fp / n_neg if n_neg else np.full(len(t), np.nan)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
    return {"threshold": t, "tp": tp, "fp": fp, "recall": recall, "false_reject_rate": frr,
            "precision": precision}


def _check_costs(escape_cost: float, false_reject_cost: float, defect_rate: float) -> None:
    if not (escape_cost >= 0 and false_reject_cost >= 0) or escape_cost + false_reject_cost <= 0:
        raise StudioError(f"costs {escape_cost!r} (escaped defect) and {false_reject_cost!r} (scrapped good "
                          f"part) must be zero or more, and not both zero",
                          hint="give what one escaped defect and one scrapped good part cost, e.g. 500 and 2")
    if not 0.0 <= defect_rate <= 1.0:
        raise StudioError(f"defect rate {defect_rate!r} must be a share between 0 and 1",
                          hint="write 0.02 for 2 % defective parts on the line")


def cost_curve(y, s, escape_cost: float, false_reject_cost: float, defect_rate: float) -> dict[str, np.ndarray]:
    """``curve`` plus ``cost_per_1000`` at every cut (needs defective and good test parts)."""
    _check_costs(escape_cost, false_reject_cost, defect_rate)
    y, s = _arrays(y, s)
    if not y.any():
        raise StudioError("the cost model needs recall, and recall is unknown: the test split has no "
                          "defective parts", hint="choose the threshold by a false-reject target instead "
                                                  "(--false-reject-target), or label defective test parts")
    if y.all():
        raise StudioError("the cost model needs the false-reject rate, and the test split has no good parts",
                          hint="label good parts in the test split too")
    c = curve(y, s)
    c["cost_per_1000"] = 1000.0 * (defect_rate * (1.0 - c["recall"]) * escape_cost
                                   + (1.0 - defect_rate) * c["false_reject_rate"] * false_reject_cost)
    return c


def _pick(c: dict[str, np.ndarray], k: int, how: str, **params: Any) -> dict[str, Any]:
    def val(key):
        v = float(c[key][k])
        return None if np.isnan(v) else v

    out = {"how": how, **params, "threshold": float(c["threshold"][k]), "recall": val("recall"),
           "false_reject_rate": val("false_reject_rate"), "precision": val("precision")}
    if "cost_per_1000" in c:
        out["cost_per_1000"] = float(c["cost_per_1000"][k])
    return out


def cheapest(y, s, escape_cost: float, false_reject_cost: float, defect_rate: float) -> dict[str, Any]:
    """The cut with the lowest expected cost per 1,000 parts (the higher threshold on a tie)."""
    c = cost_curve(y, s, escape_cost, false_reject_cost, defect_rate)
    costs = np.round(c["cost_per_1000"], 9)          # float noise must not break ties
    k = int(np.argmin(costs))
    return _pick(c, k, "cost", escape_cost=float(escape_cost), false_reject_cost=float(false_reject_cost),
                 defect_rate=float(defect_rate))


def for_recall_target(y, s, target: float, *, classes: Sequence[str | None] | None = None,
                      only: Sequence[str] | None = None) -> dict[str, Any]:
    """The most precise cut whose recall is at least ``target``.

    ``only`` restricts the recall to defects of those classes ("catch at
    least 99.5 % of critical defects"); precision stays over all parts.
    """
    if not 0.0 < target <= 1.0:
        raise StudioError(f"recall target {target!r} must be a share above 0 and at most 1",
                          hint="write 0.995 for 99.5 %")
    y, s = _arrays(y, s)
    which = y.copy()
    if only:
        wanted = set(only)
        cls = list(classes) if classes is not None else [None] * len(y)
        which = np.array([bool(d) and c in wanted for d, c in zip(y, cls)])
        if not which.any():
            raise StudioError(f"the test split has no defective parts of class {', '.join(sorted(wanted))}, "
                              f"so their recall is unknown",
                              hint="label defective test parts of those classes, or drop the class filter")
    elif not y.any():
        raise StudioError("a recall target needs defective parts in the test split, and it has none: "
                          "recall is unknown", hint="use a false-reject target (--false-reject-target) instead")
    c = curve(y, s)
    sub_recall = _cut_counts(which, s)[0] / which.sum()
    ok = np.nonzero(sub_recall >= target - 1e-12)[0]      # the reject-everything cut always qualifies
    precision = np.nan_to_num(c["precision"], nan=-1.0)
    best = ok[np.argmax(precision[ok])]                    # first maximum: the highest threshold
    out = _pick(c, int(best), "recall_target", recall_target=float(target))
    if only:
        out["classes"] = sorted(set(only))
        out["class_recall"] = float(sub_recall[best])
    n = int(which.sum())
    caught = int(round(float(sub_recall[best]) * n))
    out.update(target_evidence(caught, n, float(target)))
    return out


def defects_needed(target: float, confidence: float = 0.95) -> int:
    """How many defective test parts, all caught, it takes before the Wilson lower bound reaches ``target``:
    1 / (1 + z²/n) >= target  <=>  n >= z² · target / (1 − target)."""
    from studio.evaluation.intervals import z_for

    if target >= 1.0:
        return -1                                  # never: no finite test split proves 100 %
    z = z_for(confidence)
    return int(np.ceil(z * z * target / (1.0 - target) - 1e-9))


def target_evidence(caught: int, n: int, target: float) -> dict[str, Any]:
    """Whether the test split shows the recall target with 95 % confidence, and the words for it."""
    from studio.evaluation.intervals import pct, wilson

    lo = wilson(caught, n)[0]
    need = defects_needed(target)
    shown = lo >= target
    if shown:
        words = f"the test split shows recall of at least {pct(target)} with 95 % confidence"
    elif need < 0:
        words = (f"no test split can show 100 % recall; with {caught} of {n} caught the true recall is at least "
                 f"{pct(lo)} with 95 % confidence")
    else:
        words = (f"met on the test split ({caught} of {n} defective parts caught), but that does not show it with "
                 f"95 % confidence: the true recall is only known to be at least {pct(lo)}. Even with every defect "
                 f"caught, showing {pct(target)} takes at least {need} defective test parts")
    return {"recall_lower_bound": lo, "target_shown": shown, "defects_needed": need, "evidence": words}


def for_false_reject_target(y, s, target: float) -> dict[str, Any]:
    """The lowest threshold (most defects caught) that rejects at most ``target`` of the good parts.

    The way to set a threshold when the test split has only good parts
    (anomaly detection on a new line): recall is then unknown, and says so.
    """
    if not 0.0 <= target < 1.0:
        raise StudioError(f"false-reject target {target!r} must be a share from 0 up to (not including) 1",
                          hint="write 0.01 to reject at most 1 % of good parts")
    y, s = _arrays(y, s)
    if y.all():
        raise StudioError("a false-reject target needs good parts in the test split, and it has none",
                          hint="label good parts in the test split")
    c = curve(y, s)
    ok = np.nonzero(c["false_reject_rate"] <= target + 1e-12)[0]   # cut 0 rejects nothing: always ok
    out = _pick(c, int(ok[-1]), "false_reject_target", false_reject_target=float(target))
    out["recall_known"] = bool(y.any())
    return out


def review_band_for(y, s, recall_target: float, false_reject_target: float) -> tuple[float, float]:
    """A band that auto-passes only where ``recall_target`` holds and auto-rejects only where at most
    ``false_reject_target`` of good parts fall; the parts between go to review.

    Returns ``(low, high)``; ``low == high`` when no band is needed.
    """
    for_recall_target(y, s, recall_target)            # checks the target and that recall is known
    y, s = _arrays(y, s)
    c = curve(y, s)
    # the highest cut that still meets the recall target (not the most precise one): pass what is surely good
    ok = np.nonzero(c["recall"] >= recall_target - 1e-12)[0]
    low = float(c["threshold"][ok[0]])
    high = for_false_reject_target(y, s, false_reject_target)["threshold"]
    return low, max(low, high)
