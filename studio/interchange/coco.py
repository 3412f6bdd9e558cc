"""COCO: one annotation JSON, boxes (``bbox``), polygons and RLE masks (``segmentation``).

Import: ``file_name`` is resolved relative to the JSON's folder, or an
``images/`` folder beside it. An image with annotations is NG with the most
frequent category as its class, one without is OK — unless the image entry
carries the ``studio`` field our export writes (verdict, class, split).
Export writes ``annotations.json`` and ``images/``; brush masks become RLE.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_write_json
from studio.core.errors import ImportProblem
from studio.interchange.importers import ImportReport, _Item, import_images
from studio.interchange import ExportNames, copy_image, exportable, image_size, majority_class, prepare_dest
from studio.labels.shapes import bbox_of, load_mask


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """A COCO RLE (``counts`` as a list, or the compressed string) to a bool mask [h, w]."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = _rle_string_counts(counts)
    flat = np.zeros(h * w, bool)
    pos, val = 0, False
    for c in counts:
        flat[pos:pos + c] = val
        pos += c
        val = not val
    return flat.reshape((w, h)).T


def _rle_string_counts(s: str) -> list[int]:
    """pycocotools' compressed counts: 6-bit groups, LEB128-like, deltas from two back."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    h, w = mask.shape
    flat = np.asarray(mask, bool).T.reshape(-1)
    counts, val, run = [], False, 0
    for v in flat:
        if v == val:
            run += 1
        else:
            counts.append(run)
            val, run = v, 1
    counts.append(run)
    return {"counts": counts, "size": [h, w]}


def _resolve(base: Path, name: str) -> Path:
    for cand in (base / name, base / "images" / name, base / "images" / Path(name).name):
        if cand.exists():
            return cand
    return base / name


def import_coco(project: Any, src: str | Path, *, labeler: str = "import:coco", task=None) -> ImportReport:
    path = Path(src)
    if path.is_dir():
        found = sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
        if not found:
            raise ImportProblem("holds no COCO annotation JSON", file=path, hint="give the annotation .json file")
        path = found[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cats = {c["id"]: c["name"] for c in data["categories"]}
        images = data["images"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ImportProblem(f"is not a COCO annotation file ({e.__class__.__name__}: {e})", file=path,
                            hint="give the JSON with 'images', 'annotations' and 'categories'") from None
    anns: dict[Any, list[dict]] = {}
    for a in data.get("annotations", []):
        anns.setdefault(a.get("image_id"), []).append(a)
    items = []
    for im in images:
        shapes, masks = [], []
        for a in anns.get(im["id"], []):
            cls = cats.get(a.get("category_id"))
            seg = a.get("segmentation")
            if isinstance(seg, list) and seg:
                for poly in seg:
                    pts = [[poly[i], poly[i + 1]] for i in range(0, len(poly) - 1, 2)]
                    if len(pts) >= 3:
                        shapes.append({"type": "polygon", "class": cls, "points": pts})
            elif isinstance(seg, dict) and "counts" in seg:
                masks.append((cls, rle_decode(seg)))
            elif a.get("bbox"):
                x, y, w, h = a["bbox"]
                shapes.append({"type": "box", "class": cls, "x": x, "y": y, "w": w, "h": h})
        st = im.get("studio") or {}
        if st.get("verdict") in ("ok", "ng"):
            verdict, cls = st["verdict"], st.get("defect_class")
        else:
            named = [s.get("class") for s in shapes] + [c for c, _ in masks]
            verdict = "ng" if named else "ok"
            cls = majority_class(named)
        items.append(_Item(_resolve(path.parent, im["file_name"]), verdict, cls,
                           st.get("split") if st.get("split") in ("train", "test") else None,
                           shapes=shapes, masks=masks))
    if not items:
        raise ImportProblem("lists no images", file=path)
    return import_images(project, "coco", items, labeler=labeler, task=task)


def export_coco(project: Any, dest: str | Path) -> dict[str, Any]:
    dest = prepare_dest(dest)
    items, left = exportable(project)
    cats = [{"id": c.id, "name": c.name, "supercategory": "defect"} for c in project.criteria.classes]
    cat_id = {c["name"]: c["id"] for c in cats}
    images, annotations = [], []
    names = ExportNames()
    for n, item in enumerate(items, 1):
        h, w = image_size(project, item)
        file_name = f"images/{names.name(item, 'images')}"
        copy_image(project, item, dest / file_name)
        images.append({"id": n, "file_name": file_name, "width": w, "height": h,
                       "studio": {"image_id": item.image_id, "verdict": item.label.verdict,
                                  "defect_class": item.label.defect_class, "split": item.record.split}})
        for s in item.label.shapes:
            cls = s.get("class") or item.label.defect_class
            ann: dict[str, Any] = {"id": len(annotations) + 1, "image_id": n,
                                   "category_id": cat_id.get(cls, 0), "iscrowd": 0}
            if s["type"] == "mask":
                m = load_mask(project.root, s["file"])
                ann["segmentation"] = rle_encode(m)
                ann["area"] = int(m.sum())
                bb = bbox_of(s, project.root)
            else:
                bb = bbox_of(s)
                ann["segmentation"] = ([sum(s["points"], [])] if s["type"] == "polygon" else [])
                ann["area"] = bb[2] * bb[3]
            if bb is None:
                continue
            ann["bbox"] = list(bb)
            annotations.append(ann)
    atomic_write_json(dest / "annotations.json", {
        "info": {"description": f"Inspection Studio export of {project.name}",
                 "criteria_version": project.criteria.version},
        "images": images, "annotations": annotations, "categories": cats})
    return {"exported": len(images), "annotations": len(annotations), "left_out": left,
            "file": str(dest / "annotations.json"), "renamed": names.renamed}
