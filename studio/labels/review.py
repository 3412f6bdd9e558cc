"""The reference labeler's review queue: disagreements and borderline marks, decided with a rationale.

A decision (``decide``) is a reference label: it records the rationale and
the criterion, becomes the training label, and can add the image to the
criteria document as an example. Operator disagreements from the station
arrive as labels of an ``operator:<name>`` labeler and land here the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.core.errors import StudioError
from studio.labels.store import Label


@dataclass
class ReviewItem:
    image_id: str
    reason: str                   # "disputed" or "borderline"
    labels: dict[str, Label]      # each labeler's latest label (the reviewer sees them all)

    def to_dict(self) -> dict[str, Any]:
        return {"image_id": self.image_id, "reason": self.reason,
                "labels": {n: {"verdict": l.verdict, "defect_class": l.defect_class,
                               "criterion": l.criterion, "time": l.time, "shapes": len(l.shapes)}
                           for n, l in sorted(self.labels.items())}}


def review_queue(project: Any) -> list[ReviewItem]:
    """Images waiting for the reference labeler, disputes first, in image order."""
    order = {r.id: i for i, r in enumerate(project.dataset)}
    items = [ReviewItem(r.image_id, r.status, r.labels)
             for r in project.labels.resolve().values() if r.needs_review]
    items.sort(key=lambda it: (it.reason != "disputed", order.get(it.image_id, len(order)), it.image_id))
    return items


def decide(project: Any, image_id: str, verdict: str, defect_class: str | None = None, *,
           labeler: str, rationale: str, criterion: str | None = None, example: str | None = None,
           shapes: list[dict[str, Any]] | None = None) -> Label:
    """Record the reference decision; optionally add the image as a criteria example of its class."""
    project.dataset.get(image_id)
    names = project.criteria.class_names()
    if verdict == "ng" and defect_class and defect_class not in names:
        raise StudioError(f"defect class '{defect_class}' is not in the criteria document",
                          hint=f"use one of: {', '.join(names)}")
    reviewer = reference_labeler(project)
    if reviewer and labeler != reviewer:
        raise StudioError(f"'{labeler}' is not this project's reference labeler ('{reviewer}')",
                          hint="decide as the reference labeler, or change it with "
                               "'studio labels assign PROJECT --reference NAME'")
    if criterion is None and verdict == "ng" and defect_class:
        c = project.criteria.get(defect_class)
        criterion = f"{defect_class}: {c.rule_text(project.criteria.pixel_size_mm)}" if c else defect_class
    if example is not None:
        target = defect_class or _class_in_dispute(project, image_id)
        if not target:
            raise StudioError("an example needs a defect class to belong to",
                              hint="give --class, or decide NG with its class")
        from studio.criteria.examples import add_example

        add_example(project, target, image_id, example, author=labeler, note=rationale)
    return project.labels.decide(image_id, verdict, defect_class, labeler=labeler, rationale=rationale,
                                 criterion=criterion, criteria_version=project.criteria.version,
                                 shapes=shapes)


def _class_in_dispute(project: Any, image_id: str) -> str | None:
    labels = project.labels.by_labeler().get(image_id, {})
    return next((l.defect_class for l in labels.values() if l.defect_class), None)


def reference_labeler(project: Any) -> str | None:
    from studio.labels.assignment import LabelingPlan

    return LabelingPlan.load(project.root).reference


def operator_disagrees(project: Any, image_id: str, verdict: str, defect_class: str | None = None, *,
                       operator: str, note: str = "") -> Label:
    """The station's hook: an operator overrules the model on a part that is in the project.

    Recorded as a label of ``operator:<name>``; when it differs from the image's
    labels it is a dispute, so it lands in the review queue like any other.
    """
    project.dataset.get(image_id)
    return project.labels.add(image_id, verdict, defect_class, labeler=f"operator:{operator}",
                              criteria_version=project.criteria.version, rationale=note)
