"""The model card (``models/<id>/card.json``): the contract between training and the station.

Training writes it (``studio.training.export``), ``set_threshold`` (the
Threshold page, ``choose.save``) rewrites it atomically with a history of
who-moved-it-when, ``studio.project.live.retire`` marks it ``retired`` (who, when,
why; ``retirement(card)`` reads the mark), the station trusts it: the threshold, the classes and their PLC ids, the
preprocessing the model was trained with. So it is checked in one place,
here, before anything uses it: ``validate`` lists every problem, ``load``
migrates an older ``schema_version`` and raises ``ModelError`` naming the
model when the card is unusable (a station never runs on half a card).

Versions (``CARD``, see ``studio.core.migrations``):

* 0 — cards written before ``schema_version`` existed (same fields).
* 1 — ``schema_version: 1`` added.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

from studio import tasks as inspection_tasks
from studio.core.atomic import atomic_write_json
from studio.core.errors import ModelError, ProjectError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

CARD_FILE = "card.json"
SCHEMA_VERSION = 1
TASKS = inspection_tasks.names()         # one description each: studio.tasks
REQUIRED = ("model_id", "task", "threshold", "preprocessing", "classes")
RETRAIN = "delete this model folder and train again"

CARD = Migrator("model card", SCHEMA_VERSION)


@CARD.step(0)
def _v0_to_v1(card: dict[str, Any]) -> dict[str, Any]:
    return card             # same fields; the version is now written down


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(card: Any, file: str | Path = CARD_FILE) -> list[Problem]:
    """Every problem with a card (already migrated or not); empty when the station may use it."""
    file = str(file)
    out: list[Problem] = []

    def bad(field: str, message: str, hint: str = RETRAIN) -> None:
        out.append(Problem(file, field, message, hint))

    if not isinstance(card, dict):
        bad("(top level)", "is not a JSON object")
        return out
    why = CARD.problem(card)
    if why:
        bad(FIELD, why, "open it with a newer Inspection Studio" if "newer" in why else RETRAIN)
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        bad(missing[0], f"lacks {', '.join(missing)}")
    if "task" in card and card["task"] not in TASKS:
        bad("task", f"is {card['task']!r}, not a task this studio runs", f"use a model trained for {' or '.join(TASKS)}")
    if "threshold" in card and not _number(card["threshold"]):
        bad("threshold", f"is {card['threshold']!r}, not a number",
            "set the threshold again: the Threshold page, or 'studio threshold PROJECT --model ID --value V'")
    if "preprocessing" in card and not isinstance(card["preprocessing"], dict):
        bad("preprocessing", f"is {card['preprocessing']!r}, not a mapping")
    if "classes" in card and not (isinstance(card["classes"], list)
                                  and all(isinstance(c, str) for c in card["classes"])):
        bad("classes", f"is {card['classes']!r}, not a list of class names")
    ids = card.get("class_ids", {})
    if not isinstance(ids, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                            for k, v in ids.items()):
        bad("class_ids", f"is {ids!r}, not a mapping of class name -> PLC class id")
    band = card.get("review_band")
    if band is not None:
        if not (isinstance(band, dict) and _number(band.get("low")) and _number(band.get("high"))
                and band["high"] >= band["low"]):
            bad("review_band", f"is {band!r}, not {{low, high}} numbers with high >= low",
                "set the threshold and review band again on the Threshold page")
    if "model_id" in card and not (isinstance(card["model_id"], str) and card["model_id"].strip()):
        bad("model_id", f"is {card['model_id']!r}, not a name")
    retired = card.get("retired")
    if retired is not None and not (isinstance(retired, dict) and isinstance(retired.get("by"), str)
                                    and isinstance(retired.get("time"), str)):
        bad("retired", f"is {retired!r}, not {{by, time, reason}}",
            "write retired: {by: NAME, time: ISO, reason: TEXT} as the audit trail's model.retired entry says")
    return out


def retirement(card: dict[str, Any]) -> dict[str, Any] | None:
    """The card's retirement (``{by, time, reason}``, written by ``studio models retire``), or None.

    The one place that says whether a model is retired: ``newest_model_id`` passes it over,
    ``live.promote`` refuses it, ``studio models`` and ``studio trace`` show it."""
    retired = card.get("retired") if isinstance(card, dict) else None
    return retired if isinstance(retired, dict) else None


def read(folder: str | Path) -> dict[str, Any]:
    """The card in ``folder`` as it is on disk (JSON decoded, not checked); ModelError when unreadable."""
    path = Path(folder) / CARD_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError("the model card is missing", file=path,
                         hint="the export was interrupted: " + RETRAIN) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"the model card is unreadable ({e})", file=path, hint=RETRAIN) from None


def load(folder: str | Path) -> dict[str, Any]:
    """The card in ``folder``, migrated to ``SCHEMA_VERSION`` and checked; ModelError otherwise."""
    path = Path(folder) / CARD_FILE
    card = read(folder)
    problems = validate(card, path)
    if problems:
        first = problems[0]
        detail = first.message if first.message.startswith("lacks") else f"{first.field} {first.message}"
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise ModelError(f"the card of model '{Path(folder).name}' is unusable: {detail}{more}",
                         file=path, field=first.field, hint=first.hint)
    try:
        card, _ = CARD.migrate(card, path)
    except ProjectError as e:
        raise ModelError(e.message, file=path, field=e.field, hint=e.hint) from None
    return card


def write(folder: str | Path, card: dict[str, Any]) -> None:
    """Write ``card`` (at ``SCHEMA_VERSION``) atomically; an older card on disk is kept as ``card.json.v<N>.bak``."""
    path = Path(folder) / CARD_FILE
    card = {FIELD: SCHEMA_VERSION, **{k: v for k, v in card.items() if k != FIELD}}
    if path.exists():
        try:
            CARD.backup(path, CARD.version_of(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            pass            # an unreadable old card: nothing worth keeping
    atomic_write_json(path, card)


# ---- moving the operating point (the Threshold page, `studio threshold`, choose.save) ----

def set_threshold(project: Any, model_id: str, threshold: float, *,
                  review_up_to: float | None = None, chosen: dict[str, Any] | None = None,
                  actor: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """Set the card's decision threshold (the station reads it at start); returns the new card.

    ``review_up_to`` adds a review band: parts scoring in ``[threshold,
    review_up_to)`` go to manual review, parts at or above it are rejected.
    Without it any band is removed. ``chosen`` records how the point was
    picked (cost model, recall target, ...) and its figures then. ``project``
    is a Project (its ``models_dir``); ``model_id`` names the model
    (``studio.inference.model.newest_model_id`` finds the newest). The change
    is a ``threshold.set`` entry of the project's audit trail (before and
    after, ``actor``, ``reason``); the history entry keeps ``chosen`` so that
    ``studio trace`` can say how an earlier threshold was picked.
    """
    value = _finite(threshold, "threshold")
    high = None if review_up_to is None else _finite(review_up_to, "review band's upper end")
    if high is not None and high < value:
        raise ModelError(f"the review band's upper end {high:g} is below the threshold {value:g}",
                         hint="parts in [threshold, upper end) go to review: give an upper end above the threshold")
    folder = project.models_dir / model_id
    if not folder.is_dir():
        raise ModelError(f"there is no model '{model_id}'", file=project.models_dir,
                         hint="list the models with 'studio models PROJECT'")
    # a card whose threshold is unusable is what this repairs: check everything else
    card = read(folder)
    problems = [p for p in validate(card, folder / CARD_FILE)
                if p.field not in ("threshold", "review_band")]
    if problems:
        load(folder)                # raises the ModelError that names the model and the problem
    card, _ = CARD.migrate(card, folder / CARD_FILE)
    before = {"threshold": card.get("threshold"), "review_band": card.get("review_band")}
    now = _dt.datetime.now().isoformat(timespec="seconds")
    how = (chosen or {}).get("how", "value")
    card.setdefault("threshold_history", []).append({"from": card.get("threshold"), "to": value, "time": now,
                                                     "how": how, "chosen": chosen or None})   # studio trace
    card["threshold"] = value
    card["threshold_set"] = now
    if high is not None and high > value:
        card["review_band"] = {"low": value, "high": high}
    else:
        card.pop("review_band", None)
    card["operating_point"] = {"how": how, **(chosen or {}), "threshold": value, "time": now}
    write(folder, card)                 # an older card is kept as card.json.v<N>.bak
    from studio.audit.trail import AuditTrail

    AuditTrail(project.root).append("threshold.set", actor=actor, what=model_id, before=before,
                                    after={"threshold": value, "review_band": card.get("review_band"), "how": how},
                                    reason=reason, meaning="approval")
    return load(folder)


def _finite(v: Any, what: str) -> float:
    try:
        value = float(v)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ModelError(f"{what} {v!r} is not a number", hint="give a number, e.g. 0.5")
    return value
