"""Operators overrule the station: the part goes back into labeling.

When the operator at the line says a verdict was wrong, the part's image
(from the result log's data directory) joins the project, labeled twice:
once with the model's verdict (``model:<model id>``) and once with the
operator's (``operator:<name>``). The two disagree, so the image waits in the
reference labeler's review queue with every other dispute; the reference
decision becomes its training label, and the next model learns from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.core.errors import StudioError

MODEL_VERDICT = {"pass": "ok", "reject": "ng", "review": "borderline"}


def send_back(project: Any, data_dir: str | Path, part: int, verdict: str, defect_class: str | None = None, *,
              operator: str, note: str = "") -> dict[str, Any]:
    """Record that ``operator`` says part ``part`` is ``verdict`` (ok | ng); returns what was recorded."""
    from studio.dataset.store import read_image
    from studio.labels.review import operator_disagrees
    from studio.results.reader import ResultReader
    from studio.results.schema import FILE_NAME

    if verdict not in ("ok", "ng"):
        raise StudioError(f"an operator's verdict is ok or ng, not '{verdict}'")
    if verdict == "ok":
        defect_class = None
    elif defect_class and defect_class not in project.criteria.class_names():
        raise StudioError(f"defect class '{defect_class}' is not in the criteria document",
                          hint=f"use one of: {', '.join(project.criteria.class_names())}")
    data_dir = Path(data_dir)
    reader = ResultReader(data_dir / FILE_NAME)
    try:
        row = reader.part(part)
    finally:
        reader.close()
    if row is None:
        raise StudioError(f"part {part} is not in the station's result log", file=data_dir / FILE_NAME,
                          hint="give the part number the kiosk or 'studio station run' showed")
    model_verdict = MODEL_VERDICT.get(row["verdict"])     # a fault has none: the model gave no answer
    if model_verdict == verdict and (verdict == "ok" or (defect_class or None) == (row["defect_class"] or None)):
        raise StudioError(f"the station already said {row['verdict']} for part {part}",
                          hint="only a verdict that differs from the station's is sent back")
    for rec in project.dataset:
        if rec.meta.get("station_part") == part and rec.meta.get("station_log") == str(data_dir.resolve()):
            raise StudioError(f"part {part} was already sent back as image {rec.id}",
                              hint="see it in the Label step's review queue")
    if not row.get("image_path"):
        raise StudioError(f"the station did not keep the image of part {part} ({row.get('note') or 'no image'})",
                          hint="the disagreement cannot be labeled without the image; note it on paper")
    image = read_image(data_dir / row["image_path"])
    record = project.dataset.add_image(
        image, stem=f"station-{part:06d}", source="station",
        meta={"station_part": part, "station_log": str(data_dir.resolve()), "model_id": row["model_id"],
              "model_verdict": row["verdict"], "score": row["score"], "t_trigger": row["t_trigger"]})
    if model_verdict is not None:
        project.labels.add(record.id, model_verdict, row["defect_class"] if model_verdict == "ng" else None,
                           labeler=f"model:{row['model_id']}", criteria_version=project.criteria.version,
                           rationale=f"station verdict {row['verdict']}, score {row['score']}")
    label = operator_disagrees(project, record.id, verdict, defect_class, operator=operator, note=note)
    return {"image_id": record.id, "part": part, "station_verdict": row["verdict"],
            "operator_verdict": label.verdict, "defect_class": label.defect_class, "operator": operator}
