"""Audit a project's lighting: the one function the CLI and the GUI both call.

Opens the camera (the project's, with its settings, unless another spec is
given), grabs the frames, audits them over the project's region of interest
with the project's limits and baseline, and keeps the report in ``audits/``.
Labelled defects with masks in the project are the defect-contrast
examples when the audit frames carry none.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from studio.capture.camera import open_camera
from studio.core.errors import StudioError
from studio.core.task import TaskContext, null_task
from studio.lighting import limits as L
from studio.lighting import store
from studio.lighting.audit import Audit, audit_frames, grab_frames

log = logging.getLogger(__name__)
MAX_EXAMPLES = 24


class _Part(TaskContext):
    """A stretch ``lo..hi`` of a parent task's progress; cancelling the parent cancels it."""

    def __init__(self, parent: TaskContext, lo: float, hi: float):
        super().__init__(lambda f: parent.progress(lo + (hi - lo) * f), parent.status)
        self._cancel = parent._cancel


def project_examples(project: Any, limit: int = MAX_EXAMPLES) -> list[tuple[np.ndarray, np.ndarray, str | None]]:
    """Up to ``limit`` labelled defective images that have a defect mask: (image, mask, class)."""
    out: list[tuple[np.ndarray, np.ndarray, str | None]] = []
    try:
        current = project.labels.current()
        dataset = project.dataset
        for image_id, label in current.items():
            if len(out) >= limit:
                break
            if label.verdict != "ng":
                continue
            try:
                record = dataset.get(image_id)
                mask = dataset.load_mask(record)
                if mask is None or not mask.any():
                    continue
                out.append((dataset.load(record), mask, label.defect_class))
            except StudioError:
                continue
    except StudioError as e:          # unreadable labels or data set: audit without examples
        log.warning("no defect examples for the lighting audit: %s", e)
    return out


def audit_project(project: Any, camera_spec: str | None = None, frames: int = 10, *,
                  roi: list[int] | None = None, save: bool = True,
                  task: TaskContext | None = None) -> Audit:
    """Grab ``frames`` frames, audit them, keep the report (``save``); returns the audit."""
    task = task or null_task()
    spec = camera_spec or project.camera_spec
    settings = project.camera_settings if spec == project.camera_spec else None
    limits = L.load(project)
    baseline = store.baseline_summary(project)
    roi = roi if roi is not None else project.preprocessing.roi
    task.status(f"opening {spec}")
    camera = open_camera(spec, settings)
    try:
        count = frames
        files = getattr(camera, "files", None)
        if isinstance(files, list) and files:
            count = min(frames, len(files))          # a folder is audited as its sequence, once
        images, masks, classes = grab_frames(camera, count, _Part(task, 0.0, 0.5))
    finally:
        camera.close()
    task.status(f"measuring {len(images)} frames")
    audit = audit_frames(images, masks=masks, classes=classes, limits=limits, baseline=baseline, roi=roi,
                         examples=project_examples(project), source=spec, task=_Part(task, 0.5, 0.97))
    if save:
        store.save_audit(project, audit, limits)
    task.progress(1.0)
    return audit
