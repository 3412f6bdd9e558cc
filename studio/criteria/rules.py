"""Rules in measurable terms: "scratch longer than 2 mm on surface A: reject"."""
from __future__ import annotations

from typing import Any

UNITS = {"length": "mm", "width": "mm", "diameter": "mm", "area": "mm²", "count": ""}
WORDS = {"length": "longer than", "width": "wider than", "diameter": "larger across than",
         "area": "larger than", "count": "more than"}


def rule_text(c: Any, pixel_size_mm: float | None = None) -> str:
    """The class's rule in words; with a measure, the measurable limit (and in pixels when calibrated)."""
    parts = []
    if c.measure and c.limit is not None:
        unit = UNITS.get(c.measure, "")
        where = f" on surface {c.surface}" if c.surface else ""
        limit = f"{c.limit:g} {unit}".strip()
        text = f"{c.name} {WORDS.get(c.measure, 'above')} {limit}{where}: reject"
        px = limit_pixels(c, pixel_size_mm)
        if px is not None:
            text += f" (= {px:.0f} px{'²' if c.measure == 'area' else ''} at {pixel_size_mm:g} mm/px)"
        parts.append(text + ".")
    if c.rule:
        parts.append(c.rule)
    return " ".join(parts) or "(no rule written yet)"


def limit_pixels(c: Any, pixel_size_mm: float | None) -> float | None:
    """The limit in image pixels (pixels² for area) from the calibration; None when not measurable."""
    if not pixel_size_mm or c.limit is None or c.measure in (None, "count"):
        return None
    return c.limit / (pixel_size_mm ** 2) if c.measure == "area" else c.limit / pixel_size_mm


def measure_shape(shape: dict[str, Any], measure: str, pixel_size_mm: float) -> float | None:
    """A drawn box/polygon measured in mm (mm² for area): what the rule's limit is compared with."""
    import numpy as np

    from studio.labels.shapes import bbox_of

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
