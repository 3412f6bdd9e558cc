"""Score the test split with a trained model.

``evaluate`` runs the exported ONNX model (exactly what the station runs,
with the card's preprocessing) on every test image labeled OK or NG, and
returns what the GUI's threshold picker and the CLI report need: AUROC,
average precision, the PR curve, the confusion at the card's threshold and
every image's score. Moving the threshold is ``studio.project.model_card.set_threshold``
(beside the card's reading and writing).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio import tasks
from studio.core.task import TaskContext, null_task
from studio.evaluation import metrics as M
from studio.evaluation.operating import point_at


def operating_point(y, s, t: float, *, classes=None, band=None) -> dict[str, Any]:
    """Precision, recall and confusion when parts scoring ``>= t`` are rejected, with the false-reject
    rate, accuracy, their confidence intervals, per-class recall and warnings (``operating.point_at``)."""
    return point_at(y, s, t, classes=classes, band=band)


def card_band(card: dict[str, Any]) -> tuple[float, float] | None:
    """The card's review band ``(low, high)``, or None."""
    band = card.get("review_band") or None
    return (float(band["low"]), float(band["high"])) if band else None


def evaluate(project, model_id: str | None = None, task: str | None = None,
             task_ctx: TaskContext | None = None, *, batch_size: int = 16) -> dict[str, Any]:
    """Metrics of ``model_id`` (default: the newest model, of ``task`` if given) on the test split.

    For convenience a ``TaskContext`` may also be passed as ``task``.
    """
    from studio.inference.model import InspectionModel
    from studio.labels.samples import test_samples

    if task is not None and not isinstance(task, str):
        task, task_ctx = None, task
    from studio.dataset import splits

    ctx = task_ctx or null_task()
    model = InspectionModel.load(project, model_id, task=task)
    if splits.read_frozen(project.root) is None:
        splits.freeze(project)            # the first evaluation fixes the split every model is judged on
    split_report = splits.check(project)
    samples = test_samples(project)
    ctx.status(f"scoring {len(samples)} test images with {model.model_id} ({model.provider})")
    predictions = []
    for i in range(0, len(samples), batch_size):
        ctx.check()
        chunk = samples[i:i + batch_size]
        images = [project.dataset.load(project.dataset.get(s.image_id)) for s in chunk]
        predictions.extend(model.predict_batch(images, batch_size))
        ctx.progress(min(1.0, (i + len(chunk)) / len(samples)))
    from studio.labels.samples import dataset_digest

    y = np.array([s.defective for s in samples], dtype=bool)
    s = np.array([p.score for p in predictions], dtype=np.float64)
    classes = [smp.defect_class for smp in samples]

    point = point_at(y, s, model.threshold, classes=classes, band=card_band(model.card),
                     critical=project.criteria.critical_classes())
    precision, recall, thresholds = M.pr_curve(y, s)
    fpr, tpr, roc_t = M.roc_curve(y, s)
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
        "false_reject_rate": point["false_reject_rate"],
        "accuracy": point["accuracy"],
        "intervals": point["intervals"],
        "per_class_recall": point["per_class"],
        "warnings": split_report["warnings"] + point["warnings"],
        "split_warnings": split_report["warnings"],
        "review_band": point.get("review"),
        "operating_point": {**(model.card.get("operating_point") or {"how": "trained"}),
                            "threshold": model.threshold},
        "test_split": {"digest": dataset_digest(samples), "n": int(len(y)), "frozen": split_report["frozen"],
                       "frozen_digest": split_report["digest"],
                       **{k: len(split_report[k]) for k in ("added", "removed", "moved_to_train", "relabeled",
                                                             "straddling_groups", "duplicates")}},
        "best_f1_threshold": M.best_f1_threshold(y, s),
        "curve": {"precision": precision.tolist(), "recall": recall.tolist(), "thresholds": thresholds.tolist()},
        "roc": {"false_reject_rate": fpr.tolist(), "recall": tpr.tolist(), "thresholds": roc_t.tolist()},
        "scores": [{"image_id": smp.image_id, "score": float(p.score), "defective": bool(smp.defective),
                    "defect_class": smp.defect_class, "predicted": bool(p.defective),
                    "predicted_class": p.defect_class}
                   for smp, p in zip(samples, predictions)],
    }
    figures = tasks.get(model.task).load("figures")         # the task's own figures (studio.tasks)
    if figures is not None:
        figures(result, samples, predictions)
    # production monitoring's reference (the good parts' scores and maps): saved in the card
    from studio.core.errors import StudioError
    from studio.evaluation import monitoring_reference

    try:
        ref = monitoring_reference.build(s, y, maps=[p.anomaly_map for p in predictions], classes=classes,
                                         test_split=result["test_split"]["digest"])
        result["monitoring_reference_saved"] = monitoring_reference.save(model.folder, ref)
    except (OSError, StudioError) as e:
        result["monitoring_reference_saved"] = False
        result["warnings"].append(f"the monitoring reference could not be saved in the model card: {e}")
    ctx.status(f"{model.model_id}: {len(y)} test images, AUROC "
               f"{'n/a' if result['image_auroc'] is None else round(result['image_auroc'], 3)}")
    return result


def class_figures(result: dict[str, Any], samples: list, predictions: list) -> None:
    """Classification: right verdict AND right class (``class_accuracy``), and per class how many were
    caught and named right at the card's threshold. NG images of a class the model never saw cannot be right."""
    right = [(p.defect_class == smp.defect_class) if smp.defective else not p.defective
             for smp, p in zip(samples, predictions)]
    result["class_accuracy"] = float(np.mean(right)) if right else None
    for row in result["per_class_recall"]:
        row["named_right"] = sum(1 for smp, p in zip(samples, predictions)
                                 if smp.defective and (smp.defect_class or "unclassified") == row["class"]
                                 and p.defect_class == smp.defect_class)
