"""Folder layouts: MVTec AD and one folder per class (image-level labels; MVTec with defect masks)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_write_bytes
from studio.dataset.store import encode_png
from studio.interchange import ExportNames, copy_image, defect_mask, exportable, prepare_dest


def export_mvtec(project: Any, dest: str | Path) -> dict[str, Any]:
    """``train/good``, ``test/good``, ``test/<class>`` and ``ground_truth/<class>/<stem>_mask.png``.

    MVTec trains on good parts only: defective images of the train split go to
    ``test/<class>`` as well (counted in ``moved_to_test``).
    """
    dest = prepare_dest(dest)
    items, left = exportable(project)
    moved = masks = 0
    names = ExportNames()
    for item in items:
        label = item.label
        if label.verdict == "ok":
            sub = f"{'train' if item.record.split == 'train' else 'test'}/good"
        else:
            cls = label.defect_class or "defect"
            sub = f"test/{cls}"
            moved += item.record.split == "train"
        name = names.name(item, sub)
        if label.verdict != "ok":
            m = defect_mask(project, item)
            if m is not None:
                atomic_write_bytes(dest / "ground_truth" / cls / f"{Path(name).stem}_mask.png",
                                   encode_png(m.astype(np.uint8) * 255))
                masks += 1
        copy_image(project, item, dest / sub / name)
    return {"exported": len(items), "masks": masks, "moved_to_test": moved, "left_out": left,
            "renamed": names.renamed}


def export_folders(project: Any, dest: str | Path) -> dict[str, Any]:
    """``good/`` and one folder per defect class."""
    dest = prepare_dest(dest)
    items, left = exportable(project)
    names = ExportNames()
    for item in items:
        sub = "good" if item.label.verdict == "ok" else (item.label.defect_class or "defect")
        copy_image(project, item, dest / sub / names.name(item, sub))
    return {"exported": len(items), "left_out": left, "renamed": names.renamed}
