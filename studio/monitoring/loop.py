"""Where the retraining loop stands, in one read: the shadow comparison, the review queue, the gate.

``snapshot(project, data_dir)`` -> ``{shadow, review_waiting, gate}``:

- ``shadow``: ``monitoring.shadow.compare`` of the log (the candidate against
  the live model or the incumbent), None while there is nothing to compare;
- ``review_waiting``: the images waiting in the reference labeler's review
  queue (``labels.review.review_queue``), None without a project;
- ``gate``: the promotion gate's state (``monitoring.gate.evaluate``), None
  when the project has no gate file.

Read-only (the log is opened ``mode=ro``); what the Station page and the
kiosk show beside the line, off their GUI thread.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.labels.review import review_queue
from studio.monitoring.gate import evaluate
from studio.monitoring.report import log_path  # noqa: F401  what compare() imports: loaded with this module
from studio.monitoring.shadow import compare
from studio.project import promotion_gate


def snapshot(project: Any, data_dir: str | Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {"shadow": None, "review_waiting": None, "gate": None, "problems": []}
    have_log = data_dir is not None and Path(data_dir).is_dir()
    if have_log:
        try:
            out["shadow"] = compare(data_dir, project=project)
        except (sqlite3.Error, OSError, StudioError) as e:     # no log yet, or one being created
            if not isinstance(e, sqlite3.OperationalError):
                out["problems"].append(f"shadow comparison: {getattr(e, 'message', e)}")
    if project is not None:
        try:
            out["review_waiting"] = len(review_queue(project))
        except (StudioError, OSError) as e:
            out["problems"].append(f"review queue: {getattr(e, 'message', e)}")
        try:
            g = promotion_gate.load(project)
            # the comparison read above is the gate's when the gate pairs as it does ("auto")
            same = g is not None and g.get("against", "auto") == "auto" and out["shadow"] is not None
            gate = evaluate(project, data_dir if have_log else None, comparison=out["shadow"] if same else None)
            out["gate"] = gate if gate["defined"] else None
        except (StudioError, OSError) as e:
            out["problems"].append(f"promotion gate: {getattr(e, 'message', e)}")
    return out


def loop_line(snap: dict[str, Any]) -> str:
    """The loop in one line: parts waiting for review · the candidate in shadow · the gate."""
    parts = []
    waiting = snap.get("review_waiting")
    if waiting is not None:
        parts.append(f"{waiting} waiting for review")
    shadow = snap.get("shadow")
    if shadow is not None:
        against = "the incumbent" if shadow.get("against") == "incumbent" else "the live model"
        parts.append(f"in shadow: {shadow.get('model_id')} vs {against} ({shadow.get('n', 0)} parts)")
    else:
        parts.append("no candidate in shadow")
    gate = snap.get("gate")
    if gate is not None:
        failing = [c["name"] for c in gate.get("checks", []) if not c["ok"]]
        parts.append("gate PASSED" if gate.get("passed") else
                     "gate not passed" + (f" ({', '.join(failing)})" if failing else ""))
    return "  ·  ".join(parts)
