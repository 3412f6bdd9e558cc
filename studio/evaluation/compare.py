"""Two models judged on the same test split, image by image.

Both models score the project's current test split (the same images, so
the figures are comparable), each at its own saved operating point. Beside
each model's figures with their intervals, the paired comparison counts the
images one model decides right and the other wrong, and McNemar's exact
test says whether that difference could be chance.
"""
from __future__ import annotations

import math
from typing import Any

from studio.core.errors import StudioError
from studio.evaluation.intervals import pct

KEEP = ("model_id", "task", "n", "n_defective", "image_auroc", "average_precision", "threshold", "precision",
        "recall", "false_reject_rate", "accuracy", "confusion", "intervals", "per_class_recall", "warnings",
        "operating_point", "test_split", "review_band")


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (1.0 when there are none)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Image-by-image agreement of two evaluations of the same test split."""
    ra = {r["image_id"]: r for r in a["scores"]}
    rb = {r["image_id"]: r for r in b["scores"]}
    if set(ra) != set(rb):
        raise StudioError("the two evaluations did not score the same test images",
                          hint="evaluate both models on the project's current test split")
    ta, tb = float(a["threshold"]), float(b["threshold"])
    only_a = only_b = both_wrong = 0
    for image_id, r in ra.items():
        right_a = (float(r["score"]) >= ta) == bool(r["defective"])
        right_b = (float(rb[image_id]["score"]) >= tb) == bool(r["defective"])
        only_a += right_a and not right_b
        only_b += right_b and not right_a
        both_wrong += not right_a and not right_b
    return {"n": len(ra), "only_first_right": only_a, "only_second_right": only_b, "both_wrong": both_wrong,
            "mcnemar_p": mcnemar_exact(only_a, only_b)}


def compare(project, first: str, second: str, task_ctx=None) -> dict[str, Any]:
    """Evaluate both models on the current test split and compare them."""
    from studio.evaluation.evaluate import evaluate

    if first == second:
        raise StudioError(f"'{first}' was given twice", hint="name two different models")
    results = [evaluate(project, mid, task_ctx=task_ctx) for mid in (first, second)]
    pair = paired(*results)
    return {"models": [{k: r.get(k) for k in KEEP} for r in results], "paired": pair,
            "test_split": results[0]["test_split"], "evaluations": results}


def compare_text(result: dict[str, Any]) -> str:
    a, b = result["models"]
    p = result["paired"]

    def fig(m, key):
        iv = (m.get("intervals") or {}).get(key)
        if iv is None:
            return "n/a"
        lo, hi = iv["wilson"]
        return f"{pct(iv['value'])} [{pct(lo)}–{pct(hi)}]"

    def num(v):
        return "n/a" if v is None else f"{v:.3f}"

    w = max(len(a["model_id"]), len(b["model_id"]), 10)
    rows = [f"{'':<22}{a['model_id']:<{w + 26}}{b['model_id']}",
            f"{'image AUROC':<22}{num(a['image_auroc']):<{w + 26}}{num(b['image_auroc'])}",
            f"{'average precision':<22}{num(a['average_precision']):<{w + 26}}{num(b['average_precision'])}",
            f"{'threshold':<22}{a['threshold']:<{w + 26}.4g}{b['threshold']:.4g}"]
    for key, name in (("recall", "recall"), ("precision", "precision"),
                      ("false_reject_rate", "false-reject rate"), ("accuracy", "accuracy")):
        rows.append(f"{name:<22}{fig(a, key):<{w + 26}}{fig(b, key)}")
    rows.append(f"test split {result['test_split']['digest']}: {p['n']} images, the same for both "
                f"(95 % Wilson intervals in brackets)")
    verdict = ("the difference could well be chance" if p["mcnemar_p"] >= 0.05
               else "the difference is unlikely to be chance")
    rows.append(f"image by image: only {a['model_id']} right on {p['only_first_right']}, only "
                f"{b['model_id']} right on {p['only_second_right']}, both wrong on {p['both_wrong']}; "
                f"McNemar p = {p['mcnemar_p']:.3g}: {verdict}")
    return "\n".join(rows)
