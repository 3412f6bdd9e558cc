"""The acceptance-criteria document: defect classes and their rules, versioned.

Lives in the project as ``criteria.yaml``. Every change is a new version
with author, date and reason (``history``); every label records the version
it applied. Class ids are what the PLC receives (register 4), 0 = no defect.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studio.core.atomic import atomic_write_yaml
from studio.core.errors import ProjectError
from studio.core.problems import Problem

FILE_NAME = "criteria.yaml"


@dataclass
class DefectClass:
    id: int
    name: str
    definition: str = ""
    severity: str = "major"          # critical / major / minor / cosmetic
    rule: str = ""                   # accept/reject rule in measurable terms

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "definition": self.definition,
                "severity": self.severity, "rule": self.rule}


@dataclass
class CriteriaDocument:
    version: int = 1
    classes: list[DefectClass] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "CriteriaDocument":
        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ProjectError(f"is not valid YAML ({e.__class__.__name__}: {e})", file=path,
                               hint="fix the syntax, or restore the file from a backup") from None
        problems = validate(data, str(path))
        if problems:
            raise ProjectError("\n".join(str(p) for p in problems))
        return cls(version=int(data.get("version", 1)),
                   classes=[DefectClass(**{k: c[k] for k in c if k in DefectClass.__dataclass_fields__})
                            for c in data.get("classes", [])],
                   history=list(data.get("history", [])))

    def save(self, path: Path) -> None:
        atomic_write_yaml(path, {"version": self.version,
                                 "classes": [c.to_dict() for c in self.classes],
                                 "history": self.history})

    def new_version(self, author: str, reason: str) -> None:
        """Bump the version; call before saving any change to the rules."""
        self.version += 1
        self.history.append({"version": self.version, "author": author,
                             "date": _dt.datetime.now().isoformat(timespec="seconds"),
                             "reason": reason})

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def class_id(self, name: str | None) -> int:
        """PLC class id for a defect name; 0 for none or unknown."""
        for c in self.classes:
            if c.name == name:
                return c.id
        return 0

    def add_class(self, name: str, **kw: Any) -> DefectClass:
        existing = [c for c in self.classes if c.name == name]
        if existing:
            return existing[0]
        c = DefectClass(id=max((c.id for c in self.classes), default=0) + 1, name=name, **kw)
        self.classes.append(c)
        return c


def validate(data: Any, file: str = FILE_NAME) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return [Problem(file, "(top level)", "is not a mapping",
                        "restore criteria.yaml from a backup")]
    if not isinstance(data.get("version", 1), int):
        problems.append(Problem(file, "version", "is not a whole number", "set 'version: 1'"))
    classes = data.get("classes", [])
    if not isinstance(classes, list):
        return problems + [Problem(file, "classes", "is not a list",
                                   "write e.g. 'classes: [{id: 1, name: scratch}]'")]
    seen: set[int] = set()
    for i, c in enumerate(classes):
        if not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("name"), str):
            problems.append(Problem(file, f"classes[{i}]", "needs a whole-number 'id' and a 'name'",
                                    "write it as '{id: 1, name: scratch}'"))
            continue
        if c["id"] <= 0:
            problems.append(Problem(file, f"classes[{i}].id", "must be 1 or more (0 means no defect)",
                                    "renumber the classes from 1"))
        if c["id"] in seen:
            problems.append(Problem(file, f"classes[{i}].id", f"{c['id']} is used twice",
                                    "give every class its own id"))
        seen.add(c["id"])
    return problems
