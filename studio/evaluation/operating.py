"""Everything about one operating point, in figures and in words.

A part is rejected when its score is ``>= threshold``. With a review band
``[low, high)`` parts scoring in the band go to manual review, parts at or
above ``high`` are rejected, and the threshold is ``low``: a station that
knows nothing of the band rejects every part it would have sent to review,
so the band can never let more parts pass.

Every share measured on the test split comes with its confidence interval
(``intervals.share``), recall is broken down by defect class, and the
findings a line engineer must not miss are spelled out in ``warnings``:
the accuracy trap, and recall that cannot be known without defective
images.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from studio.evaluation.intervals import CONFIDENCE, in_words, pct, share

# the accuracy trap: accuracy looks high while a good share of defects escapes
TRAP_ACCURACY = 0.90
TRAP_GAP = 0.10


def _arrays(y, s, classes=None):
    y = np.asarray(y).astype(bool).ravel()
    s = np.asarray(s, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if classes is None:
        classes = [None] * len(y)
    classes = [(c or None) if d else None for c, d in zip(classes, y)]
    if len(classes) != len(y):
        raise ValueError(f"{len(y)} labels but {len(classes)} defect classes")
    return y, s, classes


def per_class_recall(y, s, threshold: float, classes: Sequence[str | None] | None,
                     confidence: float = CONFIDENCE) -> list[dict[str, Any]]:
    """Recall of each defect class (unnamed defects as "unclassified"), most-escaping class first."""
    y, s, classes = _arrays(y, s, classes)
    rejected = s >= threshold
    out = []
    for name in sorted({c or "unclassified" for c, d in zip(classes, y) if d}):
        idx = [i for i, (c, d) in enumerate(zip(classes, y)) if d and (c or "unclassified") == name]
        caught = int(rejected[idx].sum())
        interval = share(caught, len(idx), confidence)
        out.append({"class": name, "n": len(idx), "caught": caught, "escaped": len(idx) - caught,
                    "recall": caught / len(idx), "interval": interval})
    out.sort(key=lambda r: (r["recall"], r["class"]))
    return out


def accuracy_trap(accuracy: float | None, recall: float | None, n_good: int, n: int) -> str | None:
    """The plain-words warning when accuracy flatters a model that lets defects through; else None."""
    if accuracy is None or recall is None:
        return None
    if accuracy >= TRAP_ACCURACY and accuracy - recall >= TRAP_GAP:
        return (f"Accuracy looks high ({pct(accuracy)}) but only {pct(recall)} of the defective parts are "
                f"caught. Most test parts are good, so a station that passed every part would already be "
                f"{pct(n_good / n)} accurate. Judge this threshold by recall and escapes, not accuracy.")
    return None


def review_band(y, s, low: float, high: float) -> dict[str, Any]:
    """Where the parts go with a review band ``[low, high)``: pass, review, reject."""
    y, s, _ = _arrays(y, s)
    low, high = float(low), float(high)
    if high < low:
        raise ValueError(f"the review band's upper end {high:g} is below its lower end {low:g}")
    passed, rejected = s < low, s >= high
    review = ~passed & ~rejected
    n = len(s)
    return {"low": low, "high": high,
            "passed": int(passed.sum()), "review": int(review.sum()), "rejected": int(rejected.sum()),
            "review_share": share(int(review.sum()), n), "review_defective": int((review & y).sum()),
            "review_good": int((review & ~y).sum()),
            "escapes": int((passed & y).sum()), "false_rejects": int((rejected & ~y).sum())}


def point_at(y, s, threshold: float, *, classes: Sequence[str | None] | None = None,
             band: tuple[float, float] | None = None, critical: Sequence[str] = (),
             confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Precision, recall, false-reject rate, accuracy (with intervals), confusion, per-class recall,
    the review band's split of the parts and the warnings, at ``threshold``."""
    y, s, classes = _arrays(y, s, classes)
    t = float(threshold)
    rejected = s >= t
    tp, fp = int((rejected & y).sum()), int((rejected & ~y).sum())
    fn, tn = int((~rejected & y).sum()), int((~rejected & ~y).sum())
    n, n_def, n_good = len(y), tp + fn, tn + fp
    intervals = {"precision": share(tp, tp + fp, confidence), "recall": share(tp, n_def, confidence),
                 "false_reject_rate": share(fp, n_good, confidence),
                 "accuracy": share(tp + tn, n, confidence)}
    value = {k: (v["value"] if v else None) for k, v in intervals.items()}
    warnings = []
    if n == 0:
        warnings.append("The test split has no labeled OK or NG images: there is nothing to judge the model on. "
                        "Label test images (Label step), or capture more parts.")
    if n and n_def == 0:
        warnings.append(f"Recall is unknown: the test split has no defective parts. The threshold can only "
                        f"be judged on good parts ({n_good} here: {pct(value['false_reject_rate'])} of them "
                        f"rejected). Add labeled defective parts to the test split to measure recall.")
    trap = accuracy_trap(value["accuracy"], value["recall"], n_good, n)
    if trap:
        warnings.append(trap)
    per_class = per_class_recall(y, s, t, classes, confidence)
    for r in per_class:
        if r["class"] in set(critical) and r["escaped"]:
            warnings.append(f"Critical defect class {r['class']}: {r['escaped']} of {r['n']} pass this threshold "
                            f"(recall {pct(r['recall'])}), whatever the overall recall says.")
    out: dict[str, Any] = {
        "threshold": t, "n": n, "n_defective": n_def, "n_good": n_good,
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        **value, "intervals": intervals,
        "per_class": per_class,
        "recall_known": n_def > 0, "accuracy_trap": trap is not None, "warnings": warnings,
    }
    if band is not None:
        out["review"] = review_band(y, s, band[0], band[1])
    return out


def describe(point: dict[str, Any]) -> list[str]:
    """The operating point in sentences (CLI text, GUI tooltips)."""
    iv = point["intervals"]
    lines = [in_words("recall", iv["recall"], what="defective parts caught" if iv["recall"] else
                      "no defective parts in the test split"),
             in_words("precision", iv["precision"], what="rejected parts truly defective" if iv["precision"]
                      else "nothing rejected"),
             in_words("false-reject rate", iv["false_reject_rate"], what="good parts rejected"
                      if iv["false_reject_rate"] else "no good parts in the test split"),
             in_words("accuracy", iv["accuracy"], what="parts judged right" if iv["accuracy"]
                      else "no labeled test parts")]
    for row in point["per_class"]:
        named = f"; {row['named_right']} of {row['n']} also named {row['class']}" if "named_right" in row else ""
        lines.append("  " + in_words(f"recall of {row['class']}", row["interval"], what="caught") + named)
    band = point.get("review")
    if band:
        lines.append(f"review band {band['low']:.4g} … {band['high']:.4g}: {band['review']} of "
                     f"{point['n']} parts ({pct(band['review_share']['value'] if band['review_share'] else None)}) "
                     f"to manual review ({band['review_defective']} defective, {band['review_good']} good)")
    lines += [f"WARNING: {w}" for w in point["warnings"]]
    return lines
