"""The criterion text recorded with a label: built here once, for the GUI and the CLI alike.

A label records which clause of the acceptance-criteria document was applied
(``"scratch: longer than 0.5 mm (8 px)"``), so that a later reader of
``labels.jsonl`` knows the rule the labeler judged by, even after the rule
changed. ``document`` is a ``studio.criteria.CriteriaDocument`` (anything with
``get(name)`` and ``pixel_size_mm``).
"""
from __future__ import annotations

from typing import Any


def criterion_text(document: Any, defect_class: str | None) -> str | None:
    """``"<class>: <rule>"`` for a defect class of the document; the class name alone when it has
    no entry there; None when there is no defect class (an OK or borderline label)."""
    if not defect_class:
        return None
    entry = document.get(defect_class) if document is not None else None
    if entry is None:
        return defect_class
    return f"{defect_class}: {entry.rule_text(getattr(document, 'pixel_size_mm', None))}"
