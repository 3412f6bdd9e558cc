"""A project folder: everything needed to retrain or run the station.

```
project.yaml     settings (schema_version, task, camera, preprocessing, split, training)
criteria.yaml    the acceptance-criteria document (defect classes, versioned)
dataset.json     image records;  images/  masks/
labels.jsonl     label decisions (append-only audit trail)
audits/          lighting reports
runs/<run>/      training runs: events.jsonl, log
models/<id>/     model.onnx + card.json (model card)
station.yaml     station settings (PLC, trigger, data directory)
```
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from studio.core.atomic import atomic_write_yaml
from studio.core.errors import ProjectError
from studio.criteria.document import FILE_NAME as CRITERIA_FILE
from studio.criteria.document import CriteriaDocument
from studio.criteria.document import validate as validate_criteria
from studio.dataset.preprocessing import Preprocessing
from studio.project import schema

PROJECT_FILE = "project.yaml"
STATION_FILE = "station.yaml"


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProjectError(f"is not valid YAML{where}: {getattr(e, 'problem', e)}", file=path,
                           hint="fix the syntax there (indentation, a missing colon or quote), "
                                "or restore the file from a backup") from None
    except UnicodeDecodeError:
        raise ProjectError("is not a text file", file=path, hint="restore the file from a backup") from None


def check(path: str | Path) -> list[schema.Problem]:
    """Every problem with the project at ``path``; empty when it is valid."""
    root = Path(path)
    pfile = root / PROJECT_FILE
    if not root.is_dir():
        return [schema.Problem(str(root), "(folder)", "is not a folder",
                               "give the path of a project folder (the one holding project.yaml)")]
    if not pfile.exists():
        return [schema.Problem(str(pfile), "(file)", "is missing",
                               "create a project with 'studio project new PATH'")]
    try:
        data = _read_yaml(pfile)
    except ProjectError as e:
        return [schema.Problem(str(pfile), "(syntax)", e.message, e.hint or "")]
    data, _ = schema.migrate(data) if isinstance(data, dict) else (data, False)
    problems = schema.validate(data, str(pfile))
    cfile = root / CRITERIA_FILE
    if cfile.exists():
        try:
            problems += validate_criteria(_read_yaml(cfile), str(cfile))
        except ProjectError as e:
            problems.append(schema.Problem(str(cfile), "(syntax)", e.message, e.hint or ""))
    return problems


class Project:
    def __init__(self, root: Path, settings: dict[str, Any]):
        self.root = Path(root).resolve()
        self.settings = settings
        self._dataset = None
        self._labels = None
        self._criteria: CriteriaDocument | None = None

    # ---- life cycle -------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> "Project":
        problems = check(path)
        if problems:
            raise ProjectError("\n".join(str(p) for p in problems))
        root = Path(path)
        data = _read_yaml(root / PROJECT_FILE)
        data, migrated = schema.migrate(data)
        project = cls(root, data)
        if migrated:
            project.save()
        return project

    @classmethod
    def create(cls, path: str | Path, name: str | None = None,
               template: str | None = None) -> "Project":
        root = Path(path)
        if (root / PROJECT_FILE).exists():
            raise ProjectError("a project already exists here", file=root / PROJECT_FILE,
                               hint="open it, or choose another folder")
        root.mkdir(parents=True, exist_ok=True)
        settings = schema.default_settings(name or root.resolve().name)
        criteria = CriteriaDocument(history=[{"version": 1, "author": "studio", "reason": "created"}])
        if template:
            from studio.project.templates import apply_template

            settings, criteria = apply_template(template, settings, criteria)
        project = cls(root, settings)
        for sub in ("images", "masks", "audits", "runs", "models"):
            (project.root / sub).mkdir(exist_ok=True)
        criteria.save(project.root / CRITERIA_FILE)
        project.save()
        return project

    def save(self) -> None:
        problems = schema.validate(self.settings, str(self.root / PROJECT_FILE))
        if problems:
            raise ProjectError("\n".join(str(p) for p in problems))
        atomic_write_yaml(self.root / PROJECT_FILE, self.settings)

    # ---- settings ---------------------------------------------------
    @property
    def name(self) -> str:
        return self.settings["name"]

    @property
    def task(self) -> str:
        return self.settings["task"]

    @property
    def camera_spec(self) -> str:
        return self.settings["camera"]["spec"]

    @property
    def camera_settings(self) -> dict[str, Any]:
        return self.settings["camera"].setdefault("settings", {})

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_dict(self.settings["preprocessing"])

    def training_options(self, task: str) -> dict[str, Any]:
        return copy.deepcopy(self.settings.get("training", {}).get(task, {}))

    def station_settings(self) -> dict[str, Any]:
        path = self.root / STATION_FILE
        data = _read_yaml(path) if path.exists() else {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProjectError("is not a mapping of settings", file=path,
                               hint="restore station.yaml or delete it to use the defaults")
        return data

    # ---- parts ------------------------------------------------------
    @property
    def criteria(self) -> CriteriaDocument:
        if self._criteria is None:
            self._criteria = CriteriaDocument.load(self.root / CRITERIA_FILE)
        return self._criteria

    def save_criteria(self) -> None:
        self.criteria.save(self.root / CRITERIA_FILE)

    @property
    def dataset(self):
        if self._dataset is None:
            from studio.dataset.store import Dataset

            split = self.settings.get("split", {})
            self._dataset = Dataset(self.root, float(split.get("test_fraction", 0.3)),
                                    int(split.get("seed", 0)))
        return self._dataset

    @property
    def labels(self):
        if self._labels is None:
            from studio.labels.store import LabelStore

            self._labels = LabelStore(self.root)
        return self._labels

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def audits_dir(self) -> Path:
        return self.root / "audits"
