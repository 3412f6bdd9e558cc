"""Interchange with other labeling tools: COCO, YOLO, Pascal VOC, the MVTec layout, one folder per class.

Importers are registered in ``studio.dataset.importers.IMPORTERS`` (the
``studio import`` command takes its formats from there); exporters here in
``EXPORTERS``. Export writes each image's *training label* (reference
decision > agreement > single label); disputed, borderline and unlabeled
images are left out and counted in the report.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from studio.core.errors import StudioError
from studio.core.registry import Registry

EXPORTERS = Registry("export format")
for _name in ("coco", "voc", "yolo"):
    EXPORTERS.register(_name, f"studio.interchange.{_name}:export_{_name}")
EXPORTERS.register("mvtec", "studio.interchange.layouts:export_mvtec")
EXPORTERS.register("folders", "studio.interchange.layouts:export_folders")


@dataclass
class Exportable:
    record: Any
    label: Any            # the training label (verdict ok / ng)

    @property
    def image_id(self) -> str:
        return self.record.id


def exportable(project: Any) -> tuple[list[Exportable], int]:
    """Images with an OK / NG training label, in dataset order; and how many were left out."""
    current = project.labels.current()
    out, left = [], 0
    for rec in project.dataset:
        label = current.get(rec.id)
        if label is None or label.verdict not in ("ok", "ng"):
            left += 1
            continue
        out.append(Exportable(rec, label))
    return out, left


def copy_image(project: Any, item: Exportable, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project.dataset.path(item.record), dest)


def image_size(project: Any, item: Exportable) -> tuple[int, int]:
    """(height, width) of the stored image."""
    import cv2

    img = cv2.imread(str(project.dataset.path(item.record)), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise StudioError("cannot be read", file=project.dataset.path(item.record))
    return img.shape[:2]


def defect_mask(project: Any, item: Exportable) -> np.ndarray | None:
    """The image's defect area: drawn polygons / brush masks, else the dataset's ground-truth mask."""
    from studio.labels.shapes import rasterize

    if any(s["type"] in ("polygon", "mask") for s in item.label.shapes):
        return rasterize(item.label.shapes, image_size(project, item), project.root,
                         types=("polygon", "mask"))
    m = project.dataset.load_mask(item.record)
    return None if m is None else m > 0


def prepare_dest(dest: str | Path) -> Path:
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise StudioError("the export folder is not empty", file=dest,
                          hint="choose a new or empty folder; nothing is overwritten")
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def run_export(project: Any, fmt: str, dest: str | Path) -> dict[str, Any]:
    exporter: Callable[..., dict[str, Any]] = EXPORTERS.get(fmt)
    return exporter(project, dest)


def majority_class(classes: list[str | None]) -> str | None:
    named = [c for c in classes if c]
    if not named:
        return None
    return max(sorted(set(named)), key=named.count)
