"""Traceability in one step: from a logged part back to everything that decided it.

``trace_part(data_dir, part)`` follows

    the result row (verdict, score, image, timestamps, PLC part id, model id)
    -> the model card (``models/<id>/card.json``: id, task, ONNX digest, created)
    -> its training run (``runs/<run_id>/``: run.json, events.jsonl)
    -> the data: dataset and label digests, the exact images (file, SHA-256)
       and their training labels (``models/<id>/training_set.json``)
    -> the criteria version the model was trained under (and its file)
    -> the threshold decision: the threshold in force when the part was
       decided, how it was chosen (method, cost assumptions), when, and who and
       why from the audit trail (``threshold.set`` about the model)
    -> the promotion that made the model live (``model.promoted``)
    -> and, when the model was retired since (or before: run on purpose),
       who retired it, when and why (``model["retired"]``: the card's mark
       and the ``model.retired`` entry)

and returns one dict (keys ``part``, ``model``, ``training``, ``data``,
``criteria_version``, ``threshold``, ``promotion``, ``station``, ``gaps``).
``gaps`` lists in words each link that cannot be followed (a model trained
before runs were recorded, a card changed since the part, no audit entry),
never silently filled in. The project is the one the data directory records
(``station.json``, written by the station at each start), or ``project=``.

Here in ``studio.station`` (like ``feedback.py``) because it starts from the
station's data directory and reads the project, the audit trail and the
training records, all below it; it imports no runtime code.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.results.schema import FILE_NAME as LOG_FILE
from studio.station import status_file

ROW_KEYS = ("part", "part_id", "verdict", "verdict_code", "score", "defect_class", "class_id", "model_id",
            "image_path", "image_state", "t_trigger", "t_captured", "t_decided", "t_actuated", "latency_ms",
            "note", "frame_id")


def _iso(t: Any) -> str | None:
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        return None
    return _dt.datetime.fromtimestamp(t, _dt.UTC).astimezone().isoformat(timespec="milliseconds")


def _epoch(iso: Any) -> float | None:
    """An ISO time (a naive one is the PC's local time, as the cards write it) in seconds since the epoch."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        t = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.astimezone()
    return t.timestamp()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _project_of(data_dir: Path, project: Any) -> Any:
    from studio.project import Project

    if project is not None and not isinstance(project, (str, Path)):
        return project
    root = project or (status_file.read_station(data_dir) or {}).get("project")
    if not root:
        raise StudioError("this data directory does not say which project it belongs to", file=data_dir,
                          hint="give the project with --project PROJECT (stations record it in station.json "
                               "from this version on)")
    try:
        return Project.open(root)
    except StudioError as e:
        raise StudioError(f"the station's project cannot be opened: {e.message}", file=e.file or root,
                          hint="give the project's current folder with --project PROJECT") from None


def _part_row(data_dir: Path, part: int) -> dict[str, Any]:
    from studio.results.reader import ResultReader

    log_path = data_dir / LOG_FILE
    if not log_path.exists():
        raise StudioError("no result log in this data directory", file=log_path,
                          hint="give the station's data directory (the folder holding results.sqlite)")
    reader = ResultReader(log_path)
    try:
        row = reader.part(part)
        if row is None:
            last = reader.last_part()
            raise StudioError(f"part {part} is not in the result log", file=log_path,
                              hint=f"the log has parts up to {last}" if last else "the log has no parts yet")
    finally:
        reader.close()
    return row


def _audit_last(project: Any, data_dir: Path, action: str, what: str, before: float | None = None
                ) -> tuple[dict[str, Any] | None, str | None]:
    """The newest ``action`` entry about ``what`` (made before ``before`` when given), in the project's
    trail, else the station's; and which trail it came from."""
    from studio.audit import AuditTrail

    for where, folder in (("project", Path(project.root)), ("station", data_dir)):
        trail = AuditTrail(folder)
        found = None
        for e in trail.entries(action=action):
            if e.get("what") != what:
                continue
            t = _epoch(e.get("time_utc"))
            if before is not None and t is not None and t > before:
                continue
            found = e
        if found is not None:
            return found, where
    return None, None


def _audit_view(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {k: entry.get(k) for k in ("seq", "time_utc", "time_local", "actor", "action", "what", "before",
                                      "after", "reason", "meaning", "hash")}


def _retired(project: Any, data_dir: Path, card: dict[str, Any], t_part: float | None) -> dict[str, Any] | None:
    """The model's retirement (``model_card.retirement``) with its audit entry, and whether it came after the part."""
    from studio.project import model_card

    mark = model_card.retirement(card)
    if mark is None:
        return None
    entry, trail = _audit_last(project, data_dir, "model.retired", str(card.get("model_id")))
    t = _epoch(mark.get("time"))
    return {"by": mark.get("by"), "time": mark.get("time"), "why": mark.get("reason"),
            "after_part": None if t is None or t_part is None else t >= t_part,
            "entry": _audit_view(entry), "trail": trail}


def _threshold_at(card: dict[str, Any], t: float | None) -> tuple[float | None, dict[str, Any] | None]:
    """The threshold in force at ``t`` by the card's history (None when the history does not say)."""
    history = [h for h in card.get("threshold_history") or [] if isinstance(h, dict)]
    if t is None:
        return card.get("threshold"), None
    in_force, change = None, None
    for h in history:
        ht = _epoch(h.get("time"))
        if ht is not None and ht <= t:
            in_force, change = h.get("to"), h
    if change is None:
        first = history[0].get("from") if history else card.get("threshold")
        return first, None
    return in_force, change


def trace_part(data_dir: str | Path, part: int, *, project: Any = None) -> dict[str, Any]:
    """The chain behind logged part ``part`` (see the module doc); ``StudioError`` for a data directory
    without a log or a part not in it."""
    from studio.project import model_card
    from studio.training import lineage

    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise StudioError("no such data directory", file=data_dir,
                          hint="give the station's data directory (the folder holding results.sqlite)")
    row = _part_row(data_dir, int(part))
    proj = _project_of(data_dir, project)
    gaps: list[str] = []
    t_part = row.get("t_decided")

    out_part = {k: row.get(k) for k in ROW_KEYS}
    out_part["decided"] = _iso(row.get("t_decided"))
    out_part["triggered"] = _iso(row.get("t_trigger"))
    out_part["image"] = str(data_dir / row["image_path"]) if row.get("image_path") else None
    if not row.get("image_path"):
        gaps.append(f"the part's image is not kept (image state: {row.get('image_state') or 'none'})")

    model_id = row.get("model_id")
    card: dict[str, Any] | None = None
    folder = Path(proj.models_dir) / str(model_id) if model_id else None
    model: dict[str, Any] = {"model_id": model_id, "card": None}
    if not model_id:
        gaps.append("the part has no model id (it faulted before a model ran)")
    elif not folder.is_dir():
        gaps.append(f"model {model_id} is not in the project any more ({folder})")
    else:
        try:
            card = model_card.read(folder)
        except StudioError as e:
            gaps.append(f"the card of model {model_id} cannot be read: {e.message}")
    if card is not None:
        from studio.inference.model import DIGEST_FIELD

        model = {"model_id": card.get("model_id"), "card": str(folder / model_card.CARD_FILE),
                 "task": card.get("task"), "backbone": card.get("backbone"), "created": card.get("created"),
                 "onnx_digest": card.get(DIGEST_FIELD), "classes": card.get("classes"),
                 "metrics": card.get("metrics"), "schema_version": card.get("schema_version"),
                 "retired": _retired(proj, data_dir, card, t_part)}
    lin = (card or {}).get("lineage") or {}

    # the training run
    run_id = lin.get("run_id")
    training: dict[str, Any] = {"run_id": run_id, "run_dir": None, "run": None,
                                "code_version": lin.get("code_version"), "seed": lin.get("seed"),
                                "settings": lin.get("settings") or (card or {}).get("training_options"),
                                "seconds": (card or {}).get("seconds")}
    if card is not None:
        if run_id:
            run_dir = Path(proj.runs_dir) / run_id
            training["run_dir"] = str(run_dir)
            training["run"] = _read_json(run_dir / lineage.RUN_FILE)
            if not run_dir.is_dir():
                gaps.append(f"the training run folder {run_dir} is gone")
        else:
            gaps.append(f"model {model_id}'s card does not name its training run (trained before runs were "
                        "recorded, or outside the training worker)")

    # the data: digests, the exact images and labels
    record = lineage.read_training_set(folder) if folder is not None and card is not None else None
    data: dict[str, Any] = {
        "dataset_digest": lin.get("dataset_digest") or ((card or {}).get("data") or {}).get("dataset_digest"),
        "labels_digest": lin.get("labels_digest") or (card or {}).get("labels_digest"),
        "n_train": ((card or {}).get("data") or {}).get("n_train"),
        "n_test": ((card or {}).get("data") or {}).get("n_test"),
        "image_ids": lin.get("images") or None,
        "training_set": str(folder / lineage.TRAINING_SET_FILE) if record is not None else None,
        "images_digest": (record or {}).get("images_digest"),
        "training_labels_digest": (record or {}).get("labels_digest"),
        "images": (record or {}).get("images"),
    }
    if card is not None and record is None:
        gaps.append(f"model {model_id} has no training set record ({lineage.TRAINING_SET_FILE}): the image "
                    "ids are " + ("in the card" if lin.get("images") else "not recorded"))
    if record is not None and lin.get("training_set") and \
            lin["training_set"].get("images_digest") != record.get("images_digest"):
        gaps.append(f"{lineage.TRAINING_SET_FILE} does not match the card's digest: it was changed after training")

    # the criteria version
    cv = lin.get("criteria_version", (card or {}).get("criteria_version"))
    criteria = {"version": cv, "file": None, "current_version": None}
    try:
        criteria["current_version"] = proj.criteria.version
    except Exception:  # noqa: BLE001 - an unreadable criteria document is a gap, not a crash
        gaps.append("the project's criteria document cannot be read")
    if cv is not None:
        from studio.criteria.versions import VERSIONS_DIR

        f = Path(proj.root) / VERSIONS_DIR / f"v{cv}.yaml"
        criteria["file"] = str(f) if f.exists() else None
        if not f.exists():
            gaps.append(f"criteria version {cv} is not archived in {VERSIONS_DIR}/")
    elif card is not None:
        gaps.append("the card does not record the criteria version")

    # the threshold decision
    threshold: dict[str, Any] = {}
    if card is not None:
        at_part, change = _threshold_at(card, t_part)
        # how the threshold in force was chosen: its history entry, else the card's (when still in force)
        op = ((change or {}).get("chosen") or {}) if change is not None else (
            card.get("operating_point") or {} if card.get("threshold") == at_part else {})
        entry, trail = _audit_last(proj, data_dir, "threshold.set", str(model_id), before=t_part)
        threshold = {
            "value": at_part, "current": card.get("threshold"),
            "changed_since_part": at_part is not None and card.get("threshold") != at_part,
            "review_band": card.get("review_band"),
            "method": (change or {}).get("how") or op.get("how") or
                      ("trained" if not card.get("threshold_history") else None),
            "set": (change or {}).get("time") or (card.get("threshold_set") if not card.get("threshold_history")
                                                  else None) or card.get("created"),
            "operating_point": op or None,
            "costs": {k: op[k] for k in ("escape_cost", "false_reject_cost", "defect_rate") if k in op} or None,
            "decision": _audit_view(entry), "decision_trail": trail,
        }
        threshold["chosen_by"] = (entry or {}).get("actor")
        threshold["why"] = (entry or {}).get("reason")
        if entry is None:
            gaps.append(f"no audit entry says who set model {model_id}'s threshold or why "
                        + ("(set at training)" if not card.get("threshold_history") else ""))
        score = row.get("score")
        if isinstance(score, (int, float)) and isinstance(at_part, (int, float)) and row.get("verdict") in (
                "pass", "reject"):
            threshold["agrees_with_verdict"] = (score < at_part) == (row["verdict"] == "pass")

    # the promotion that made it live
    promotion: dict[str, Any]
    entry, trail = _audit_last(proj, data_dir, "model.promoted", str(model_id), before=t_part) \
        if model_id else (None, None)
    if entry is not None:
        promotion = {"promoted": True, "entry": _audit_view(entry), "trail": trail, "by": entry.get("actor"),
                     "when": entry.get("time_local"), "why": entry.get("reason")}
    else:
        promotion = {"promoted": False, "entry": None, "trail": None,
                     "note": "not promoted: the station ran the newest model (or the one it was told to run); "
                             "no audit entry makes it live"}

    station = status_file.read_station(data_dir) or {}
    return {
        "part": out_part,
        "model": model,
        "training": training,
        "data": data,
        "criteria_version": cv,
        "criteria": criteria,
        "threshold": threshold,
        "promotion": promotion,
        "station": {"data_dir": str(data_dir), "project": str(proj.root), "project_name": proj.name,
                    "recorded_project": station.get("project")},
        "gaps": gaps,
    }


def describe(chain: dict[str, Any]) -> str:
    """The chain in words, one link a line."""
    p, m, tr, d, th, pr = (chain[k] for k in ("part", "model", "training", "data", "threshold", "promotion"))
    score = p.get("score")
    lines = [
        f"part {p['part']}" + (f" (PLC id {p['part_id']})" if p.get("part_id") else "")
        + f": {str(p.get('verdict')).upper()} score {score if score is None else round(score, 4)}"
        + (f" {p['defect_class']}" if p.get("defect_class") else "") + f", decided {p.get('decided')}",
        f"  image      {p.get('image') or '(not kept: ' + str(p.get('image_state')) + ')'}",
        f"  model      {m.get('model_id')}" + (f" ({m.get('task')}, {m.get('backbone')}, created {m.get('created')}, "
                                               f"ONNX {str(m.get('onnx_digest'))[:16]})" if m.get("card") else ""),
        f"  training   run {tr.get('run_id') or '(not recorded)'}" + (f" in {tr['run_dir']}" if tr.get("run_dir") else "")
        + (f", code {tr['code_version']}" if tr.get("code_version") else ""),
        f"  data       dataset {d.get('dataset_digest')}, labels {d.get('labels_digest')}"
        + (f"; {len(d['images'])} images and labels in {d['training_set']} (images {d['images_digest']})"
           if d.get("images") is not None else ""),
        f"  criteria   version {chain.get('criteria_version')}"
        + (f" ({chain['criteria']['file']})" if (chain.get("criteria") or {}).get("file") else ""),
    ]
    if th:
        who = f"{th['chosen_by']}, {th['decision']['time_local']}: {th.get('why') or 'no reason given'}" \
            if th.get("decision") else "no audit entry"
        lines.append(f"  threshold  {th.get('value')} ({th.get('method')}, set {th.get('set')}; {who})"
                     + (f"; now {th['current']}" if th.get("changed_since_part") else "")
                     + (f"; costs {th['costs']}" if th.get("costs") else ""))
    if pr.get("promoted"):
        lines.append(f"  promotion  by {pr['by']}, {pr['when']}: {pr.get('why') or 'no reason given'}")
    else:
        lines.append(f"  promotion  {pr['note']}")
    r = m.get("retired")
    if r:
        lines.append(f"  retired    by {r['by']}, {r['time']}: {r.get('why') or 'no reason given'}"
                     + {True: " (after this part)", False: " (before this part: it was run on purpose)"}
                     .get(r.get("after_part"), ""))
    for gap in chain.get("gaps") or []:
        lines.append(f"  gap: {gap}")
    return "\n".join(lines)
