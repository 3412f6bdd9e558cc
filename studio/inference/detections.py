"""From raw model outputs to what the station acts on: boxes (detection) and masks (segmentation).

Kept in numpy so the station needs nothing but ONNX Runtime.
"""
from __future__ import annotations

import numpy as np

from studio.dataset.preprocessing import crop_region, input_to_image  # noqa: F401  (the model-input geometry)
from studio.labels.shapes import box_iou  # noqa: F401  (one definition of box overlap)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression; ``boxes`` are [x0, y0, x1, y1]."""
    order = np.argsort(-scores)
    keep: list[int] = []
    area = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    while len(order):
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0, xx1 - xx0) * np.maximum(0, yy1 - yy0)
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return keep


def decode_detections(raw: np.ndarray, conf: float = 0.25, iou: float = 0.5,
                      max_boxes: int = 100) -> list[dict]:
    """One image's YOLO output [4 + C, A] -> boxes, best first.

    Each box: ``{"class_index": i (0-based defect class), "score", "x", "y", "w", "h"}``
    in model-input pixels. Suppression is per class.
    """
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim != 2 or raw.shape[0] < 5 or raw.shape[1] == 0:
        return []
    cls_scores = raw[4:]
    best = cls_scores.argmax(0)
    score = cls_scores[best, np.arange(raw.shape[1])]
    sel = np.nonzero(score >= conf)[0]
    if not len(sel):
        return []
    if len(sel) > 4 * max_boxes:            # the strongest candidates are enough
        sel = sel[np.argsort(-score[sel])[:4 * max_boxes]]
    cx, cy, w, h = raw[0, sel], raw[1, sel], raw[2, sel], raw[3, sel]
    corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    out = []
    for c in np.unique(best[sel]):
        members = np.nonzero(best[sel] == c)[0]
        for k in nms(corners[members], score[sel][members], iou):
            j = members[k]
            out.append({"class_index": int(c), "score": float(score[sel][j]),
                        "x": float(corners[j, 0]), "y": float(corners[j, 1]),
                        "w": float(w[j]), "h": float(h[j])})
    out.sort(key=lambda b: -b["score"])
    return out[:max_boxes]


def map50(predictions: list[list[dict]], truths: list[list[tuple[int, tuple]]], n_classes: int) -> float | None:
    """Mean average precision at IoU 0.5 (all-point interpolation), over classes that have truth boxes.

    ``predictions[i]``: boxes of image i (``class_index``, ``score``, x, y, w, h);
    ``truths[i]``: ``[(class_index, (x, y, w, h))]`` in the same pixels.
    """
    aps = []
    for c in range(n_classes):
        n_true = sum(1 for t in truths for k, _ in t if k == c)
        if n_true == 0:
            continue
        dets = sorted(((p["score"], i, (p["x"], p["y"], p["w"], p["h"]))
                       for i, ps in enumerate(predictions) for p in ps if p["class_index"] == c),
                      key=lambda d: -d[0])
        used: set[tuple[int, int]] = set()
        tp = np.zeros(len(dets))
        for r, (_, i, box) in enumerate(dets):
            cands = [(box_iou(box, tb), j) for j, (k, tb) in enumerate(truths[i]) if k == c and (i, j) not in used]
            if cands:
                best_iou, j = max(cands)
                if best_iou >= 0.5:
                    tp[r] = 1
                    used.add((i, j))
        if not len(dets):
            aps.append(0.0)
            continue
        ctp = np.cumsum(tp)
        recall = ctp / n_true
        precision = ctp / np.arange(1, len(dets) + 1)
        mrec = np.concatenate([[0.0], recall, [1.0]])
        mpre = np.concatenate([[1.0], precision, [0.0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
        aps.append(float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])))
    return float(np.mean(aps)) if aps else None
