"""What a valid ``project.yaml`` looks like, and how old ones are migrated.

``validate`` returns every problem at once (file, field, what to do), so a
user fixes a broken project in one pass. ``migrate`` upgrades older
``schema_version`` values step by step with ``MIGRATOR``
(``studio.core.migrations``); each step is a small function in ``MIGRATIONS``.
"""
from __future__ import annotations

from studio import tasks as inspection_tasks
from studio.core.migrations import Migrator
from studio.core.problems import Problem  # noqa: F401  (re-exported)
from typing import Any, Callable

SCHEMA_VERSION = 1
TASKS = inspection_tasks.names()        # one description each: studio.tasks


# version N -> function that turns a version-N dict into version N+1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
# project.yaml always had schema_version: a file without it is invalid, not old
MIGRATOR = Migrator("project.yaml", SCHEMA_VERSION, unversioned=None, steps=MIGRATIONS)


def migrate(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Upgrade ``data`` to ``SCHEMA_VERSION``; returns (data, changed).

    A version that cannot be migrated is left as it is, for ``validate`` to report.
    """
    if MIGRATOR.problem(data):
        return data, False
    data, old = MIGRATOR.migrate(data)
    return data, old != SCHEMA_VERSION


def default_settings(name: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "task": "anomaly",
        "camera": {"spec": "sim", "settings": {}},
        # 256 px: +1.6 / +2.0 points of anomaly image AUROC over 224 (magnetic tile / DeepPCB), and a
        # 2,048 px ROI shrinks by a whole 8 (benchmarks/README.md, "Station at 5 MP")
        "preprocessing": {"size": 256, "roi": None, "contrast": "none", "normalize": "imagenet"},
        "split": {"test_fraction": 0.3, "seed": 0},
        "training": {
            "anomaly": {"coreset_ratio": 0.1, "max_train_images": 500},
            "classification": {"epochs": 8, "batch_size": 16, "lr": 0.001},
        },
    }


def validate(data: Any, file: str = "project.yaml") -> list[Problem]:
    problems: list[Problem] = []

    def bad(field: str, message: str, hint: str) -> None:
        problems.append(Problem(file, field, message, hint))

    if not isinstance(data, dict):
        bad("(top level)", "is not a mapping of settings",
            "restore project.yaml from a backup or create a new project with 'studio project new'")
        return problems
    version = data.get("schema_version")
    if not isinstance(version, int):
        bad("schema_version", "is missing or not a whole number",
            f"add 'schema_version: {SCHEMA_VERSION}' at the top of the file")
    elif version > SCHEMA_VERSION:
        bad("schema_version", f"is {version}, newer than this studio understands ({SCHEMA_VERSION})",
            "open the project with a newer Inspection Studio")
    elif version < SCHEMA_VERSION and version not in MIGRATIONS:
        bad("schema_version", f"is {version}, and no migration exists from it",
            f"set it to {SCHEMA_VERSION} if the file already has the current layout")
    if not isinstance(data.get("name"), str) or not data.get("name", "").strip():
        bad("name", "is missing or empty", "give the project a name, e.g. 'name: Bracket line 3'")
    if data.get("task") not in TASKS:
        bad("task", f"is {data.get('task')!r}, not one of {', '.join(TASKS)}",
            "set 'task: NAME', one of: " + "; ".join(f"{name} ({inspection_tasks.get(name).learns_from})"
                                                      for name in TASKS))
    cam = data.get("camera")
    if not isinstance(cam, dict) or not isinstance(cam.get("spec"), str):
        bad("camera.spec", "is missing", "set e.g. 'camera: {spec: sim}' or 'camera: {spec: opencv:0}'")
    pre = data.get("preprocessing")
    if not isinstance(pre, dict):
        bad("preprocessing", "is missing or not a mapping", "add 'preprocessing: {size: 224}'")
    else:
        size = pre.get("size")
        if not isinstance(size, int) or not 32 <= size <= 2048:
            bad("preprocessing.size", f"is {size!r}, not a whole number of pixels 32..2048",
                "set e.g. 'size: 224'")
        roi = pre.get("roi")
        if roi is not None and not (isinstance(roi, list) and len(roi) == 4
                                    and all(isinstance(v, int) and v >= 0 for v in roi)
                                    and roi[2] > 0 and roi[3] > 0):
            bad("preprocessing.roi", f"is {roi!r}, not [x, y, width, height] in pixels",
                "set e.g. 'roi: [0, 0, 400, 400]' or 'roi: null' for the whole image")
        if pre.get("contrast", "none") not in ("none", "clahe"):
            bad("preprocessing.contrast", f"is {pre.get('contrast')!r}", "use 'none' or 'clahe'")
        if pre.get("normalize", "imagenet") not in ("none", "imagenet"):
            bad("preprocessing.normalize", f"is {pre.get('normalize')!r}", "use 'imagenet' or 'none'")
    split = data.get("split", {})
    if not isinstance(split, dict) or not (0.0 < float(split.get("test_fraction", 0.3)) < 1.0):
        bad("split.test_fraction", "must be between 0 and 1", "set e.g. 'test_fraction: 0.3'")
    return problems
