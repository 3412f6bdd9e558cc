"""Who labels what: the labelers, the reference labeler and the overlap set (``labeling.yaml``).

Each image goes to one labeler, chosen from a hash of its id; a share
(``overlap``, e.g. 0.2) goes to ``copies`` labelers so agreement can be
measured. The choice is deterministic: adding images never reshuffles
those already assigned.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studio.core.atomic import atomic_write_yaml
from studio.core.errors import ProjectError
from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

FILE_NAME = "labeling.yaml"
KEYS = (FIELD, "labelers", "reference", "overlap", "copies", "seed")
# 0: before schema_version; 1: schema_version added (same keys)
SCHEMA_VERSION = 1
MIGRATOR = Migrator(FILE_NAME, SCHEMA_VERSION)
MIGRATOR.step(0)(lambda d: d)
FIX = "fix it, or delete it and set it again with 'studio labels assign'"


def check_file(root: Path) -> list[Problem]:
    """Every problem with ``labeling.yaml`` (none when it is absent: no plan)."""
    path = Path(root) / FILE_NAME
    if not path.exists():
        return []
    try:
        LabelingPlan.load(root)
    except ProjectError as e:
        return [Problem(str(path), e.field or "(file)", e.message, e.hint or FIX)]
    return []


def _disk_version(path: Path) -> int | None:
    try:
        return MIGRATOR.version_of(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None


def _u(seed: int, image_id: str, salt: str = "") -> float:
    h = hashlib.sha1(f"{seed}:{salt}:{image_id}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2 ** 32


@dataclass
class LabelingPlan:
    labelers: list[str] = field(default_factory=list)
    reference: str | None = None
    overlap: float = 0.2
    copies: int = 2
    seed: int = 0

    @classmethod
    def load(cls, root: Path) -> "LabelingPlan":
        path = Path(root) / FILE_NAME
        if not path.exists():
            return cls()
        try:
            d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ProjectError(f"labeling plan is not valid YAML ({e})", file=path, hint=FIX) from None
        if not isinstance(d, dict):
            raise ProjectError("labeling plan is not a mapping of settings", file=path, hint=FIX)
        unknown = [str(k) for k in d if k not in KEYS]
        if unknown:
            raise ProjectError(f"labeling plan has unknown key(s) {', '.join(unknown)}", file=path,
                               field=unknown[0], hint="known keys: " + ", ".join(KEYS[1:]))
        d, _ = MIGRATOR.migrate(d, path)
        try:
            if not isinstance(d.get("labelers", []), list):
                raise TypeError("labelers is not a list of names")
            plan = cls(labelers=[str(x) for x in d.get("labelers", [])], reference=d.get("reference"),
                       overlap=float(d.get("overlap", 0.2)), copies=int(d.get("copies", 2)),
                       seed=int(d.get("seed", 0)))
        except (TypeError, ValueError, AttributeError) as e:
            raise ProjectError(f"labeling plan is unreadable ({e})", file=path, hint=FIX) from None
        plan.check(path)
        return plan

    def check(self, where: Any = FILE_NAME) -> None:
        if not 0.0 <= self.overlap <= 1.0:
            raise ProjectError(f"overlap must be a share between 0 and 1, not {self.overlap}", file=where,
                               hint="e.g. 0.2 sends one image in five to several labelers")
        if self.copies < 2:
            raise ProjectError("copies must be 2 or more (labelers per overlap image)", file=where)
        if len(set(self.labelers)) != len(self.labelers):
            raise ProjectError("a labeler is listed twice", file=where)

    def save(self, root: Path) -> None:
        self.check()
        MIGRATOR.backup(Path(root) / FILE_NAME, _disk_version(Path(root) / FILE_NAME))
        atomic_write_yaml(Path(root) / FILE_NAME, {FIELD: SCHEMA_VERSION, "labelers": self.labelers, "reference": self.reference,
                                                   "overlap": self.overlap, "copies": self.copies,
                                                   "seed": self.seed})

    def in_overlap(self, image_id: str) -> bool:
        return _u(self.seed, image_id, "overlap") < self.overlap

    def assigned(self, image_id: str) -> list[str]:
        """The labelers who should label ``image_id`` (all of them when no plan is set)."""
        if not self.labelers:
            return []
        n = len(self.labelers)
        start = int(_u(self.seed, image_id, "who") * n) % n
        k = min(n, self.copies) if self.in_overlap(image_id) else 1
        return [self.labelers[(start + i) % n] for i in range(k)]

    def labels_blind(self, labeler: str) -> bool:
        """A labeler the plan names always labels blind: seeing the others' answers would make the
        agreement measured between them meaningless. Anyone else may choose."""
        return bool(self.labelers) and labeler in self.labelers

    def queue(self, image_ids: list[str], labeler: str, done: dict[str, Any] | None = None) -> list[str]:
        """``labeler``'s images still to label, in order (all images when no plan is set)."""
        done = done or {}
        mine = [i for i in image_ids if not self.labelers or labeler in self.assigned(i)]
        return [i for i in mine if i not in done]
