"""How far labelers agree: Cohen's kappa per pair, Fleiss' kappa for all, per class, IoU for shapes.

All image-level measures compare *categories*: ``ok``, ``borderline`` or the
defect class (``ng`` when NG has no class). Only each labeler's latest label
counts, and reference decisions are not a labeler's vote (they are the
yardstick for ``reference_agreement``).

Fleiss' kappa uses the usual generalisation to a varying number of raters
per image (images with at least two labels): P_i = sum_j n_ij (n_ij - 1) /
(n_i (n_i - 1)), p_j = sum_i n_ij / sum_i n_i; with a constant number of
raters it is exactly Fleiss (1971). Per class: Fleiss' category kappa
kappa_j = 1 - sum_i n_ij (n_i - n_ij) / (n_i - 1) / (sum_i n_i p_j q_j), and the
specific (positive) agreement sum_i n_ij (n_ij - 1) / sum_i n_ij (n_i - 1).
"""
from __future__ import annotations

import datetime as _dt
import itertools
from collections import Counter
from typing import Any, Sequence

from studio.labels.shapes import bbox_of, box_iou, rasterize


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' answers on the same items; None when undefined (one category only)."""
    if len(a) != len(b):
        raise ValueError("the two raters must answer the same items")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1 - pe)


def fleiss_kappa(table: Sequence[dict[str, int]]) -> float | None:
    """Fleiss' kappa from per-item category counts (items with fewer than two ratings are ignored)."""
    rows = [r for r in table if sum(r.values()) >= 2]
    if not rows:
        return None
    cats = sorted({c for r in rows for c in r})
    total = sum(sum(r.values()) for r in rows)
    p = {c: sum(r.get(c, 0) for r in rows) / total for c in cats}
    p_i = []
    for r in rows:
        n = sum(r.values())
        p_i.append(sum(v * (v - 1) for v in r.values()) / (n * (n - 1)))
    p_bar = sum(p_i) / len(rows)
    pe = sum(v * v for v in p.values())
    if pe >= 1.0:
        return None
    return (p_bar - pe) / (1 - pe)


def per_class(table: Sequence[dict[str, int]]) -> dict[str, dict[str, Any]]:
    """Per category: Fleiss' category kappa, specific agreement and how often it was given."""
    rows = [r for r in table if sum(r.values()) >= 2]
    total = sum(sum(r.values()) for r in rows)
    out: dict[str, dict[str, Any]] = {}
    for c in sorted({c for r in rows for c in r}):
        pj = sum(r.get(c, 0) for r in rows) / total
        disagree = sum(r.get(c, 0) * (sum(r.values()) - r.get(c, 0)) / (sum(r.values()) - 1) for r in rows)
        denom = total * pj * (1 - pj)
        pairs_with = sum(r.get(c, 0) * (sum(r.values()) - 1) for r in rows)
        out[c] = {"kappa": (1 - disagree / denom) if denom > 0 else None,
                  "specific_agreement": (sum(r.get(c, 0) * (r.get(c, 0) - 1) for r in rows) / pairs_with)
                  if pairs_with else None,
                  "ratings": sum(r.get(c, 0) for r in rows),
                  "images": sum(1 for r in rows if r.get(c, 0))}
    return out


