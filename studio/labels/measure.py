"""A drawn shape measured against its class's rule: the label's box or polygon in mm, judged by the criteria.

The shapes are the labels' (``studio.labels.shapes``); the limits, units and
the calibration are the criteria document's (``studio.criteria.rules``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.criteria.rules import UNITS
from studio.labels.shapes import bbox_of


def measure_shape(shape: dict[str, Any], measure: str, pixel_size_mm: float) -> float | None:
    """A drawn box/polygon measured in mm (mm² for area): what the rule's limit is compared with."""
    if shape["type"] == "mask":
        return None
    x, y, w, h = bbox_of(shape)
    if measure in ("length", "diameter"):
        return float(np.hypot(w, h) if shape["type"] == "polygon" else max(w, h)) * pixel_size_mm
    if measure == "width":
        return float(min(w, h)) * pixel_size_mm
    if measure == "area":
        if shape["type"] == "box":
            return w * h * pixel_size_mm ** 2
        p = np.array(shape["points"], np.float64)
        area = 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], 1)) - np.dot(p[:, 1], np.roll(p[:, 0], 1)))
        return float(area) * pixel_size_mm ** 2
    return None


def judge_shape(doc: Any, shape: dict[str, Any]) -> str:
    """A drawn shape measured against its class's rule, in words; "" when the rule or calibration is missing."""
    c = doc.get(shape.get("class") or "")
    if c is None or not c.measure or c.limit is None or not doc.pixel_size_mm:
        return ""
    value = measure_shape(shape, c.measure, doc.pixel_size_mm)
    if value is None:
        return ""
    unit = UNITS.get(c.measure, "")
    verdict = "reject" if value > c.limit else "accept"
    return f"{c.name} {c.measure} {value:.2f} {unit} (limit {c.limit:g} {unit}): {verdict}"
