"""The station's live model: which model decides on the line, who made it so, and the way back.

``models/live.yaml`` (written atomically) holds the live model and its
history, newest last::

    schema_version: 1
    live: 20260501-anomaly
    history:
      - {model: 20260420-anomaly, by: anna, time: "...", reason: "...", action: promoted}
      - {model: 20260501-anomaly, by: ben, time: "...", reason: "...", action: promoted}

``live_model_id(project)`` is the one place the station asks which model to
run when none is named (``--model``): the promoted one when one is recorded,
else None (and the station falls back to the newest, as before promotion
existed). ``promote`` and ``rollback`` write the file and an audit entry
(``model.promoted`` / ``model.rolled_back``, meaning ``approval``);
``actor_of`` is the one place a command decides who acts.

``retire`` (``studio models retire PROJECT --model ID --reason ...``) marks a
model retired in its card (``retired: {by, time, reason}``; the card is the
one place, read by ``model_card.retirement``) and writes ``model.retired``.
A retired model is never the newest (``newest_model_id`` passes it over), is
never promoted or rolled back to, and the promoted live model cannot be
retired: promote or roll back to another first. A model that runs only
because it is the newest (nothing promoted) may be retired: the station runs
the newest model not retired from its next start. Naming a retired model on
purpose (``--model ID``, evaluation) still loads it.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from studio.core.folders import project_folder
from studio.core.errors import ProjectError, StudioError
from studio.core.problems import Problem
from studio.project import model_card

FILE = "models/live.yaml"
SCHEMA_VERSION = 1


_root = project_folder


def actor_of(user: str | None = None) -> str:
    """Who acts: ``--user NAME`` when given, else the OS login. (Password checks go here later.)"""
    if user and user.strip():
        return user.strip()
    from studio.audit.trail import default_actor

    return default_actor()


def read(project: Any) -> dict[str, Any]:
    """The file's content; an empty record when there is none. ProjectError for an unreadable file."""
    import yaml

    path = _root(project) / FILE
    if not path.is_file():
        return {"schema_version": SCHEMA_VERSION, "live": None, "history": []}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ProjectError(f"the live-model record cannot be read: {e}", file=path,
                           hint="restore it from a backup, or promote the live model again") from None
    problems = _problems(data, str(path))
    if problems:
        raise ProjectError(problems[0].message, file=path, field=problems[0].field,
                           hint=problems[0].hint)
    data.setdefault("history", [])
    return data


def live_model_id(project: Any) -> str | None:
    """The promoted live model's id, or None when none was ever promoted (or it was rolled back to none)."""
    return read(project).get("live") or None


def _problems(data: Any, where: str) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(where, "(file)", "is not a mapping", "write live: MODEL_ID and history: [...]")]
    out = []
    live = data.get("live")
    if live is not None and not (isinstance(live, str) and live.strip()):
        out.append(Problem(where, "live", f"is {live!r}, not a model id", "promote with 'studio station promote'"))
    hist = data.get("history", [])
    if not isinstance(hist, list) or not all(isinstance(h, dict) and "model" in h for h in hist):
        out.append(Problem(where, "history", "is not a list of {model, by, time, reason}",
                           "restore the file from a backup"))
    return out


def check_file(root: Path) -> list[Problem]:
    """For ``studio project check``: the record is readable and names a model that exists."""
    path = Path(root) / FILE
    if not path.is_file():
        return []
    try:
        data = read(root)
    except ProjectError as e:
        return [Problem(str(path), e.field or "(file)", e.message, e.hint or "")]
    live = data.get("live")
    if live and not (Path(root) / "models" / live).is_dir():
        return [Problem(str(path), "live", f"names model '{live}', which is not in models/",
                        "restore the model folder, or promote another model")]
    if live and _retired(root, live):
        return [Problem(str(path), "live", f"names model '{live}', which is retired",
                        "promote another model with 'studio station promote'")]
    return []


def _retired(project: Any, model_id: str) -> dict[str, Any] | None:
    """The model's retirement when its card says so (an unreadable card: None, refused elsewhere)."""
    try:
        return model_card.retirement(model_card.read(_root(project) / "models" / model_id))
    except StudioError:
        return None


def refuse_retired(project: Any, model_id: str, doing: str = "promoted") -> None:
    """StudioError when ``model_id`` is retired: a retired model is never made live again."""
    r = _retired(project, model_id)
    if r:
        raise StudioError(f"model {model_id} is retired (by {r.get('by')}, {r.get('time')}: "
                          f"{r.get('reason') or 'no reason given'}); a retired model is not {doing}",
                          file=_root(project) / "models" / model_id / model_card.CARD_FILE,
                          hint="promote another model ('studio models PROJECT' lists them), or train a new one")


