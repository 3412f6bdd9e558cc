"""New defect types: rejected parts whose anomaly pattern matches no known defect class, grouped.

Each rejected part's 16×16 coarse anomaly map (``reference.coarse_map``),
normalised (mean 0, length 1), is compared with the mean pattern of each
known defect class from the test split (``card["monitoring"]["class_maps"]``)
by cosine similarity. A part like none of them (below ``KNOWN_SIMILARITY``)
is *unknown*; unknown parts are grouped by leader clustering (a part joins
the first group whose leader it resembles at ``GROUP_SIMILARITY`` or more,
else starts a group). Groups of at least ``MIN_GROUP`` parts are offered for
labeling (the report lists them; ``studio station report --new-defects``,
and the review queue through ``studio.station.feedback``).
For a classification model the pattern is its predicted class: a reject
whose class is not one the card knows is unknown too.
"""
from __future__ import annotations

from typing import Any

import numpy as np

KNOWN_SIMILARITY = 0.5
GROUP_SIMILARITY = 0.8
MIN_GROUP = 3
MAX_GROUPS = 20
MAX_MEMBERS = 200


def unit(m: np.ndarray) -> np.ndarray | None:
    v = np.asarray(m, np.float32).ravel()
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else None


class NewDefects:
    """Fed with rejected parts; keeps the groups of unknown ones."""

    def __init__(self, class_maps: dict[str, Any] | None = None, known_classes: list[str] | None = None):
        self.known = {k: unit(np.asarray(v)) for k, v in (class_maps or {}).items()}
        self.known = {k: v for k, v in self.known.items() if v is not None}
        self.known_classes = set(known_classes or [])
        self.groups: list[dict[str, Any]] = []
        self.unknown = 0

    def add(self, part: int, coarse: np.ndarray | None = None, defect_class: str | None = None,
            t: float | None = None) -> dict[str, Any] | None:
        """Look at one rejected part; returns its group when the part is unknown, else None."""
        if coarse is None:
            if defect_class and self.known_classes and defect_class not in self.known_classes:
                return self._join(part, None, f"class {defect_class}", t)
            return None
        v = unit(coarse)
        if v is None:
            return None
        best = max((float(v @ k) for k in self.known.values()), default=-1.0)
        if self.known and best >= KNOWN_SIMILARITY:
            return None
        return self._join(part, v, None, t, best if self.known else None)

    def _join(self, part: int, v: np.ndarray | None, label: str | None, t: float | None,
              best: float | None = None) -> dict[str, Any] | None:
        self.unknown += 1
        for g in self.groups:
            if (v is None and g["label"] == label) or (v is not None and g["_leader"] is not None
                                                       and float(v @ g["_leader"]) >= GROUP_SIMILARITY):
                if len(g["parts"]) < MAX_MEMBERS:
                    g["parts"].append(int(part))
                g["n"] += 1
                g["last"] = t
                return g
        if len(self.groups) >= MAX_GROUPS:
            return None
        g = {"group": len(self.groups) + 1, "label": label, "n": 1, "parts": [int(part)], "first": t, "last": t,
             "closest_known": None if best is None else round(best, 3), "_leader": v}
        if v is not None:
            peak = int(np.argmax(v))
            side = int(round(len(v) ** 0.5))
            g["peak_cell"] = [peak // side, peak % side]
        self.groups.append(g)
        return g

    def offered(self, min_group: int = MIN_GROUP) -> list[dict[str, Any]]:
        """The groups big enough to label, biggest first, JSON-ready."""
        out = [{k: v for k, v in g.items() if not k.startswith("_")} for g in self.groups if g["n"] >= min_group]
        return sorted(out, key=lambda g: -g["n"])
