"""Project templates: starting settings and criteria for ``studio project new --template``."""
from __future__ import annotations

from typing import Any

from studio.core.errors import ProjectError
from studio.criteria.document import CriteriaDocument, DefectClass

# The demo's classes match the defects the simulated camera can draw.
DEMO_CLASSES = [
    DefectClass(1, "scratch", "A thin linear mark in the machined face.", "major",
                "Any scratch longer than 3 mm on the face: reject."),
    DefectClass(2, "dent", "A local depression that changes the shading of the face.", "major",
                "Any dent wider than 1 mm: reject."),
    DefectClass(3, "stain", "A dark residue of coolant or oil.", "minor",
                "Stain larger than 4 mm across: reject; smaller: accept."),
    DefectClass(4, "missing_hole", "One of the four mounting holes is not drilled.", "critical",
                "Any missing hole: reject."),
]


def apply_template(name: str, settings: dict[str, Any],
                   criteria: CriteriaDocument) -> tuple[dict[str, Any], CriteriaDocument]:
    if name != "demo":
        raise ProjectError(f"unknown template '{name}'", hint="use '--template demo'")
    settings = dict(settings)
    settings["task"] = "anomaly"
    settings["camera"] = {"spec": "sim:seed=7,defect_rate=0.3", "settings": {}}
    settings["preprocessing"] = {"size": 128, "roi": None, "contrast": "none", "normalize": "imagenet"}
    settings["training"]["classification"].update({"epochs": 5})
    criteria.classes = [DefectClass(**c.to_dict()) for c in DEMO_CLASSES]
    return settings, criteria