def _write(project: Any, data: dict[str, Any]) -> None:
    from studio.core.atomic import atomic_write_yaml

    atomic_write_yaml(_root(project) / FILE, data)


def promote(project: Any, model_id: str, *, actor: str, reason: str) -> dict[str, Any]:
    """Record ``model_id`` as the live model (the gate is checked by the caller); returns before/after."""
    if not reason or not reason.strip():
        raise StudioError("a promotion needs a reason", hint='say why: --reason "passed the 10-week pilot"')
    if not (_root(project) / "models" / model_id).is_dir():
        raise StudioError(f"there is no model '{model_id}' in this project", file=_root(project) / "models",
                          hint="list them with 'studio models PROJECT'")
    refuse_retired(project, model_id)
    data = read(project)
    before = data.get("live")
    if before == model_id:
        raise StudioError(f"{model_id} is already the live model", hint="nothing to promote")
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    data["history"].append({"model": model_id, "by": actor, "time": now, "reason": reason.strip(),
                            "action": "promoted", "before": before})
    data.update({"schema_version": SCHEMA_VERSION, "live": model_id})
    _write(project, data)
    from studio.audit.trail import AuditTrail

    AuditTrail(_root(project)).append("model.promoted", actor=actor, what=model_id, before=before, after=model_id,
                                      reason=reason.strip(), meaning="approval")
    return {"model_id": model_id, "before": before, "after": model_id, "by": actor, "reason": reason.strip()}


def rollback(project: Any, *, actor: str, reason: str) -> dict[str, Any]:
    """Restore the live model that was live before the current one."""
    data = read(project)
    current = data.get("live")
    if not current:
        raise StudioError("no live model has been promoted: nothing to roll back",
                          file=_root(project) / FILE, hint="promote one with 'studio station promote'")
    previous = None
    for h in reversed(data["history"]):     # the model the current one replaced
        if h.get("model") == current and h.get("action") == "promoted":
            previous = h.get("before")
            break
    if previous:
        refuse_retired(project, previous, "rolled back to")
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    data["history"].append({"model": previous, "by": actor, "time": now, "reason": (reason or "").strip(),
                            "action": "rolled_back", "before": current})
    data.update({"schema_version": SCHEMA_VERSION, "live": previous})
    _write(project, data)
    from studio.audit.trail import AuditTrail

    AuditTrail(_root(project)).append("model.rolled_back", actor=actor, what=previous or "(the newest model)",
                                      before=current, after=previous, reason=(reason or "").strip() or None,
                                      meaning="approval")
    return {"model_id": previous, "before": current, "after": previous, "by": actor}


def retire(project: Any, model_id: str, *, actor: str, reason: str) -> dict[str, Any]:
    """Mark ``model_id`` retired in its card and write ``model.retired``; returns before/after.

    Refused (StudioError) without a reason, for a model not in the project, one already retired,
    and the promoted live model (promote or roll back to another first)."""
    if not reason or not reason.strip():
        raise StudioError("a retirement needs a reason", field="--reason",
                          hint='say why: --reason "escapes on the new supplier\'s parts"')
    folder = _root(project) / "models" / model_id
    if not folder.is_dir():
        raise StudioError(f"there is no model '{model_id}' in this project", file=_root(project) / "models",
                          hint="list them with 'studio models PROJECT'")
    card = model_card.load(folder)              # an unusable card: ModelError naming it
    done = model_card.retirement(card)
    if done:
        raise StudioError(f"model {model_id} was already retired by {done.get('by')} on {done.get('time')}",
                          hint="nothing to retire")
    live = live_model_id(project)
    if live == model_id:
        raise StudioError(f"model {model_id} is the station's live model: it cannot be retired while live",
                          file=_root(project) / FILE,
                          hint="promote another model first ('studio station promote PROJECT --model ID') "
                               "or roll back ('studio station promote PROJECT --rollback'), then retire it")
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")     # as the trail's (studio trace)
    retired = {"by": actor, "time": now, "reason": reason.strip()}
    model_card.write(folder, {**card, "retired": retired})
    from studio.audit.trail import AuditTrail

    AuditTrail(_root(project)).append("model.retired", actor=actor, what=model_id,
                                      before={"retired": False, "live": live},
                                      after={"retired": True, "live": live}, reason=reason.strip(),
                                      meaning="approval")
    return {"model_id": model_id, "retired": retired, "live": live, "by": actor, "reason": reason.strip()}