def _match_boxes(a: list[tuple], b: list[tuple]) -> float:
    """Mean IoU of greedily matched boxes; unmatched boxes on either side count 0."""
    if not a and not b:
        return 1.0
    pairs = sorted(((box_iou(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a, used_b, total = set(), set(), 0.0
    for iou, i, j in pairs:
        if iou <= 0 or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total += iou
    return total / max(len(a), len(b))


def shape_iou(by_image: dict[str, dict[str, Any]], size_of, root) -> dict[str, Any]:
    """IoU agreement between labelers' shapes: boxes matched one to one, masks (polygons + brush) pixelwise."""
    box_scores: list[float] = []
    mask_scores: list[float] = []
    for image_id, labels in by_image.items():
        for la, lb in itertools.combinations(sorted(labels.values(), key=lambda l: l.labeler), 2):
            boxes_a = [bbox_of(s) for s in la.shapes if s["type"] == "box"]
            boxes_b = [bbox_of(s) for s in lb.shapes if s["type"] == "box"]
            if boxes_a or boxes_b:
                box_scores.append(_match_boxes(boxes_a, boxes_b))
            area_types = ("polygon", "mask")
            if any(s["type"] in area_types for s in la.shapes + lb.shapes):
                size = size_of(image_id)
                ma = rasterize(la.shapes, size, root, types=area_types)
                mb = rasterize(lb.shapes, size, root, types=area_types)
                union = (ma | mb).sum()
                mask_scores.append(float((ma & mb).sum() / union) if union else 1.0)

    def summary(xs: list[float]) -> dict[str, Any]:
        return {"mean_iou": sum(xs) / len(xs) if xs else None, "pairs": len(xs)}

    return {"boxes": summary(box_scores), "masks": summary(mask_scores)}


def _week(time: str) -> str:
    try:
        y, w, _ = _dt.datetime.fromisoformat(time).isocalendar()
        return f"{y}-W{w:02d}"
    except ValueError:
        return "unknown"


def reference_agreement(store) -> list[dict[str, Any]]:
    """Each labeler against the reference decisions, overall and week by week (of the labeler's label)."""
    refs = store.references()
    per_labeler: dict[str, list[tuple[str, bool]]] = {}
    for image_id, labels in store.by_labeler().items():
        if image_id not in refs:
            continue
        for name, l in labels.items():
            per_labeler.setdefault(name, []).append((_week(l.time), l.category == refs[image_id].category))
    out = []
    for name, rows in sorted(per_labeler.items()):
        weeks: dict[str, list[bool]] = {}
        for wk, ok in rows:
            weeks.setdefault(wk, []).append(ok)
        out.append({"labeler": name, "n": len(rows), "agreement": sum(ok for _, ok in rows) / len(rows),
                    "by_week": [{"week": wk, "n": len(v), "agreement": sum(v) / len(v)}
                                for wk, v in sorted(weeks.items())]})
    return out


def agreement_report(project) -> dict[str, Any]:
    """Everything ``studio labels agreement`` prints and the GUI's agreement view shows."""
    store = project.labels
    by_image = store.by_labeler()
    multi = {k: v for k, v in by_image.items() if len(v) >= 2}
    labelers = sorted({name for v in by_image.values() for name in v})
    pairs = []
    for a, b in itertools.combinations(labelers, 2):
        both = [v for v in multi.values() if a in v and b in v]
        if not both:
            continue
        k = cohen_kappa([v[a].category for v in both], [v[b].category for v in both])
        agree = sum(v[a].category == v[b].category for v in both) / len(both)
        pairs.append({"labelers": [a, b], "kappa": k, "n": len(both), "percent_agreement": agree})
    table = [dict(Counter(l.category for l in v.values())) for v in multi.values()]
    refs = store.references()
    resolved = store.resolve()
    disputed = [{"image_id": r.image_id, "labels": {n: l.category for n, l in sorted(r.labels.items())},
                 "reason": r.status}
                for r in resolved.values() if r.needs_review]

    def size_of(image_id: str) -> tuple[int, int]:
        import cv2

        path = project.dataset.path(project.dataset.get(image_id))
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return img.shape[:2]

    return {
        "labelers": labelers,
        "images_labeled": len(by_image),
        "images_with_multiple_labels": len(multi),
        "cohen_kappa": pairs,
        "fleiss_kappa": fleiss_kappa(table),
        "percent_agreement": (sum(len(r) == 1 for r in table) / len(table)) if table else None,
        "per_class": per_class(table),
        "iou": shape_iou(multi, size_of, project.root),
        "reference_decisions": len(refs),
        "reference_agreement": reference_agreement(store),
        "disputed": disputed,
    }
