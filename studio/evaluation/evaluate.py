"""Score the test split with a trained model, and move its decision threshold.

``evaluate`` runs the exported ONNX model (exactly what the station runs,
with the card's preprocessing) on every test image labeled OK or NG, and
returns what the GUI's threshold picker and the CLI report need: AUROC,
average precision, the PR curve, the confusion at the card's threshold and
every image's score. ``set_threshold`` rewrites the card atomically and
keeps a history of who-moved-it-when (the time; the studio has no users).
"""
from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np

from studio.core.atomic import atomic_write_json
from studio.core.errors import ModelError
from studio.core.task import TaskContext, null_task
from studio.evaluation import metrics as M


def operating_point(y, s, t: float) -> dict[str, Any]:
    """Precision, recall and confusion when parts scoring ``>= t`` are rejected."""
    precision, recall = M.precision_recall_at(y, s, t)
    return {"precision": precision, "recall": recall, "confusion": M.confusion_at(y, s, t)}


def evaluate(project, model_id: str | None = None, task: str | None = None,
             task_ctx: TaskContext | None = None, *, batch_size: int = 16) -> dict[str, Any]:
    """Metrics of ``model_id`` (default: the newest model, of ``task`` if given) on the test split.

    For convenience a ``TaskContext`` may also be passed as ``task``.
    """
    from studio.inference.model import InspectionModel
    from studio.training.data import test_samples

    if task is not None and not isinstance(task, str):
        task, task_ctx = None, task
    ctx = task_ctx or null_task()
    model = InspectionModel.load(project, model_id, task=task)
    samples = test_samples(project)
    ctx.status(f"scoring {len(samples)} test images with {model.model_id} ({model.provider})")
    predictions = []
    for i in range(0, len(samples), batch_size):
        ctx.check()
        chunk = samples[i:i + batch_size]
        images = [project.dataset.load(project.dataset.get(s.image_id)) for s in chunk]
        predictions.extend(model.predict_batch(images, batch_size))
        ctx.progress(min(1.0, (i + len(chunk)) / len(samples)))
    y = np.array([s.defective for s in samples], dtype=bool)
    s = np.array([p.score for p in predictions], dtype=np.float64)
    point = operating_point(y, s, model.threshold)
    precision, recall, thresholds = M.pr_curve(y, s)
    result: dict[str, Any] = {
        "model_id": model.model_id,
        "task": model.task,
        "provider": model.provider,
        "n": int(len(y)),
        "n_defective": int(y.sum()),
        "image_auroc": M.roc_auc(y, s),
        "average_precision": M.average_precision(y, s),
        "threshold": model.threshold,
        "precision": point["precision"],
        "recall": point["recall"],
        "confusion": point["confusion"],
        "best_f1_threshold": M.best_f1_threshold(y, s),
        "curve": {"precision": precision.tolist(), "recall": recall.tolist(), "thresholds": thresholds.tolist()},
        "scores": [{"image_id": smp.image_id, "score": float(p.score), "defective": bool(smp.defective),
                    "defect_class": smp.defect_class, "predicted": bool(p.defective),
                    "predicted_class": p.defect_class}
                   for smp, p in zip(samples, predictions)],
    }
    if model.task == "classification":
        # right verdict AND right class; NG images with a class the model never saw cannot be right
        right = [(p.defect_class == smp.defect_class) if smp.defective else not p.defective
                 for smp, p in zip(samples, predictions)]
        result["class_accuracy"] = float(np.mean(right)) if right else None
    ctx.status(f"{model.model_id}: {len(y)} test images, AUROC "
               f"{'n/a' if result['image_auroc'] is None else round(result['image_auroc'], 3)}")
    return result


def set_threshold(project, model_id: str | None, threshold: float) -> dict[str, Any]:
    """Set the card's decision threshold (the station reads it at start); returns the new card."""
    from studio.inference.model import CARD_FILE, InspectionModel, read_card

    try:
        value = float(threshold)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ModelError(f"threshold {threshold!r} is not a number", hint="give a number, e.g. 0.5")
    if model_id is None:
        model_id = InspectionModel.load(project).model_id
    folder = project.models_dir / model_id
    if not folder.is_dir():
        raise ModelError(f"there is no model '{model_id}'", file=project.models_dir,
                         hint="list the models with 'studio models PROJECT'")
    card = read_card(folder)
    now = _dt.datetime.now().isoformat(timespec="seconds")
    card.setdefault("threshold_history", []).append({"from": card["threshold"], "to": value, "time": now})
    card["threshold"] = value
    card["threshold_set"] = now
    atomic_write_json(folder / CARD_FILE, card)
    return card
