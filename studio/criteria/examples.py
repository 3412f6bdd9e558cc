"""Example images in the criteria document, taken straight from labeled images (the case law)."""
from __future__ import annotations

import datetime as _dt
from typing import Any

from studio.core.errors import StudioError

EXAMPLE_KINDS = ("reject", "accept", "borderline")


def add_example(project: Any, class_name: str, image_id: str, kind: str, *, author: str,
                note: str = "") -> Any:
    """Add ``image_id`` as a clear reject / clear accept / borderline example of a class (a new version)."""
    if kind not in EXAMPLE_KINDS:
        raise StudioError(f"an example is one of {', '.join(EXAMPLE_KINDS)}, not '{kind}'")
    project.dataset.get(image_id)          # a clear error for an unknown image

    def change(doc: Any) -> None:
        c = doc.get(class_name)
        if c is None:
            raise StudioError(f"defect class '{class_name}' is not in the criteria document",
                              hint=f"use one of: {', '.join(doc.class_names())}")
        c.examples = [e for e in c.examples if e.get("image_id") != image_id]
        c.examples.append({"image_id": image_id, "kind": kind, "note": note, "added_by": author,
                           "date": _dt.date.today().isoformat()})

    from studio.criteria.versions import edit

    return edit(project, author, f"{kind} example {image_id} for {class_name}", change)


def examples_of(doc: Any, class_name: str) -> dict[str, list[dict[str, Any]]]:
    c = doc.get(class_name)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in EXAMPLE_KINDS}
    for e in (c.examples if c else []):
        out.setdefault(e.get("kind", "borderline"), []).append(e)
    return out
