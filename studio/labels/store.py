"""Labels: an append-only log (``labels.jsonl``) that is also the audit trail.

Each line is one decision: which image, OK / NG / borderline, which defect
class, who decided, when, under which criterion and criteria version. The
current label of an image is its latest decision (a reference decision,
once issue 4 adds it, wins over plain labels).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "labels.jsonl"
VERDICTS = ("ok", "ng", "borderline")


@dataclass
class Label:
    image_id: str
    verdict: str                      # "ok", "ng" or "borderline"
    defect_class: str | None = None   # defect class name for "ng"
    labeler: str = "engineer"
    time: str = ""
    criterion: str | None = None      # the criteria clause applied (class name for now)
    criteria_version: int = 1

    @property
    def is_defective(self) -> bool:
        return self.verdict == "ng"


class LabelStore:
    def __init__(self, root: Path):
        self.path = Path(root) / FILE_NAME
        self._lock = threading.Lock()
        self._history: list[Label] = []
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    d = json.loads(line)
                    self._history.append(Label(**{k: v for k, v in d.items()
                                                  if k in Label.__dataclass_fields__}))
                except (json.JSONDecodeError, TypeError):
                    # a torn last line after a crash: keep every complete decision
                    continue

    def add(self, image_id: str, verdict: str, defect_class: str | None = None, *,
            labeler: str = "engineer", criteria_version: int = 1,
            criterion: str | None = None) -> Label:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        label = Label(image_id=image_id, verdict=verdict,
                      defect_class=defect_class if verdict == "ng" else None,
                      labeler=labeler, time=_dt.datetime.now().isoformat(timespec="milliseconds"),
                      criterion=criterion or (defect_class if verdict == "ng" else None),
                      criteria_version=criteria_version)
        line = json.dumps(asdict(label)) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            self._history.append(label)
        return label

    def history(self, image_id: str | None = None) -> list[Label]:
        return [l for l in self._history if image_id is None or l.image_id == image_id]

    def current(self) -> dict[str, Label]:
        """The current label of every labeled image."""
        out: dict[str, Label] = {}
        for label in self._history:
            out[label.image_id] = label
        return out

    def get(self, image_id: str) -> Label | None:
        return self.current().get(image_id)

    def counts(self) -> dict[str, Any]:
        cur = self.current().values()
        by_class: dict[str, int] = {}
        for l in cur:
            if l.verdict == "ng":
                by_class[l.defect_class or "(unspecified)"] = by_class.get(l.defect_class or "(unspecified)", 0) + 1
        return {"ok": sum(l.verdict == "ok" for l in cur), "ng": sum(l.verdict == "ng" for l in cur),
                "borderline": sum(l.verdict == "borderline" for l in cur), "by_class": by_class}
