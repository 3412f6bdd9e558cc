"""The station's start and stop as entries of its audit trail (``audit.jsonl`` in its data directory).

``station.started``: who started it (``station.started_by``: the person signed in where it was
started, else the OS login: an unattended start on boot) and what it runs (model, shadow, mode,
camera, PLC, trigger), with ``station.start_reason`` when the start changed what is configured.
``station.stopped``: who and why. Whoever asks a station to stop says so with
``Station.stop(by=, reason=)`` (the Station page after an engineer signed in, the kiosk's stop
request carrying the engineer who unlocked it, ``StatusPublisher``); a station that ends by itself
(its ``--parts`` done, a fault, Ctrl-C) is recorded under the OS login with that reason.

``configured(project)`` is what a start "as configured" runs (the one place for that rule):
the live (promoted) model, else the newest; station.yaml's camera (else the project's) and PLC
(else ``sim``). ``changes(project, model=, camera=, plc=)`` lists what a start would change.

Writing an entry never stops the line: a trail that cannot be written is a warning in the log.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def configured(project: Any) -> dict[str, Any]:
    """What the station runs when started as configured: ``{model, camera, plc}`` (model None: none usable)."""
    from studio.core.errors import StudioError
    from studio.project.live import live_model_id

    try:
        settings = project.station_settings()
    except StudioError:
        settings = {}
    cam = settings.get("camera")
    cam = cam.get("spec") if isinstance(cam, dict) else cam
    try:
        model = live_model_id(project)
    except StudioError:
        model = None
    if model is None:
        from studio.inference.model import newest_model_id

        try:
            model = newest_model_id(project)
        except StudioError:
            model = None            # none usable: any model chosen is a choice
    return {"model": model, "camera": str(cam or project.camera_spec or ""), "plc": str(settings.get("plc") or "sim")}


def changes(project: Any, *, model: str | None = None, camera: str | None = None,
            plc: str | None = None) -> dict[str, dict[str, Any]]:
    """``{field: {configured, chosen}}`` for each of model, camera, PLC that differs from what is configured
    (a field not given, or given empty, is as configured)."""
    conf = configured(project)
    chosen = {"model": model, "camera": camera, "plc": plc}
    return {k: {"configured": conf[k], "chosen": v} for k, v in chosen.items()
            if v not in (None, "") and str(v) != str(conf[k] or "")}


def _trail(station: Any) -> Any:
    from studio.audit.trail import AuditTrail

    return AuditTrail(station.data_dir, create=False)     # an unplugged data directory stays gone


def _project_name(station: Any) -> str | None:
    return str(getattr(getattr(station, "project", None), "name", "") or "") or None


def runs(station: Any) -> dict[str, Any]:
    """What ``station`` runs, as the entry records it."""
    trial = getattr(station, "trial", None)
    shadow = getattr(trial, "shadow_spec", None)
    if shadow is not None and not isinstance(shadow, str):
        shadow = getattr(shadow, "model_id", None) or str(shadow)
    return {"model": getattr(station, "model_id", None), "shadow": shadow,
            "mode": getattr(trial, "mode", None), "camera": getattr(station, "camera_spec", None),
            "plc": getattr(station, "plc_spec", None), "trigger": getattr(station, "trigger", None)}


def record_started(station: Any) -> dict[str, Any] | None:
    """The ``station.started`` entry for a station that is now running."""
    from studio.audit.trail import default_actor

    try:
        return _trail(station).append(
            "station.started", actor=getattr(station, "started_by", None) or default_actor(),
            what=_project_name(station), after=runs(station),
            reason=getattr(station, "start_reason", None) or None,
            meaning="responsibility" if getattr(station, "start_reason", None) else None)
    except Exception as e:  # noqa: BLE001 - the line runs on; the log says the trail missed it
        log.warning("could not record the station's start in its audit trail: %s", e)
        return None


def stop_reason(station: Any) -> str:
    """Why a station that nobody named stopped."""
    if getattr(station, "fault", None):
        return f"fault: {station.fault}"
    if getattr(station, "_completed", False):
        return f"finished its {station.max_parts} parts" if getattr(station, "max_parts", None) else "finished"
    return "stopped by the program that ran it"


def record_stopped(station: Any) -> dict[str, Any] | None:
    """The ``station.stopped`` entry, with ``station.stop_by`` = (who, why) when someone asked."""
    from studio.audit.trail import default_actor

    by, why = getattr(station, "stop_by", None) or (None, None)
    station.stop_by = None                  # one stop, one entry: the next run's stop is asked anew
    try:
        return _trail(station).append(
            "station.stopped", actor=by or default_actor(), what=_project_name(station),
            before=runs(station), reason=(why or "").strip() or stop_reason(station),
            meaning="responsibility" if by else None)
    except Exception as e:  # noqa: BLE001
        log.warning("could not record the station's stop in its audit trail: %s", e)
        return None
