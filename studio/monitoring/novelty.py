"""New defect types: rejected parts whose anomaly pattern matches no known defect class, grouped.

Each rejected part's 16×16 coarse anomaly map becomes its pattern
(``studio.evaluation.monitoring_reference.pattern``: the size, sharpness and
roundness of its hottest region, wherever it lies), compared with the mean
pattern of each known defect class from the test split
(``card["monitoring"]["class_patterns"]``). A part farther than
``KNOWN_DISTANCE`` (root-mean-square difference) from every known class is
*unknown*; unknown parts are grouped by leader clustering (a part joins the
first group whose leader is within ``GROUP_DISTANCE``, else starts a group).
Groups of at least ``new_defect_min`` parts are offered for labeling: a
``new_defect`` alert, the report's ``new_defects`` (``studio station report
--new-defects`` lists them with their images). For a classification model
the pattern is its predicted class: a reject whose class the card does not
know is unknown too.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.evaluation.monitoring_reference import pattern

KNOWN_DISTANCE = 0.12
GROUP_DISTANCE = 0.10
MIN_GROUP = 3
MAX_GROUPS = 20
MAX_MEMBERS = 200


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


class NewDefects:
    """Fed with rejected parts; keeps the groups of unknown ones."""

    def __init__(self, class_patterns: dict[str, Any] | None = None, known_classes: list[str] | None = None):
        self.known = {k: np.asarray(v, np.float32) for k, v in (class_patterns or {}).items()}
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
        if not self.known:          # nothing to compare with (an older card): never guess
            return None
        v = pattern(coarse)
        if v is None:
            return None
        nearest = min(self.known, key=lambda k: distance(v, self.known[k]))
        d = distance(v, self.known[nearest])
        if d <= KNOWN_DISTANCE:
            return None
        return self._join(part, v, None, t, (nearest, d))

    def _join(self, part: int, v: np.ndarray | None, label: str | None, t: float | None,
              nearest: tuple[str, float] | None = None) -> dict[str, Any] | None:
        self.unknown += 1
        for g in self.groups:
            if (v is None and g["label"] == label) or (v is not None and g["_leader"] is not None
                                                       and distance(v, g["_leader"]) <= GROUP_DISTANCE):
                if len(g["parts"]) < MAX_MEMBERS:
                    g["parts"].append(int(part))
                g["n"] += 1
                g["last"] = t
                return g
        if len(self.groups) >= MAX_GROUPS:
            return None
        g = {"group": len(self.groups) + 1, "label": label, "n": 1, "parts": [int(part)], "first": t, "last": t,
             "nearest_known": None if nearest is None else nearest[0],
             "distance": None if nearest is None else round(nearest[1], 3), "_leader": v}
        if v is not None:
            g["roundness"] = round(float(v[-2]), 2)
        self.groups.append(g)
        return g

    def offered(self, min_group: int = MIN_GROUP) -> list[dict[str, Any]]:
        """The groups big enough to label, biggest first, JSON-ready."""
        out = [{k: v for k, v in g.items() if not k.startswith("_")} for g in self.groups if g["n"] >= min_group]
        return sorted(out, key=lambda g: -g["n"])
