"""The four inspection tasks, one description each: adding a task is one ``TaskDescription`` here.

(An inspection *task* is what a model learns -- anomaly, classification,
detection, segmentation; long-running work with progress and cancel is
``studio.core.task``.)

A description names everything a task is, for every layer that asks: its
trainer, the outputs of its exported model and how they become a
``Prediction``, the measure it is judged and compared by, what data it needs
and how that data is counted, its name in the GUI, its bake-off candidates
and whether a project's labels can train it. The behaviour lives where it
belongs (training, inference, evaluation, labels) and is named here as
``"module:attribute"``, imported only when used (``studio.core.registry``
style), so this table sits just above ``core`` and every layer can read it:
``project.schema`` (which tasks a project may have), ``labels.readiness``
(data needs), ``inference.model`` (outputs -> Prediction), ``evaluation``
(task figures), ``training`` (``TRAINERS``, the bake-off), the GUI's Train page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import StudioError
from studio.core.registry import resolve


@dataclass(frozen=True)
class TaskDescription:
    name: str                       # in project.yaml, the model card, the CLI
    title: str                      # the GUI's name for it (Train page)
    learns_from: str                # one line: what a person must label for it
    trainer: str                    # "module:attr": train(project, options, report) -> card
    outputs: tuple[str, ...]        # the exported ONNX model's output names, in order
    predictions: str                # "module:attr": fn(model, outputs, shapes) -> list[Prediction]
    measure: str                    # the run report's figure it is judged and compared by (bake-off)
    needs: tuple[int, int]          # usable labeled items per class: (minimum, good)
    counts: str                     # what counts toward the need: "good images" | "images" | "boxes" | "masks"
    trainable: str | None = None    # "module:attr": fn(project) -> bool, the labels support it (None: always)
    bakeoff: tuple[tuple[str, dict[str, Any]], ...] = ()   # (candidate name, brief training options)
    figures: str | None = None      # "module:attr": fn(result, samples, predictions), task-only evaluation figures
    needs_peer: tuple[str, ...] = field(default=())        # bake-off candidates that need the anomalib peer

    def load(self, what: str) -> Any:
        """The object named by the ``what`` field ("trainer", "predictions", ...), imported now."""
        target = getattr(self, what)
        return None if target is None else resolve(target)


TASKS: dict[str, TaskDescription] = {}


def register(description: TaskDescription) -> TaskDescription:
    TASKS[description.name] = description
    return description


def names() -> tuple[str, ...]:
    """The task names, in the order the studio offers them."""
    return tuple(TASKS)


def get(name: Any) -> TaskDescription:
    """The description of task ``name``; a StudioError naming the tasks there are otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise StudioError(f"unknown task {name!r}", field="task",
                          hint=f"use one of: {', '.join(TASKS)}") from None


register(TaskDescription(
    "anomaly", "Anomaly detection (learns from good parts)", "good (OK) parts only",
    trainer="studio.training.anomaly:train_anomaly",
    outputs=("score", "anomaly_map"), predictions="studio.inference.predictions:anomaly",
    measure="image_auroc", needs=(200, 500), counts="good images",
    # the defaults, and the lever settings that measured best on hard real surfaces
    # (benchmarks/README.md, "Levers"): each costs the station more per part (1.2x, 2.6x,
    # 4.8x the default's graph), which the bake-off's latency column shows on the project's data
    bakeoff=(("anomaly (ours)", {"max_train_images": 100}),
             ("anomaly (Lite2)", {"max_train_images": 100, "backbone": "efficientnet_lite2"}),
             ("anomaly (Lite2, 320 px)", {"max_train_images": 100, "backbone": "efficientnet_lite2",
                                          "input_size": 320}),
             ("anomaly (Lite2, 2x2 tiles)", {"max_train_images": 100, "backbone": "efficientnet_lite2",
                                             "tiles": "2x2"}),
             ("anomaly (anomalib)", {"max_train_images": 100, "backend": "anomalib"})),
    needs_peer=("anomaly (anomalib)",)))
register(TaskDescription(
    "classification", "Classification (learns each defect class)", "good parts and NG parts with their defect class",
    trainer="studio.training.classification:train_classification",
    outputs=("probabilities",), predictions="studio.inference.predictions:classification",
    measure="accuracy", needs=(300, 800), counts="images",
    trainable="studio.labels.samples:trains_classification",
    bakeoff=(("classification", {"epochs": 3}),),
    figures="studio.evaluation.evaluate:class_figures"))
register(TaskDescription(
    "detection", "Object detection (learns the boxes drawn around defects)", "boxes drawn around each defect",
    trainer="studio.training.detection:train_detection",
    outputs=("detections",), predictions="studio.inference.predictions:detection",
    measure="map50", needs=(1000, 3000), counts="boxes",
    trainable="studio.labels.samples:trains_detection",
    bakeoff=(("detection (YOLO)", {"epochs": 10, "mosaic": 0.0}),)))
register(TaskDescription(
    "segmentation", "Segmentation (learns the defect pixels from masks)", "defect areas painted or outlined",
    trainer="studio.training.segmentation:train_segmentation",
    outputs=("score", "class_map"), predictions="studio.inference.predictions:segmentation",
    measure="dice", needs=(500, 2000), counts="masks",
    trainable="studio.labels.samples:trains_segmentation",
    bakeoff=(("segmentation (U-Net)", {"epochs": 6}),)))
