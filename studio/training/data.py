"""Which labeled images a model learns from and is tested on.

Only the current label of an image counts (the latest decision in
``labels.jsonl``). Borderline parts teach nothing clear and are left out of
training and testing alike. Images are preprocessed with the project's one
``Preprocessing`` so training sees exactly what the station will see.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from studio.core.errors import ModelError

MIN_GOOD_FOR_ANOMALY = 3


@dataclass
class Sample:
    image_id: str
    split: str
    defective: bool
    defect_class: str | None = None


def _labeled(project, split: str) -> list[Sample]:
    current = project.labels.current()
    out = []
    for record in project.dataset.records(split):
        label = current.get(record.id)
        if label is None or label.verdict not in ("ok", "ng"):
            continue
        out.append(Sample(record.id, record.split, label.verdict == "ng",
                          label.defect_class if label.verdict == "ng" else None))
    return out


def anomaly_train(project, max_images: int | None = None) -> list[Sample]:
    """Good training images only: the model learns what normal looks like."""
    good = [s for s in _labeled(project, "train") if not s.defective]
    if len(good) < MIN_GOOD_FOR_ANOMALY:
        n_train = len(project.dataset.records("train"))
        raise ModelError(
            f"anomaly training needs at least {MIN_GOOD_FOR_ANOMALY} good (OK) images in the train "
            f"split; there are {len(good)} (of {n_train} training images, {len(project.dataset)} in all)",
            hint="capture or import more good parts and label them OK")
    if max_images and len(good) > max_images:
        # spread the choice over the whole capture history, not just the first ones
        idx = np.linspace(0, len(good) - 1, int(max_images)).round().astype(int)
        good = [good[i] for i in sorted(set(idx.tolist()))]
    return good


def classification_train(project) -> tuple[list[Sample], list[str]]:
    """OK and NG (with a defect class) training images, and the class names: ``good`` first."""
    samples = []
    unclassified = 0
    for s in _labeled(project, "train"):
        if s.defective and not s.defect_class:
            unclassified += 1
            continue
        samples.append(s)
    defect_names = sorted({s.defect_class for s in samples if s.defective})
    # keep the criteria document's order, which is also the PLC id order
    order = {name: i for i, name in enumerate(project.criteria.class_names())}
    defect_names.sort(key=lambda n: (order.get(n, len(order)), n))
    classes = ["good"] + defect_names
    n_good = sum(not s.defective for s in samples)
    if n_good == 0 or len(classes) < 2:
        extra = f" ({unclassified} NG images have no defect class)" if unclassified else ""
        raise ModelError(
            f"classification needs good parts and at least one defect class in the train split; "
            f"there are {n_good} good and {len(samples) - n_good} defective images with a class "
            f"({len(classes) - 1} classes){extra}",
            hint="capture or label more parts: label good parts OK and defective ones NG with their defect class")
    return samples, classes


def test_samples(project) -> list[Sample]:
    """The test split's OK and NG images: what every model is judged on."""
    return _labeled(project, "test")


def load_inputs(project, samples: list[Sample], preprocessing=None, report=None) -> np.ndarray:
    """Preprocessed model inputs, float32 [N, 3, S, S]; ``report`` gets progress and may cancel."""
    pre = preprocessing or project.preprocessing
    size = pre.size
    out = np.empty((len(samples), 3, size, size), dtype=np.float32)
    for i, s in enumerate(samples):
        out[i] = pre.apply(project.dataset.load(project.dataset.get(s.image_id)))
        if report is not None and i % 16 == 15:
            report.check()
            report.progress((i + 1) / len(samples))
    if report is not None:
        report.progress(1.0)
    return out


def dataset_digest(samples: list[Sample]) -> str:
    """Which images, in which split, with which verdict: two models with the same digest saw the same data."""
    rows = sorted((s.image_id, s.split, s.defective, s.defect_class or "") for s in samples)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def labels_digest(project) -> str:
    """The whole current labeling, so a card tells whether labels changed since training."""
    rows = sorted((l.image_id, l.verdict, l.defect_class or "", l.criteria_version)
                  for l in project.labels.current().values())
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
