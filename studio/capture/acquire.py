"""Capture frames into a project's data set.

Each frame becomes an image record whose ``meta`` says where it came from:
the frame's own meta (for the simulator: ``truth``, ``lighting``, ``seed``,
``index``, ``pose``), then ``camera`` (spec), ``frame_id``, ``timestamp``
and ``camera_info``. The manifest is written once at the end, and also when
the capture is cancelled or the camera fails half-way, so nothing captured
is lost.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from studio.capture.camera import Camera
from studio.core.errors import CameraError, StudioError
from studio.core.task import TaskContext, null_task
from studio.dataset.store import ImageRecord

log = logging.getLogger(__name__)


def capture_to_project(project: Any, camera: Camera, count: int, *, label_truth: bool = False,
                       labeler: str = "simulator", task: TaskContext | None = None) -> list[ImageRecord]:
    """Grab ``count`` frames into ``project``; returns the new records (fewer when cancelled).

    ``label_truth`` labels every image from the simulator's ground truth
    (ok, or ng with the defect as class), recorded as ``labeler``.
    """
    task = task or null_task()
    if count < 1:
        raise StudioError(f"cannot capture {count} images", hint="capture 1 image or more")
    truth_source = getattr(camera, "last_mask", None)
    if label_truth and truth_source is None:
        raise StudioError(f"camera '{camera.spec}' has no ground truth to label from",
                          hint="label the images by hand, or capture from the simulated camera (sim:...)")
    if not camera.is_open:
        camera.open()
    info = camera.info()
    dataset = project.dataset
    records: list[ImageRecord] = []
    task.status(f"capturing {count} images from {camera.spec}")
    try:
        for i in range(count):
            if task.cancelled():
                task.status(f"cancelled after {len(records)} of {count} images")
                break
            frame = camera.grab()
            truth = frame.meta.get("truth") or {}
            mask = truth_source() if truth_source is not None and truth.get("defect") else None
            meta = {**frame.meta, "camera": camera.spec, "frame_id": frame.frame_id,
                    "timestamp": frame.timestamp, "camera_info": info}
            stem = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(frame.timestamp))}-{frame.frame_id:06d}"
            record = dataset.add_image(frame.image, stem=stem, source="capture", meta=meta, mask=mask,
                                       save=False)
            records.append(record)
            if label_truth:
                defect = truth.get("defect")
                project.labels.add(record.id, "ng" if defect else "ok", defect, labeler=labeler,
                                   criteria_version=project.criteria.version)
            task.progress((i + 1) / count)
    except CameraError:
        log.warning("camera failed after %d of %d images; keeping those", len(records), count)
        raise
    finally:
        if records:
            dataset.save()
    return records


def next_sim_start(project: Any, spec: str) -> int:
    """The simulated frame index that continues after those already in the project.

    The simulator is deterministic, so a second capture from the same spec
    would repeat the first parts; starting here adds new parts instead.
    """
    seen = [int(r.meta["index"]) for r in project.dataset
            if str(r.meta.get("camera", "")) == spec and isinstance(r.meta.get("index"), int)]
    return max(seen, default=-1) + 1
