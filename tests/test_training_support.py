"""Tiny synthetic projects and hand-made ONNX models for the model tests (no tests here).

Parts are smooth gray plates with sensor noise; a defect is a dark blob.
Images are 96 px and the model input 64 px, so everything trains in seconds.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def plate(rng: np.random.Generator, defect: bool, size: int = 96) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    img = 120 + 30 * (xx / size) + rng.normal(0, 5, (size, size))
    if defect:
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < (size // 10) ** 2] = 35
    return np.clip(img, 0, 255).astype(np.uint8)


def make_project(root: Path, *, good_train: int = 5, good_test: int = 3, bad_train: int = 1,
                 bad_test: int = 3, defect_class: str = "stain", size: int = 64, seed: int = 0):
    """A demo-template project with labeled plates in an explicit split."""
    from studio.project import Project

    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = size
    project.save()
    rng = np.random.default_rng(seed)
    plan = ([("good", False, "train")] * good_train + [("good", False, "test")] * good_test
            + [("bad", True, "train")] * bad_train + [("bad", True, "test")] * bad_test)
    for i, (stem, defect, split) in enumerate(plan):
        rec = project.dataset.add_image(plate(rng, defect), stem=f"{stem}{i}", split=split, save=False)
        project.labels.add(rec.id, "ng" if defect else "ok", defect_class if defect else None)
    project.dataset.save()
    return project


def write_fake_model(project, model_id: str, task: str, *, threshold: float, classes=None,
                     class_ids=None, created: str = "2026-01-01T00:00:00") -> Path:
    """A tiny ONNX model with the real interface, whose score is easy to predict.

    anomaly: score = -(darkest input value), map = -input[:, :1] (dark blob -> high score);
    classification: logits from the mean of each channel, so probabilities follow the image.
    """
    import torch

    class Anomaly(torch.nn.Module):
        def forward(self, image):
            amap = -image[:, :1]
            return amap.flatten(1).max(dim=1).values, amap

    class Classify(torch.nn.Module):
        def forward(self, image):
            m = image.mean(dim=(2, 3))                     # [N, 3]
            logits = torch.stack([m[:, 0] * 4, -m[:, 0] * 4] + [m[:, 1] * 0] * (len(classes) - 2), dim=1)
            return torch.softmax(logits, dim=1)

    from studio.training.export import to_onnx

    outputs = ["score", "anomaly_map"] if task == "anomaly" else ["probabilities"]
    size = project.preprocessing.size
    onnx_bytes = to_onnx(Anomaly() if task == "anomaly" else Classify(), torch.zeros(2, 3, size, size), outputs)
    folder = project.models_dir / model_id
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    classes = classes or ["good", "anomaly"]
    card = {"model_id": model_id, "task": task, "created": created, "backbone": "test",
            "preprocessing": project.preprocessing.to_dict(), "classes": classes,
            "class_ids": class_ids or {c: 0 for c in classes}, "threshold": threshold, "metrics": {}}
    (folder / "card.json").write_text(json.dumps(card))
    return folder


def plate_with_square(rng: np.random.Generator, defect: bool, size: int = 96):
    """A plate and, when defective, one dark square: (image, box [x, y, w, h] or None, 0/1 mask)."""
    yy, xx = np.mgrid[:size, :size]
    img = 120 + 30 * (xx / size) + rng.normal(0, 4, (size, size))
    mask = np.zeros((size, size), np.uint8)
    box = None
    if defect:
        side = int(rng.integers(size // 5, size // 3))
        x, y = (int(v) for v in rng.integers(4, size - side - 4, 2))
        img[y:y + side, x:x + side] = 30
        mask[y:y + side, x:x + side] = 1
        box = [x, y, side, side]
    return np.clip(img, 0, 255).astype(np.uint8), box, mask


def make_shapes_project(root: Path, *, n_train: int = 16, n_test: int = 8, size: int = 64, seed: int = 0,
                        boxes_as: str = "shapes", masks: bool = False, defect_class: str = "stain"):
    """Half the plates defective, each defect labeled with a box shape (or meta boxes) and/or a dataset mask."""
    from studio.labels.shapes import box as box_shape
    from studio.project import Project

    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = size
    project.save()
    rng = np.random.default_rng(seed)
    for i in range(n_train + n_test):
        split = "train" if i < n_train else "test"
        defect = i % 2 == 1
        img, box, mask = plate_with_square(rng, defect)
        meta = {"boxes": [{"class": defect_class, "x": box[0], "y": box[1], "w": box[2], "h": box[3]}]} \
            if defect and boxes_as == "meta" else {}
        rec = project.dataset.add_image(img, stem=f"p{i}", split=split, save=False, meta=meta,
                                        mask=mask if (masks and defect) else None)
        shapes = [box_shape(*box, cls=defect_class)] if defect and boxes_as == "shapes" else None
        project.labels.add(rec.id, "ng" if defect else "ok", defect_class if defect else None, shapes=shapes)
    project.dataset.save()
    return project
