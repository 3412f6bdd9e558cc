"""A project folder: everything needed to retrain or run the station.

```
project.yaml     settings (schema_version, task, camera, preprocessing, split, training)
criteria.yaml    the acceptance-criteria document (defect classes, versioned)
dataset.json     image records;  images/  masks/
labels.jsonl     label decisions (append-only audit trail)
audits/          lighting reports
runs/<run>/      training runs: events.jsonl, log
models/<id>/     model.onnx + card.json (model card)
station.yaml     station settings (PLC, trigger, data directory): ``station_settings.SETTINGS``
test_split.json  the frozen test split
labeling.yaml    who labels what
```

``check`` validates project.yaml and criteria.yaml (what a project needs to
open); ``check_all`` every file above (``studio project check``).
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
from studio.project import station_settings as station_settings_table

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


def check_all(path: str | Path) -> list[schema.Problem]:
    """``check`` plus every other file of the project (what ``studio project check`` runs).

    ``check`` (project.yaml, criteria.yaml) decides whether a project opens;
    the others are checked by the module that owns each file, listed in
    ``FILE_CHECKS`` by name (imported only here, as ``Registry`` backends are).
    """
    import importlib

    problems = check(path)
    if problems and not (Path(path) / PROJECT_FILE).is_file():
        return problems
    for what, target in FILE_CHECKS:
        module, _, attr = target.partition(":")
        try:
            problems += getattr(importlib.import_module(module), attr)(Path(path))
        except Exception as e:  # noqa: BLE001  a checker that breaks is itself a problem, never a traceback
            problems.append(schema.Problem(str(Path(path) / what), "(check)",
                                           f"could not be checked ({type(e).__name__}: {e})",
                                           "report this to the studio's maintainers"))
    return problems


def check_station_file(root: Path) -> list[schema.Problem]:
    path = Path(root) / STATION_FILE
    if not path.exists():
        return []
    try:
        data = _read_yaml(path)
    except ProjectError as e:
        return [schema.Problem(str(path), "(syntax)", e.message, e.hint or "")]
    return station_settings_table.validate(data, str(path))


def check_model_cards(root: Path) -> list[schema.Problem]:
    from studio.project import model_card

    out: list[schema.Problem] = []
    models = Path(root) / "models"
    for sub in sorted(models.iterdir()) if models.is_dir() else []:
        card = sub / model_card.CARD_FILE
        if not sub.is_dir() or not card.exists():
            continue
        try:
            out += model_card.validate(model_card.read(sub), card)
        except ProjectError as e:
            out.append(schema.Problem(str(card), "(file)", e.message, e.hint or ""))
        except Exception as e:  # noqa: BLE001  ModelError and friends
            out.append(schema.Problem(str(card), "(file)", getattr(e, "message", str(e)),
                                      getattr(e, "hint", None) or model_card.RETRAIN))
    return out


# every project file besides project.yaml and criteria.yaml: (file, "module:function(root) -> problems")
FILE_CHECKS: list[tuple[str, str]] = [
    ("dataset.json", "studio.dataset.store:check_file"),
    ("labels.jsonl", "studio.labels.store:check_file"),
    ("labeling.yaml", "studio.labels.assignment:check_file"),
    ("station.yaml", "studio.project.project:check_station_file"),
    ("audits/limits.yaml", "studio.lighting.limits:check_file"),
    ("audits/baseline.json", "studio.lighting.store:check_files"),
    ("test_split.json", "studio.dataset.splits:check_file"),
    ("models/*/card.json", "studio.project.project:check_model_cards"),
    ("promotion_gate.yaml", "studio.project.promotion_gate:check_file"),
    ("models/live.yaml", "studio.project.live:check_file"),
]


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
        old_version = data.get("schema_version")
        data, migrated = schema.migrate(data)
        project = cls(root, data)
        if migrated:
            schema.MIGRATOR.backup(root / PROJECT_FILE, old_version)     # project.yaml.v<N>.bak
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
        """``station.yaml``, checked against ``station_settings.SETTINGS`` and migrated.

        ProjectError listing every problem (an unknown key named, with a
        did-you-mean) when it is invalid: the station never starts on it.
        """
        path = self.root / STATION_FILE
        data = _read_yaml(path) if path.exists() else {}
        if data is None:
            data = {}
        problems = station_settings_table.validate(data, str(path))
        if problems:
            raise ProjectError("station.yaml is invalid; the station does not start on it:\n"
                               + "\n".join(str(p) for p in problems))
        data, _ = station_settings_table.MIGRATOR.migrate(data, path)
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
