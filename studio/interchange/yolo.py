"""YOLO (Ultralytics layout): ``data.yaml`` with the class names, ``images/`` and ``labels/``.

One text file per image, one object a line, coordinates normalised to 0–1:
``class cx cy w h`` for a box, ``class x1 y1 x2 y2 ...`` for a polygon
(segmentation). ``images/train`` / ``images/val`` become the train / test
split. An image with objects is NG with the most frequent class; an empty
or missing label file is OK. A line that cannot be parsed (or names a class
data.yaml does not list) stops the import with the file and line: its image
would otherwise come in as a good part.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from studio.core.atomic import atomic_write_text, atomic_write_yaml
from studio.core.errors import ImportProblem
from studio.interchange.importers import ImportReport, _Item, import_images
from studio.dataset.store import IMAGE_SUFFIXES
from studio.interchange import ExportNames, copy_image, exportable, image_size, majority_class, prepare_dest
from studio.labels.shapes import bbox_of, load_mask

SPLIT_DIRS = {"train": "train", "val": "test", "valid": "test", "test": "test"}


def _names(data: dict[str, Any], where: Path) -> dict[int, str]:
    names = data.get("names")
    if isinstance(names, list):
        return dict(enumerate(str(n) for n in names))
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    raise ImportProblem("has no class 'names' list", file=where, hint="write e.g. 'names: [scratch, dent]'")


def import_yolo(project: Any, src: str | Path, *, labeler: str = "import:yolo", task=None) -> ImportReport:
    root = Path(src)
    cfg = root / "data.yaml"
    if not cfg.exists() or not (root / "images").is_dir():
        raise ImportProblem("is not a YOLO folder (data.yaml and images/ expected)", file=root,
                            hint="give the folder holding data.yaml, images/ and labels/")
    try:
        names = _names(yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}, cfg)
    except yaml.YAMLError as e:
        raise ImportProblem(f"is not valid YAML ({e})", file=cfg) from None
    import cv2

    items, bad, unparsable = [], [], []
    for img in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = img.relative_to(root / "images")
        split = SPLIT_DIRS.get(rel.parts[0]) if len(rel.parts) > 1 else None
        lab = (root / "labels" / rel).with_suffix(".txt")
        shapes = []
        if lab.exists():
            size = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
            if size is None:
                bad.append((str(img), "cannot be decoded as an image"))
                continue
            h, w = size.shape[:2]
            try:
                text = lab.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                unparsable.append(f"{lab}: cannot be read as text ({e})")
                continue
            for n, line in enumerate(text.splitlines(), 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    k = int(parts[0])
                    v = [float(x) for x in parts[1:]]
                except ValueError:
                    unparsable.append(f"{lab}:{n}: {line.strip()[:60]!r} is not 'class x y w h' numbers")
                    continue
                if k not in names:
                    unparsable.append(f"{lab}:{n}: class {k} is not in data.yaml's names ({', '.join(str(i) for i in sorted(names))[:40]})")
                    continue
                cls = names[k]
                if len(v) == 4:
                    cx, cy, bw, bh = v
                    shapes.append({"type": "box", "class": cls, "x": (cx - bw / 2) * w, "y": (cy - bh / 2) * h,
                                   "w": bw * w, "h": bh * h})
                elif len(v) >= 6 and len(v) % 2 == 0:
                    shapes.append({"type": "polygon", "class": cls,
                                   "points": [[v[i] * w, v[i + 1] * h] for i in range(0, len(v), 2)]})
                else:
                    unparsable.append(f"{lab}:{n}: {len(v)} coordinates, neither a box (4) nor a polygon "
                                      "(6 or more, an even count)")
        named = [s["class"] for s in shapes]
        items.append(_Item(img, "ng" if named else "ok", majority_class(named), split, shapes=shapes))
    if unparsable:
        # an image whose labels cannot be read must not come in as a good part: nothing is imported
        more = f" (and {len(unparsable) - 5} more)" if len(unparsable) > 5 else ""
        raise ImportProblem(f"has label lines that cannot be parsed: {'; '.join(unparsable[:5])}{more}",
                            file=root / "labels", hint="each line is 'class cx cy w h' or 'class x1 y1 x2 y2 ...' "
                            "with a class index from data.yaml and coordinates 0..1; fix the lines and import again")
    if not items:
        raise ImportProblem("holds no images under images/", file=root)
    report = import_images(project, "yolo", items, labeler=labeler, task=task)
    report.skipped.extend(bad)
    return report


def _fmt(v: float) -> str:
    return f"{min(1.0, max(0.0, v)):.6f}"


def export_yolo(project: Any, dest: str | Path) -> dict[str, Any]:
    """Boxes as boxes, polygons as polygons, brush masks as their outline polygons."""
    import cv2
    import numpy as np

    dest = prepare_dest(dest)
    items, left = exportable(project)
    names = project.criteria.class_names()
    index = {n: i for i, n in enumerate(names)}
    n_obj = 0
    files = ExportNames()
    for item in items:
        h, w = image_size(project, item)
        sub = "train" if item.record.split == "train" else "val"
        name = files.name(item, f"images/{sub}")
        copy_image(project, item, dest / "images" / sub / name)
        lines = []
        for s in item.label.shapes:
            cls = s.get("class") or item.label.defect_class
            if cls not in index:
                continue
            k = index[cls]
            if s["type"] == "box":
                x, y, bw, bh = bbox_of(s)
                lines.append(f"{k} {_fmt((x + bw / 2) / w)} {_fmt((y + bh / 2) / h)} {_fmt(bw / w)} {_fmt(bh / h)}")
                continue
            polys = [s["points"]] if s["type"] == "polygon" else [
                c.reshape(-1, 2).tolist() for c in cv2.findContours(
                    load_mask(project.root, s["file"]).astype(np.uint8), cv2.RETR_EXTERNAL,
                    cv2.CHAIN_APPROX_SIMPLE)[0] if len(c) >= 3]
            for pts in polys:
                lines.append(f"{k} " + " ".join(f"{_fmt(px / w)} {_fmt(py / h)}" for px, py in pts))
        n_obj += len(lines)
        atomic_write_text(dest / "labels" / sub / f"{Path(name).stem}.txt", "".join(l + "\n" for l in lines))
    atomic_write_yaml(dest / "data.yaml", {"path": ".", "train": "images/train", "val": "images/val",
                                           "names": dict(enumerate(names))})
    return {"exported": len(items), "annotations": n_obj, "left_out": left, "renamed": files.renamed}
