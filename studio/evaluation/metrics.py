"""Image-level metrics, in plain numpy.

``y`` is 1 (or True) for a defective part, ``s`` the model's score (higher =
more likely defective); a part is rejected when ``s >= t``. Ties are scored
the standard way (tied scores move together). A test split without defects,
or without good parts, gives ``None`` where a metric is undefined instead of
NaN, so a report can say "n/a" rather than crash.
"""
from __future__ import annotations

import numpy as np


def _arrays(y, s) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(bool).ravel()
    s = np.asarray(s, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    return y, s


def roc_auc(y, s) -> float | None:
    """Area under the ROC curve: the chance a defective part scores above a good one (ties count half)."""
    y, s = _arrays(y, s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    # Mann-Whitney U with mid-ranks for ties
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _counts_by_threshold(y: np.ndarray, s: np.ndarray):
    """Distinct thresholds (descending) and tp/fp when rejecting ``s >= t``."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
    tp = np.cumsum(y_sorted)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return s_sorted[last_of_tie], tp.astype(np.int64), fp.astype(np.int64)


def pr_curve(y, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every distinct score used as threshold (thresholds descending).

    Recall is 0 everywhere when there are no defects (nothing to find).
    """
    y, s = _arrays(y, s)
    if len(s) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    thresholds, tp, fp = _counts_by_threshold(y, s)
    precision = tp / (tp + fp)            # tp + fp >= 1: every threshold is some part's score
    n_pos = int(y.sum())
    recall = tp / n_pos if n_pos else np.zeros(len(tp))
    return precision.astype(np.float64), recall.astype(np.float64), thresholds


def average_precision(y, s) -> float | None:
    """Sum over thresholds of (recall step) x precision; ``None`` without defects."""
    y, s = _arrays(y, s)
    if not y.any():
        return None
    precision, recall, _ = pr_curve(y, s)
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def confusion_at(y, s, t: float) -> dict[str, int]:
    """Counts when every part scoring ``>= t`` is rejected."""
    y, s = _arrays(y, s)
    rejected = s >= t
    return {"tp": int(np.sum(rejected & y)), "fp": int(np.sum(rejected & ~y)),
            "tn": int(np.sum(~rejected & ~y)), "fn": int(np.sum(~rejected & y))}


def precision_recall_at(y, s, t: float) -> tuple[float | None, float | None]:
    c = confusion_at(y, s, t)
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
    return precision, recall


def best_f1_threshold(y, s) -> float | None:
    """The threshold with the best F1; ``None`` without defects.

    It lies halfway between the lowest score it rejects and the next lower
    score, so a new part scoring a little under a rejected one is still
    judged like its neighbours rather than on a knife's edge.
    """
    y, s = _arrays(y, s)
    n_pos = int(y.sum())
    if n_pos == 0:
        return None
    thresholds, tp, fp = _counts_by_threshold(y, s)
    f1 = 2 * tp / (tp + fp + n_pos)
    best = int(np.argmax(f1))             # first maximum = the highest threshold: fewest rejects
    if best + 1 < len(thresholds):
        return float((thresholds[best] + thresholds[best + 1]) / 2.0)
    return float(thresholds[best])


def roc_curve(y, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-reject rate (good parts rejected) and recall at every distinct score used as threshold.

    Thresholds descend like ``pr_curve``; a rate is 0 everywhere when its
    class is missing from the split.
    """
    y, s = _arrays(y, s)
    if len(s) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    thresholds, tp, fp = _counts_by_threshold(y, s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    fpr = fp / n_neg if n_neg else np.zeros(len(fp))
    tpr = tp / n_pos if n_pos else np.zeros(len(tp))
    return fpr.astype(np.float64), tpr.astype(np.float64), thresholds
