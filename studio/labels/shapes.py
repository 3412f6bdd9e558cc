"""Shapes on an image: boxes, polygons and brush masks, in image pixels.

A shape is a plain dict, stored as-is in the label log:

* ``{"type": "box", "class": "scratch", "x": 10, "y": 20, "w": 30, "h": 8}``
* ``{"type": "polygon", "class": "dent", "points": [[x, y], ...]}``
* ``{"type": "mask", "class": "stain", "file": "label_masks/<hash>.png"}`` — a
  brush mask, a PNG the size of the image (non-zero = painted), kept in the
  project and named by its content so two labelers never overwrite each other.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.errors import StudioError

SHAPE_TYPES = ("box", "polygon", "mask")
MASK_DIR = "label_masks"


def box(x: float, y: float, w: float, h: float, cls: str | None = None) -> dict[str, Any]:
    return {"type": "box", "class": cls, "x": float(x), "y": float(y), "w": float(w), "h": float(h)}


def polygon(points: list[tuple[float, float]] | list[list[float]], cls: str | None = None) -> dict[str, Any]:
    return {"type": "polygon", "class": cls, "points": [[float(x), float(y)] for x, y in points]}


def check_shape(s: Any) -> dict[str, Any]:
    """A validated copy of a shape dict; StudioError saying what is wrong otherwise."""
    if not isinstance(s, dict) or s.get("type") not in SHAPE_TYPES:
        raise StudioError(f"a shape must be a box, polygon or mask, not {s!r}",
                          hint="draw it again with one of the canvas tools")
    t = s["type"]
    if t == "box":
        try:
            out = box(s["x"], s["y"], s["w"], s["h"], s.get("class"))
        except (KeyError, TypeError, ValueError):
            raise StudioError(f"a box needs numbers x, y, w, h: {s!r}") from None
        if out["w"] <= 0 or out["h"] <= 0:
            raise StudioError(f"a box must have a positive width and height: {s!r}",
                              hint="drag the box corner away from its start")
        return out
    if t == "polygon":
        pts = s.get("points")
        if not isinstance(pts, list) or len(pts) < 3:
            raise StudioError(f"a polygon needs at least three points: {s!r}")
        return polygon(pts, s.get("class"))
    if not isinstance(s.get("file"), str):
        raise StudioError(f"a brush mask needs its PNG file: {s!r}")
    return {"type": "mask", "class": s.get("class"), "file": s["file"]}


def save_mask(root: Path, mask: np.ndarray) -> str:
    """Store a brush mask as a PNG in the project; returns its project-relative path."""
    from studio.core.atomic import atomic_write_bytes
    from studio.dataset.store import encode_png

    m = (np.asarray(mask) > 0).astype(np.uint8) * 255
    data = encode_png(m)
    rel = f"{MASK_DIR}/{hashlib.sha1(data).hexdigest()[:20]}.png"
    if not (Path(root) / rel).exists():
        atomic_write_bytes(Path(root) / rel, data)
    return rel


def load_mask(root: Path, rel: str) -> np.ndarray:
    from studio.dataset.store import read_image

    m = read_image(Path(root) / rel)
    if m.ndim == 3:
        m = m[..., 0]
    return m > 0


def rasterize(shapes: list[dict[str, Any]], size: tuple[int, int], root: Path | None = None,
              cls: str | None = None, types: tuple[str, ...] = SHAPE_TYPES) -> np.ndarray:
    """The union of ``shapes`` (of class ``cls`` when given) as a bool mask of ``size`` = (h, w)."""
    import cv2

    h, w = size
    out = np.zeros((h, w), np.uint8)
    for s in shapes:
        if s["type"] not in types or (cls is not None and s.get("class") != cls):
            continue
        if s["type"] == "box":
            x0, y0 = int(round(s["x"])), int(round(s["y"]))
            x1, y1 = int(round(s["x"] + s["w"])), int(round(s["y"] + s["h"]))
            out[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 1
        elif s["type"] == "polygon":
            pts = np.round(np.array(s["points"], np.float64)).astype(np.int32)
            cv2.fillPoly(out, [pts], 1)
        elif root is not None:
            m = load_mask(root, s["file"])
            if m.shape != (h, w):
                m = cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            out[m] = 1
    return out.astype(bool)


def bbox_of(s: dict[str, Any], root: Path | None = None) -> tuple[float, float, float, float] | None:
    """(x, y, w, h) enclosing a shape; None for an empty mask."""
    if s["type"] == "box":
        return s["x"], s["y"], s["w"], s["h"]
    if s["type"] == "polygon":
        p = np.array(s["points"], np.float64)
        x0, y0 = p.min(axis=0)
        x1, y1 = p.max(axis=0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
    if root is None:
        return None
    m = load_mask(root, s["file"])
    ys, xs = np.nonzero(m)
    if not len(xs):
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlap (intersection over union) of two [x, y, w, h] boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def parse_cli_shapes(boxes: list[str], polygons: list[str], cls: str | None) -> list[dict[str, Any]]:
    """``--box X,Y,W,H`` and ``--polygon X,Y;X,Y;X,Y`` as shapes; a clear error for a typo."""
    out = []
    try:
        for b in boxes:
            x, y, w, h = (float(v) for v in b.split(","))
            out.append(check_shape(box(x, y, w, h, cls)))
        for p in polygons:
            pts = [tuple(float(v) for v in xy.split(",")) for xy in p.split(";") if xy.strip()]
            out.append(check_shape(polygon(pts, cls)))
    except ValueError:
        raise StudioError("a shape is not in the expected form",
                          hint="write --box X,Y,W,H and --polygon X,Y;X,Y;X,Y in image pixels") from None
    return out
