"""What a model learnt from, exactly: the training set record (``models/<id>/training_set.json``).

The model card says which image ids trained and tested the model and digests
of the whole dataset and labeling; this record adds, per image, the file it
was read from with its SHA-256, and the training label it had (the labels.jsonl
record id, verdict, class, labeler, time, criteria version). ``studio trace``
follows a part to it. Two digests summarise it in the card
(``lineage.training_set``): ``images_digest`` over (image id, split, file
SHA-256) and ``labels_digest`` over (image id, label record id, verdict,
class, criteria version), so "did the data or the labels change since?" is a
comparison, not a search.

``training_run`` is the run id the training worker sets (``set_run``) so the
card names its run folder (``runs/<run_id>/``, with ``events.jsonl`` and
``run.json``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TRAINING_SET_FILE = "training_set.json"
RUN_FILE = "run.json"
VERSION = 1

_run_id: str | None = None


def set_run(run_id: str | None) -> None:
    """The training run this process trains in (the worker sets it; one run per process)."""
    global _run_id
    _run_id = run_id


def current_run() -> str | None:
    return _run_id


def file_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _digest(rows: list) -> str:
    return hashlib.sha256(json.dumps(sorted(rows), default=str).encode()).hexdigest()[:16]


def training_set(project: Any, samples: dict[str, list[str]]) -> dict[str, Any]:
    """The record of ``samples`` (split -> image ids): every image's file, SHA-256 and training label."""
    current = project.labels.current()
    images = []
    for split, ids in samples.items():
        for image_id in ids:
            entry: dict[str, Any] = {"image_id": image_id, "split": split}
            try:
                record = project.dataset.get(image_id)
            except Exception:  # noqa: BLE001 - an id without a record is recorded as such
                record = None
            if record is not None:
                entry["file"] = record.file
                entry["sha256"] = file_sha256(project.dataset.path(record))
                if record.mask:
                    entry["mask"] = record.mask
            label = current.get(image_id)
            entry["label"] = None if label is None else {
                "id": label.id, "verdict": label.verdict, "defect_class": label.defect_class,
                "labeler": label.labeler, "time": label.time, "kind": label.kind,
                "criteria_version": label.criteria_version, "criterion": label.criterion,
                "shapes": len(label.shapes or [])}
            images.append(entry)
    return {
        "version": VERSION,
        "n_images": len(images),
        "images_digest": _digest([(e["image_id"], e["split"], e.get("sha256") or "") for e in images]),
        "labels_digest": _digest([(e["image_id"], *(((e["label"] or {}).get(k) or "") for k in
                                                     ("id", "verdict", "defect_class", "criteria_version")))
                                  for e in images]),
        "images": images,
    }


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the card keeps of a training set record."""
    return {"file": TRAINING_SET_FILE, "n_images": record["n_images"],
            "images_digest": record["images_digest"], "labels_digest": record["labels_digest"]}


def read_training_set(model_folder: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads((Path(model_folder) / TRAINING_SET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None
