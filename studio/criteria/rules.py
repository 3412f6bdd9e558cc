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
