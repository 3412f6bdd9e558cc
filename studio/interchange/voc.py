"""Pascal VOC: one XML per image with ``<object><name/><bndbox/></object>`` boxes.

Import: a folder with the images and their XML files side by side, or
``JPEGImages/`` + ``Annotations/``. Pixel coordinates are 1-based and
inclusive (xmin = x + 1, xmax = x + w). An image with objects is NG with
the most frequent object name as its class; an XML with no object is OK.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_text
from studio.core.errors import ImportProblem
from studio.interchange.importers import ImportReport, _images_in, _Item, import_images
from studio.interchange import ExportNames, copy_image, exportable, image_size, majority_class, prepare_dest
from studio.labels.shapes import bbox_of


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _find(node: ET.Element, tag: str) -> str | None:
    e = node.find(tag)
    return e.text.strip() if e is not None and e.text else None


def read_xml(path: Path) -> tuple[str | None, list[dict[str, Any]], dict[str, str]]:
    """(filename, boxes, studio extras) of one VOC XML."""
    root = ET.parse(path).getroot()
    boxes = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        x0, y0 = float(_find(bb, "xmin")), float(_find(bb, "ymin"))
        x1, y1 = float(_find(bb, "xmax")), float(_find(bb, "ymax"))
        boxes.append({"type": "box", "class": _find(obj, "name"), "x": x0 - 1, "y": y0 - 1,
                      "w": x1 - x0 + 1, "h": y1 - y0 + 1})
    studio = root.find("studio")
    extra = {c.tag: (c.text or "") for c in studio} if studio is not None else {}
    return _find(root, "filename"), boxes, extra


def import_voc(project: Any, src: str | Path, *, labeler: str = "import:voc", task=None) -> ImportReport:
    root = Path(src)
    if not root.is_dir():
        raise ImportProblem("is not a folder", file=root,
                            hint="give the folder with the images and XML files, or with JPEGImages/ and Annotations/")
    ann_dir = next((root / d for d in ("Annotations", "ANNOTATIONS", "annotations") if (root / d).is_dir()), root)
    img_dirs = [root / d for d in ("JPEGImages", "IMAGES", "images") if (root / d).is_dir()] + [root]
    by_name = {p.name: p for d in img_dirs for p in _images_in(d)}
    by_stem = {p.stem: p for p in by_name.values()}
    xmls = sorted(ann_dir.glob("*.xml"))
    if not xmls:
        raise ImportProblem("holds no Pascal VOC XML files", file=ann_dir,
                            hint="VOC needs one .xml per image (Annotations/ or beside the images)")
    items, report_missing, unreadable = [], [], []
    for x in xmls:
        try:
            fname, boxes, extra = read_xml(x)
        except (ET.ParseError, TypeError, ValueError, OSError) as e:
            # its image is not imported at all: without its labels it is neither OK nor NG
            unreadable.append((str(x), f"unreadable XML ({e}); its image is not imported"))
            continue
        img = by_name.get(fname or "") or by_stem.get(x.stem) or by_stem.get(Path(fname or "").stem)
        if img is None:
            report_missing.append((str(x), f"its image {fname or x.stem} is not in the folder"))
            continue
        if extra.get("verdict") in ("ok", "ng"):
            verdict, cls = extra["verdict"], extra.get("defect_class") or None
        else:
            verdict = "ng" if boxes else "ok"
            cls = majority_class([b["class"] for b in boxes])
        split = extra.get("split") if extra.get("split") in ("train", "test") else None
        items.append(_Item(img, verdict, cls, split, shapes=boxes))
    if not items:
        if unreadable and not report_missing:
            shown = "; ".join(f"{Path(f).name}: {r.split('; its image')[0]}" for f, r in unreadable[:3])
            more = f" (and {len(unreadable) - 3} more)" if len(unreadable) > 3 else ""
            raise ImportProblem(f"has {len(unreadable)} XML file(s) and none can be read: {shown}{more}",
                                file=ann_dir, hint="fix or re-export the annotation files (Pascal VOC XML)")
        problems = unreadable + report_missing
        shown = "; ".join(f"{Path(f).name}: {r}" for f, r in problems[:3])
        raise ImportProblem(f"has XML files but none gives a usable image: {shown}", file=root,
                            hint="each XML's <filename> (or its own name) must match an image in the folder")
    report = import_images(project, "voc", items, labeler=labeler, task=task)
    report.skipped.extend(unreadable + report_missing)
    return report


def export_voc(project: Any, dest: str | Path) -> dict[str, Any]:
    """``JPEGImages/`` (each image under its own name and bytes) and ``Annotations/``; polygons and masks as their boxes."""
    dest = prepare_dest(dest)
    items, left = exportable(project)
    n_obj = 0
    names = ExportNames()
    for item in items:
        h, w = image_size(project, item)
        name = names.name(item, "JPEGImages")
        copy_image(project, item, dest / "JPEGImages" / name)
        objs = []
        for s in item.label.shapes:
            bb = bbox_of(s, project.root)
            if bb is None:
                continue
            x, y, bw, bh = bb
            cls = s.get("class") or item.label.defect_class or "defect"
            objs.append(f"  <object><name>{escape(cls)}</name><pose>Unspecified</pose><truncated>0</truncated>"
                        f"<difficult>0</difficult><bndbox><xmin>{_num(x + 1)}</xmin><ymin>{_num(y + 1)}</ymin>"
                        f"<xmax>{_num(x + bw)}</xmax><ymax>{_num(y + bh)}</ymax></bndbox></object>")
        n_obj += len(objs)
        xml = (f"<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{name}</filename>\n"
               f"  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>\n"
               f"  <studio><verdict>{item.label.verdict}</verdict>"
               f"<defect_class>{escape(item.label.defect_class or '')}</defect_class>"
               f"<split>{item.record.split}</split></studio>\n" + "\n".join(objs) + "\n</annotation>\n")
        atomic_write_text(dest / "Annotations" / f"{Path(name).stem}.xml", xml)
    return {"exported": len(items), "annotations": n_obj, "left_out": left, "renamed": names.renamed}
