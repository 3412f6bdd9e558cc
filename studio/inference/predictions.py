"""How each task's model outputs become a ``Prediction`` (named by ``studio.tasks``: ``predictions``).

Each is ``fn(model, outputs, shapes) -> [Prediction]``: ``model`` an
``InspectionModel`` (its threshold, classes, class ids, card, preprocessing),
``outputs`` the ONNX outputs of one batch in the task's order, ``shapes`` the
images' shapes (detection maps its boxes back to image pixels) or None.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.inference.model import Prediction


def anomaly(model: Any, outputs: list[np.ndarray], shapes: list[tuple] | None = None) -> list[Prediction]:
    scores, maps = outputs
    return [Prediction(float(s), bool(s >= model.threshold), None, 0, m[0]) for s, m in zip(scores, maps)]


def classification(model: Any, outputs: list[np.ndarray], shapes: list[tuple] | None = None) -> list[Prediction]:
    preds = []
    for p in outputs[0]:
        score = float(1.0 - p[0])
        defective = score >= model.threshold
        name = model.classes[1 + int(np.argmax(p[1:]))] if defective and len(p) > 1 else None
        preds.append(Prediction(score, defective, name, model.class_ids.get(name, 0) if name else 0))
    return preds


def detection(model: Any, outputs: list[np.ndarray], shapes: list[tuple] | None = None) -> list[Prediction]:
    return [_detection(model, raw, shape) for raw, shape in zip(outputs[0], shapes or [None] * len(outputs[0]))]


def segmentation(model: Any, outputs: list[np.ndarray], shapes: list[tuple] | None = None) -> list[Prediction]:
    return [_segmentation(model, s, p) for s, p in zip(*outputs)]


def _detection(model: Any, raw: np.ndarray, shape) -> Prediction:
    from studio.inference.detections import decode_detections, input_to_image

    settings = model.card.get("detection", {})
    # keep boxes a little below the threshold too, so a lowered threshold still shows them
    found = decode_detections(raw, conf=min(float(settings.get("conf", 0.25)), model.threshold),
                              iou=float(settings.get("iou", 0.5)))
    boxes = []
    for b in found:
        name = model.classes[1 + b["class_index"]] if 1 + b["class_index"] < len(model.classes) else "defect"
        x, y, w, h = (b["x"], b["y"], b["w"], b["h"]) if shape is None else \
            input_to_image((b["x"], b["y"], b["w"], b["h"]), shape, model.preprocessing)
        boxes.append({"class": name, "class_id": model.class_ids.get(name, 0), "score": b["score"],
                      "x": x, "y": y, "w": w, "h": h})
    score = boxes[0]["score"] if boxes else 0.0
    defective = score >= model.threshold
    name = boxes[0]["class"] if defective else None
    return Prediction(score, defective, name, model.class_ids.get(name, 0) if name else 0,
                      boxes=[b for b in boxes if b["score"] >= model.threshold])


def _segmentation(model: Any, score, probs: np.ndarray) -> Prediction:
    defect = 1.0 - probs[0]
    mask = defect >= model.threshold
    score = float(score)
    defective = score >= model.threshold
    name = None
    if defective and len(probs) > 1:
        where = mask if mask.any() else defect >= defect.max()
        name = model.classes[1 + int(np.argmax(probs[1:, where].sum(axis=1)))]
    return Prediction(score, defective, name, model.class_ids.get(name, 0) if name else 0,
                      anomaly_map=defect, mask=mask)
