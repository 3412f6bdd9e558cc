"""The demo project fills itself on first open: labelled simulated parts, a lighting baseline, a small model.

A project holding ``demo.yaml`` (``projects/demo`` does) and nothing else yet
is filled once by ``fill_demo``, in the background where the GUI opens it,
so a new user sees the whole product at first launch. Deterministic: the
simulator's seed fixes every part and label. A project made with
``studio project new --template demo`` has no ``demo.yaml`` and starts
empty, as the README's whole pass expects.

``demo.yaml`` (every key optional)::

    parts: 60                       # simulated parts captured and labelled from the simulator's truth
    audit_camera: sim:seed=7,still=1   # the stopped line the lighting baseline is audited on
    audit_frames: 10
    train: anomaly                  # the task of the small model trained last ("" = no model)
    train_options: {}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from studio.core.errors import ProjectError
from studio.core.task import TaskContext, null_task

FILL_FILE = "demo.yaml"
DEFAULTS: dict[str, Any] = {"parts": 60, "audit_camera": "sim:seed=7,still=1", "audit_frames": 10,
                            "train": "anomaly", "train_options": {}}


def fill_settings(project: Any) -> dict[str, Any] | None:
    """The project's demo fill settings, or None when it is not a demo that fills itself."""
    path = Path(project.root) / FILL_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ProjectError(f"is not valid YAML ({e})", file=path,
                           hint="fix it, or delete it to open the demo empty") from None
    if not isinstance(data, dict) or set(data) - set(DEFAULTS):
        raise ProjectError("has keys the demo fill does not know", file=path,
                           field=", ".join(sorted(set(data) - set(DEFAULTS))) if isinstance(data, dict) else None,
                           hint="keys: " + ", ".join(DEFAULTS))
    return {**DEFAULTS, **data}


def needs_fill(project: Any) -> bool:
    """A demo (``demo.yaml``) that holds no image and no model yet."""
    if fill_settings(project) is None or len(project.dataset):
        return False
    models = Path(project.root) / "models"
    return not (models.is_dir() and any(models.iterdir()))


class _Part(TaskContext):
    """A stretch ``lo..hi`` of the fill's progress; cancelling the fill cancels it."""

    def __init__(self, parent: TaskContext, lo: float, hi: float):
        super().__init__(lambda f: parent.progress(lo + (hi - lo) * max(0.0, min(1.0, f))), parent.status)
        self._cancel = parent._cancel


def fill_demo(project: Any, task: TaskContext | None = None) -> dict[str, Any]:
    """Fill the demo: lighting baseline, labelled parts, a small model. Returns what was made."""
    from studio.capture.acquire import capture_to_project, next_sim_start
    from studio.capture.camera import open_camera
    from studio.lighting import store as lighting_store
    from studio.lighting.run import audit_project

    task = task or null_task()
    cfg = fill_settings(project) or dict(DEFAULTS)
    out: dict[str, Any] = {}
    task.status("auditing the demo's lighting")
    audit = audit_project(project, cfg["audit_camera"], int(cfg["audit_frames"]), task=_Part(task, 0.0, 0.15))
    out["audit"] = audit.verdict
    if audit.verdict == "pass":
        out["baseline"] = lighting_store.save_baseline(project, audit.audit_id)["audit_id"]
    task.check()
    n = int(cfg["parts"])
    task.status(f"adding {n} simulated parts with their labels")
    spec = project.camera_spec
    settings = {**project.camera_settings, "start": next_sim_start(project, spec)}
    with open_camera(spec, settings) as cam:
        out["parts"] = len(capture_to_project(project, cam, n, label_truth=True, labeler="simulator",
                                              task=_Part(task, 0.15, 0.4)))
    task.check()
    if cfg["train"]:
        from studio.training.runner import run_training

        task.status(f"training a small {cfg['train']} model")
        done = run_training(project.root, cfg["train"], dict(cfg["train_options"] or {}),
                            task_ctx=_Part(task, 0.4, 1.0))
        out["model_id"] = done.get("model_id")
    task.progress(1.0)
    task.status("the demo is ready")
    return out
