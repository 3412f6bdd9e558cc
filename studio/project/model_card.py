"""The model card (``models/<id>/card.json``): the contract between training and the station.

Training writes it (``studio.training.export``), the threshold page rewrites
it, the station trusts it: the threshold, the classes and their PLC ids, the
preprocessing the model was trained with. So it is checked in one place,
here, before anything uses it: ``validate`` lists every problem, ``load``
migrates an older ``schema_version`` and raises ``ModelError`` naming the
model when the card is unusable (a station never runs on half a card).

Versions (``CARD``, see ``studio.core.migrations``):

* 0 — cards written before ``schema_version`` existed (same fields).
* 1 — ``schema_version: 1`` added.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_json
from studio.core.errors import ModelError, ProjectError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

CARD_FILE = "card.json"
SCHEMA_VERSION = 1
TASKS = ("anomaly", "classification", "detection", "segmentation")
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
    return out


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
