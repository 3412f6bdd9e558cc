"""Interchange with other labeling tools: COCO, YOLO, Pascal VOC, the MVTec layout, one folder per class.

Importers are registered in ``studio.interchange.importers.IMPORTERS`` (the
``studio import`` command takes its formats from there; the MVTec layout and
folders-per-class importers live there too); exporters here in
``EXPORTERS``. Export writes each image's *training label* (reference
decision > agreement > single label); disputed, borderline and unlabeled
images are left out and counted in the report.

Every image goes out under its own name (the imported file's name, or the
stored one for a capture) with its stored bytes; two images that would share
a name in one folder are told apart with ``_2``... and listed in the
report's ``renamed``.
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
    """The stored file as it is (an imported JPEG goes out as the same bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project.dataset.path(item.record), dest)


def own_name(record: Any) -> str:
    """The name the image had where it came from (an import's file name), else its stored file name."""
    name = (record.meta or {}).get("original_name")
    if not name and str(record.source).startswith("import:") and record.meta.get("original"):
        name = Path(record.meta["original"]).name       # imported before names were kept
        if Path(name).suffix.lower() != Path(record.file).suffix.lower():
            name = Path(name).stem + Path(record.file).suffix   # the stored bytes are PNG: say so
    return name or Path(record.file).name


class ExportNames:
    """File names for one export: each image's own name; ``_2``, ``_3``... only where two images
    would share a name (same stem, case-insensitive) in one folder, and then listed in ``renamed``."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, str]] = set()
        self.renamed: list[dict[str, str]] = []

    def name(self, item: Exportable, folder: str = "") -> str:
        want = own_name(item.record)
        stem, suffix = Path(want).stem, Path(want).suffix
        cand, n = want, 1
        while (folder, Path(cand).stem.lower()) in self._taken:
            n += 1
            cand = f"{stem}_{n}{suffix}"
        self._taken.add((folder, Path(cand).stem.lower()))
        if cand != want:
            self.renamed.append({"image_id": item.image_id, "name": want, "exported_as": f"{folder}/{cand}".lstrip("/")})
        return cand


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
