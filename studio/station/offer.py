"""New defect types to the review queue: the images of a group of unknown rejects, offered for labeling.

``offer_new_defects(project, data_dir, groups)`` takes each part's image
from the result log's data directory into the project (as ``feedback.send_back``
does for an operator's disagreement), with the model's label (``model:<id>``,
NG) and a *borderline* mark by ``monitor:new-defect`` saying why: so every
image waits in the reference labeler's review queue, where it is given a
new defect class (add it to the criteria first) or an existing one. A part
already in the project, or without a kept image, is skipped and said.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

LABELER = "monitor:new-defect"


def offer_new_defects(project: Any, data_dir: str | Path, groups: list[dict[str, Any]]) -> dict[str, Any]:
    from studio.dataset.store import read_image
    from studio.monitoring.report import log_path
    from studio.results.reader import ResultReader

    path = log_path(data_dir)
    root = path.parent.resolve()
    known = {(rec.meta.get("station_log"), rec.meta.get("station_part")) for rec in project.dataset}
    added, skipped = [], []
    reader = ResultReader(path)
    try:
        for g in groups:
            for part in g.get("parts", []):
                row = reader.part(int(part))
                if (str(root), int(part)) in known:
                    skipped.append({"part": part, "why": "already in the project"})
                    continue
                if row is None or not row.get("image_path"):
                    skipped.append({"part": part, "why": "no image kept" if row else "not in the log"})
                    continue
                image = read_image(root / row["image_path"])
                rec = project.dataset.add_image(
                    image, stem=f"station-{int(part):06d}", source="station",
                    meta={"station_part": int(part), "station_log": str(root), "model_id": row["model_id"],
                          "model_verdict": row["verdict"], "score": row["score"], "t_trigger": row["t_trigger"],
                          "new_defect_group": g.get("group")})
                project.labels.add(rec.id, "ng", row["defect_class"], labeler=f"model:{row['model_id']}",
                                   criteria_version=project.criteria.version,
                                   rationale=f"station verdict {row['verdict']}, score {row['score']}")
                near = (f", nearest known class {g['nearest_known']} at distance {g['distance']}"
                        if g.get("nearest_known") else "")
                project.labels.add(rec.id, "borderline", labeler=LABELER, criteria_version=project.criteria.version,
                                   rationale=f"rejected part like no known defect class (group {g.get('group')}, "
                                             f"{g.get('n')} parts{near}): name its defect")
                known.add((str(root), int(part)))
                added.append({"part": int(part), "image_id": rec.id, "group": g.get("group")})
    finally:
        reader.close()
    return {"added": added, "skipped": skipped}
