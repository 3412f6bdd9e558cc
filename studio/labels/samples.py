"""Which labeled images a model learns from and is tested on (torch-free: evaluation and readiness use it too).

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

from studio.core.errors import ModelError, StudioError
from studio.labels.shapes import rasterize

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
    # without good parts it is a defect-type sorter: fine with two defect classes or more
    if len(classes) < 2 or (n_good == 0 and len(classes) < 3):
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


# ---- boxes and masks (detection, segmentation) ---------------------------------------

def _shape_box(shape: dict) -> tuple[float, float, float, float] | None:
    """A label shape's bounding box [x, y, w, h] in image pixels (boxes and polygons)."""
    kind = shape.get("type")
    try:
        if kind == "box":
            return float(shape["x"]), float(shape["y"]), float(shape["w"]), float(shape["h"])
        if kind == "polygon":
            pts = np.asarray(shape["points"], dtype=np.float64)
            x0, y0 = pts.min(0)
            x1, y1 = pts.max(0)
            return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def image_boxes(project, record, label) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The defect boxes of one labeled image: ``[(class name, (x, y, w, h)), ...]`` in image pixels.

    Where they come from, first match wins: the label's shapes (boxes, and
    polygons as their bounding box), then ``meta["boxes"]`` of the dataset
    record (importers), then the simulator's ``meta["truth"]["defect_box"]``.
    A shape without a class takes the image's defect class. OK images have none.
    """
    if label is None or label.verdict != "ng":
        return []
    default = label.defect_class or "defect"
    out = []
    for shape in getattr(label, "shapes", None) or []:
        b = _shape_box(shape)
        if b and b[2] > 0 and b[3] > 0:
            out.append((shape.get("class") or default, b))
    if out:
        return out
    for shape in (record.meta or {}).get("boxes") or []:
        b = _shape_box({"type": "box", **shape}) if isinstance(shape, dict) else None
        if b and b[2] > 0 and b[3] > 0:
            out.append((shape.get("class") or default, b))
    if out:
        return out
    truth_box = ((record.meta or {}).get("truth") or {}).get("defect_box")
    if truth_box and len(truth_box) == 4 and truth_box[2] > 0 and truth_box[3] > 0:
        out.append((default, tuple(float(v) for v in truth_box)))
    return out


@dataclass
class BoxSample(Sample):
    boxes: list = None          # [(class name, (x, y, w, h))] in image pixels


def detection_samples(project, split: str) -> list[BoxSample]:
    """Labeled images of ``split`` with their boxes; NG images without any box are left out."""
    current = project.labels.current()
    out = []
    for record in project.dataset.records(split):
        label = current.get(record.id)
        if label is None or label.verdict not in ("ok", "ng"):
            continue
        boxes = image_boxes(project, record, label)
        if label.verdict == "ng" and not boxes:
            continue
        out.append(BoxSample(record.id, record.split, label.verdict == "ng",
                             label.defect_class if label.verdict == "ng" else None, boxes))
    return out


def image_mask(project, record, label) -> np.ndarray | None:
    """The defect mask (uint8 0/1, image size) of one image: label shapes, else the dataset's mask.

    OK images get an all-zero mask; NG images with neither give None.
    """
    image_shape = None
    shapes = [s for s in (getattr(label, "shapes", None) or []) if s.get("type") in ("box", "polygon", "mask")]
    if shapes:
        image_shape = project.dataset.load(record).shape[:2]
        try:
            return (np.asarray(rasterize(shapes, image_shape, project.root)) > 0).astype(np.uint8)
        except StudioError as e:    # never the dataset's mask instead, in silence: the label said otherwise
            masks = ", ".join(s["file"] for s in shapes if s.get("type") == "mask") or "(none)"
            raise ModelError(f"image {record.id}: its labelled defect area cannot be read "
                             f"(brush mask {masks}: {e.message})", file=e.file,
                             hint="restore label_masks/ from a backup, or paint the defect again on the "
                                  "Label page; 'studio project check' lists every missing mask") from None
    mask = project.dataset.load_mask(record)
    if mask is not None:
        return mask
    if label is not None and label.verdict == "ok":
        image_shape = image_shape or project.dataset.load(record).shape[:2]
        return np.zeros(image_shape, np.uint8)
    return None


def segmentation_samples(project, split: str) -> list[Sample]:
    """Labeled images of ``split`` that have a mask (OK images count as all good)."""
    current = project.labels.current()
    out = []
    for record in project.dataset.records(split):
        label = current.get(record.id)
        if label is None or label.verdict not in ("ok", "ng"):
            continue
        has_shapes = any(s.get("type") in ("box", "polygon", "mask") for s in (getattr(label, "shapes", None) or []))
        if label.verdict == "ng" and not (record.mask or has_shapes):
            continue
        out.append(Sample(record.id, record.split, label.verdict == "ng",
                          label.defect_class if label.verdict == "ng" else None))
    return out


# ---- whether the labels can train a task (studio.tasks: ``trainable``; the bake-off asks) ----

def trains_classification(project) -> bool:
    """Good parts and at least one defect class with images in the train split."""
    try:
        classification_train(project)
    except ModelError:
        return False
    return True


def trains_detection(project) -> bool:
    """Boxes in the train split, and a model input YOLO can take (a multiple of 32 px)."""
    return project.preprocessing.size % 32 == 0 and any(s.boxes for s in detection_samples(project, "train"))


def trains_segmentation(project) -> bool:
    """Defect masks (painted, outlined or imported) in the train split."""
    return any(s.defective for s in segmentation_samples(project, "train"))
