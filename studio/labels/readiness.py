"""Data readiness: usable labeled images per class against the usual needs, and which task to start with."""
from __future__ import annotations

from typing import Any

from studio import tasks as inspection_tasks

# usual needs per class (low, high): enough to start, enough to be comfortable -- each task's description
NEEDS = {name: inspection_tasks.get(name).needs for name in inspection_tasks.names()}
LOW_DEFECT_RATE = 0.01


def readiness(project: Any) -> dict[str, Any]:
    """Counts of usable (resolved OK / NG with class) images, per task the share of the need met, a recommendation."""
    res = project.labels.resolve()
    good = 0
    per_class: dict[str, dict[str, int]] = {}
    disputed = borderline = 0
    for r in res.values():
        if r.status == "disputed":
            disputed += 1
            continue
        label = r.label
        if label.verdict == "borderline":
            borderline += 1
        elif label.verdict == "ok":
            good += 1
        elif label.defect_class:
            c = per_class.setdefault(label.defect_class, {"images": 0, "boxes": 0, "masks": 0})
            c["images"] += 1
            c["boxes"] += any(s["type"] == "box" for s in label.shapes)
            c["masks"] += any(s["type"] in ("polygon", "mask") for s in label.shapes) or bool(
                _has_gt_mask(project, r.image_id))
    n_defect = sum(c["images"] for c in per_class.values())
    rate = n_defect / (n_defect + good) if n_defect + good else 0.0
    tasks = {name: _need_met(inspection_tasks.get(name).counts, NEEDS[name], good, per_class)
             for name in inspection_tasks.names()}
    return {"good": good, "defect_images": n_defect, "defect_rate": rate, "per_class": per_class,
            "disputed": disputed, "borderline": borderline, "tasks": tasks,
            "recommendation": recommend(good, per_class, rate)}


def _has_gt_mask(project: Any, image_id: str) -> bool:
    try:
        return bool(project.dataset.get(image_id).mask)
    except Exception:
        return False


def _need_met(counts: str, need: tuple[int, int], good: int, per_class: dict[str, dict[str, int]]) -> dict[str, Any]:
    """A task's need against what it counts: good images in all, or images / boxes / masks per class
    (classification counts the good parts as a class of their own)."""
    if counts == "good images":
        return _status(good, need, counts)
    return _per(per_class, counts, need, good if counts == "images" else None)


def _status(n: int, need: tuple[int, int], what: str) -> dict[str, Any]:
    low, high = need
    level = "ready" if n >= high else "enough to start" if n >= low else "too few"
    return {"have": n, "need": [low, high], "level": level, "what": what}


def _per(per_class: dict[str, dict[str, int]], key: str, need: tuple[int, int],
         good: int | None = None) -> dict[str, Any]:
    classes = {c: _status(v[key], need, "images") for c, v in sorted(per_class.items())}
    if good is not None:
        classes["good"] = _status(good, need, "images")
    worst = min((v["have"] for v in classes.values()), default=0)
    return {"classes": classes, **_status(worst, need, "images in the smallest class")}


def recommend(good: int, per_class: dict[str, dict[str, int]], rate: float) -> dict[str, str]:
    n_defect = sum(c["images"] for c in per_class.values())
    few = min((c["images"] for c in per_class.values()), default=0) < NEEDS["classification"][0]
    if rate < LOW_DEFECT_RATE or (few and n_defect < NEEDS["anomaly"][0]):
        why = (f"defects are rare ({rate * 100:.1f} % of labeled parts)" if rate < LOW_DEFECT_RATE
               else f"only {n_defect} defect images")
        need = NEEDS["anomaly"][0]
        more = f"; label at least {need - good} more good parts" if good < need else ""
        return {"task": "anomaly", "why": f"{why}; anomaly detection learns from good parts only{more}"}
    if not few:
        return {"task": "classification", "why": "every defect class has enough images to learn it by name"}
    return {"task": "anomaly", "why": "some defect classes have too few images to learn by name; "
                                      "anomaly detection catches them while you collect more"}
