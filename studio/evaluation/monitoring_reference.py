"""The model's reference for production monitoring, written into its card at evaluation.

``studio.evaluation.evaluate`` calls ``build`` on the test split's scores (and
anomaly maps) and saves the result as ``card["monitoring"]`` (see
``studio.monitoring.reference`` for what it holds and how the station uses it).
It lives here, in the evaluation layer, because evaluation writes it; the
monitoring layer above reads it.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

import numpy as np

KEY = "monitoring"
MAX_SCORES = 2000
MAP_SIZE = 16


def coarse_map(amap: Any, size: int = MAP_SIZE) -> np.ndarray | None:
    """The ``size``×``size`` block mean of an anomaly map (any 2-D shape), float32; None without one."""
    if amap is None:
        return None
    a = np.asarray(amap, dtype=np.float32)
    while a.ndim > 2:
        a = a[0]
    if a.ndim != 2 or a.size == 0:
        return None
    import cv2

    h, w = a.shape
    # block means when shrinking (INTER_AREA), interpolation when the map is smaller than the grid
    how = cv2.INTER_AREA if h >= size and w >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(a), (size, size), interpolation=how)


def _compact(scores: Sequence[float]) -> list[float]:
    s = np.sort(np.asarray([x for x in scores if np.isfinite(x)], dtype=np.float64))
    if s.size > MAX_SCORES:
        s = np.quantile(s, np.linspace(0, 1, MAX_SCORES))
    return [float(f"{x:.6g}") for x in s]


PROFILE = 32        # cells of the hottest region in a defect's pattern


def pattern(coarse: Any) -> np.ndarray | None:
    """A defect's anomaly pattern, wherever it is on the part: the shape of its hottest region.

    The coarse map above its median, scaled to 1 at its peak: its ``PROFILE``
    largest cells in order (how big and how sharp the anomaly is), then how
    round the region above half the peak is (1 round, 0 a line) and how much
    of the part it covers. None for a flat map.
    """
    if coarse is None:
        return None
    m = np.asarray(coarse, np.float64)
    m = np.clip(m - np.median(m), 0, None)
    peak = float(m.max()) if m.size else 0.0
    if peak <= 1e-9:
        return None
    m = m / peak
    profile = np.sort(m.ravel())[::-1][:PROFILE]
    ys, xs = np.nonzero(m >= 0.5)
    if ys.size >= 2:
        ev = np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(np.float64)) + 1e-3 * np.eye(2))
        roundness = float(np.sqrt(max(ev[0], 0.0) / max(ev[1], 1e-9)))
    else:
        roundness = 1.0
    return np.concatenate([profile, [roundness, ys.size / m.size * 4]]).astype(np.float32)


def build(scores: Sequence[float], defective: Sequence[bool], *, maps: Sequence[Any] | None = None,
          classes: Sequence[str | None] | None = None, test_split: str | None = None) -> dict[str, Any]:
    """The card's ``monitoring`` block from an evaluation's scores (and anomaly maps)."""
    y = np.asarray(defective, bool)
    s = np.asarray(scores, np.float64)
    out: dict[str, Any] = {
        "good_scores": _compact(s[~y]), "defective_scores": _compact(s[y]),
        "n_good": int((~y).sum()), "n_defective": int(y.sum()),
        "evaluated": _dt.datetime.now().isoformat(timespec="seconds"), "test_split": test_split,
    }
    coarse = [coarse_map(m) for m in maps] if maps is not None else []
    good = [c for c, d in zip(coarse, y) if c is not None and not d]
    if good:
        stack = np.stack(good)
        out["map_mean"] = np.round(stack.mean(axis=0), 5).tolist()
        out["map_std"] = np.round(stack.std(axis=0), 5).tolist()
        by_class: dict[str, list[np.ndarray]] = {}
        for c, d, name in zip(coarse, y, classes or [None] * len(coarse)):
            if c is not None and d:
                by_class.setdefault(name or "unclassified", []).append(c)
        patterns = {name: [p for p in (pattern(m) for m in ms) if p is not None] for name, ms in by_class.items()}
        out["class_patterns"] = {name: np.round(np.mean(ps, axis=0), 4).tolist() for name, ps in patterns.items() if ps}
    return out


def differs(card: dict[str, Any], ref: dict[str, Any]) -> bool:
    """Whether ``ref`` says something the card's block does not (the evaluation time aside)."""
    old = {k: v for k, v in (card.get(KEY) or {}).items() if k != "evaluated"}
    return old != {k: v for k, v in ref.items() if k != "evaluated"}


def save(folder: Any, ref: dict[str, Any]) -> bool:
    """Write ``ref`` into the card in ``folder`` when it changed; True when written."""
    from studio.project import model_card

    card = model_card.load(folder)
    if not differs(card, ref):
        return False
    card[KEY] = ref
    model_card.write(folder, card)
    return True
