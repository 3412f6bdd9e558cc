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
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

FILE_NAME = "criteria.yaml"
# the file's layout version (``version`` is the criteria's own, bumped with every rule change):
# 0 before schema_version; 1 schema_version added (same fields)
SCHEMA_VERSION = 1
MIGRATOR = Migrator(FILE_NAME, SCHEMA_VERSION)
MIGRATOR.step(0)(lambda d: d)
MEASURES = ("length", "width", "diameter", "area", "count")


@dataclass
class DefectClass:
    id: int
    name: str
    definition: str = ""
    severity: str = "major"          # critical / major / minor / cosmetic
    rule: str = ""                   # accept/reject rule in words
    measure: str | None = None       # what is measured: length / width / area / diameter / count
    limit: float | None = None       # reject above this (mm, mm² or a count)
    surface: str = ""                # where the rule applies, e.g. "A" (visible face)
    examples: list[dict[str, Any]] = field(default_factory=list)   # case law, see add_example

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "name": self.name, "definition": self.definition,
                             "severity": self.severity, "rule": self.rule}
        if self.measure:
            d.update(measure=self.measure, limit=self.limit, surface=self.surface)
        if self.examples:
            d["examples"] = [dict(e) for e in self.examples]
        return d

    def rule_text(self, pixel_size_mm: float | None = None) -> str:
        """The rule in words, with its measurable limit (and that limit in pixels when calibrated)."""
        from studio.criteria.rules import rule_text

        return rule_text(self, pixel_size_mm)


@dataclass
class CriteriaDocument:
    version: int = 1
    classes: list[DefectClass] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    pixel_size_mm: float | None = None     # from the project's calibration: mm per image pixel

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
        data, _ = MIGRATOR.migrate(data, path)
        px = data.get("pixel_size_mm")
        return cls(version=int(data.get("version", 1)),
                   classes=[DefectClass(**{k: c[k] for k in c if k in DefectClass.__dataclass_fields__})
                            for c in data.get("classes", [])],
                   history=list(data.get("history", [])),
                   pixel_size_mm=float(px) if px else None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {FIELD: SCHEMA_VERSION, "version": self.version}
        if self.pixel_size_mm:
            d["pixel_size_mm"] = self.pixel_size_mm
        d["classes"] = [c.to_dict() for c in self.classes]
        d["history"] = self.history
        return d

    def save(self, path: Path) -> None:
        """Write the document; the old version stays readable in ``criteria_versions/``."""
        from studio.criteria.versions import archive

        if Path(path).exists():
            try:
                MIGRATOR.backup(path, MIGRATOR.version_of(yaml.safe_load(Path(path).read_text(encoding="utf-8"))))
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                pass
        atomic_write_yaml(path, self.to_dict())
        archive(path, self)

    def get(self, name: str) -> DefectClass | None:
        return next((c for c in self.classes if c.name == name), None)

    def new_version(self, author: str, reason: str) -> None:
        """Bump the version; call before saving any change to the rules."""
        self.version += 1
        self.history.append({"version": self.version, "author": author,
                             "date": _dt.datetime.now().isoformat(timespec="seconds"),
                             "reason": reason})

    def critical_classes(self) -> list[str]:
        """The defect classes this document marks critical (an escape of one is never acceptable)."""
        return [c.name for c in self.classes if str(c.severity).lower() == "critical"]

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
    why = MIGRATOR.problem(data)
    if why:
        problems.append(Problem(file, FIELD, why, "open it with a newer Inspection Studio" if "newer" in why
                                else f"set 'schema_version: {SCHEMA_VERSION}'"))
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
        if c.get("measure") is not None and c["measure"] not in MEASURES:
            problems.append(Problem(file, f"classes[{i}].measure", f"'{c['measure']}' is not a measure",
                                    f"use one of: {', '.join(MEASURES)}"))
        if c.get("limit") is not None and not isinstance(c["limit"], (int, float)):
            problems.append(Problem(file, f"classes[{i}].limit", "is not a number",
                                    "write the limit in mm (mm² for area), e.g. 'limit: 2.0'"))
        if c["id"] in seen:
            problems.append(Problem(file, f"classes[{i}].id", f"{c['id']} is used twice",
                                    "give every class its own id"))
        seen.add(c["id"])
    return problems
