"""Starting and stopping the station from the Station page: who may, and the audit entries.

Starting it as configured (``studio.station.station_audit.configured``: the live
model, station.yaml's camera and PLC) stays open: operators start the line. A
start with another model, camera or PLC is an engineer's change: it asks for an
engineer signed in and a reason (``Session.authorize``), is a ``station.settings``
entry of the project's trail (configured before, chosen after, like ``studio
station run --model``), and the station's ``station.started`` entry carries the
person and the reason. Stopping needs an engineer (``sign_in.stop_allowed``); the
station records the ``station.stopped`` entry itself, under the name given.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from studio.audit.trail import AuditTrail
from studio.gui.sign_in import session_for


def start_allowed(parent: QWidget | None, project: Any, *, model: str | None, camera: str | None,
                  plc: str | None) -> tuple[str | None, str | None] | None:
    """``(who, reason)`` for ``station.started_by`` / ``start_reason`` when the start may go ahead, else None.

    ``who`` is the signed-in person (None: nobody, the OS login is recorded); ``reason`` is asked only
    for a start that changes what is configured."""
    from studio.station.station_audit import changes

    session = session_for(project)
    changed = changes(project, model=model, camera=camera, plc=plc)
    if not changed:
        return (session.user.name if session.user is not None else None), None
    what = "Starting the station with " + ", ".join(
        f"{k} {v['chosen']} (configured: {v['configured'] or 'none'})" for k, v in changed.items())
    ok = session.authorize(parent, "engineer", what, action="station.started")
    if ok is None:
        return None
    user, reason = ok
    AuditTrail(project.root).append("station.settings", actor=user.name, what="station start",
                                    before={k: v["configured"] for k, v in changed.items()},
                                    after={k: v["chosen"] for k, v in changed.items()},
                                    reason=reason, meaning="approval")
    return user.name, reason
