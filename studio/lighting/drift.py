"""The station's lighting watch: cheap measures on every Nth frame, compared with the baseline.

``cheap_measures(image, roi)`` works on the region of interest scaled to at
most ``WORK_WIDTH`` pixels wide (a few milliseconds even for 5 MP frames):
mean level, share of clipped-white pixels and the sharpness score. The
audit stores the same measures in its summary (``summary["cheap"]``), so a
saved baseline carries the band the station holds the lighting to.

``LightingWatch(...)`` is the per-frame callable the station calls; it
measures every ``every_n``-th frame, takes the median of the last
``window`` measurements (one reflective part is not a lighting problem),
and raises one alert when the lighting leaves the band and one when it is
back (key ``"lighting"``).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any, Callable

import cv2
import numpy as np

from studio.lighting import measures as M

log = logging.getLogger(__name__)
WORK_WIDTH = 640


def cheap_measures(image: np.ndarray, roi: list[int] | None = None, clip_high: float = 253) -> dict[str, float]:
    region = M.crop(image, roi)
    h, w = region.shape[:2]
    if w > WORK_WIDTH:
        region = cv2.resize(region, (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))), interpolation=cv2.INTER_AREA)
    gray = M.to_gray(region)
    peak = M.brightest(region)
    return {"mean": float(gray.mean()), "clipped_bright": float((peak >= clip_high).mean()),
            "sharpness": M.sharpness_score(gray)}


def cheap_summary(images: list[np.ndarray], roi: list[int] | None, clip_high: float = 253) -> dict[str, float]:
    per = [cheap_measures(im, roi, clip_high) for im in images]
    return {k: round(float(np.median([p[k] for p in per])), 5) for k in per[0]}


class LightingWatch:
    def __init__(self, reference: dict[str, float], limits: dict[str, float], *, roi: list[int] | None = None,
                 alert: Callable[..., None] = lambda *a, **k: None, clip_high: float = 253):
        self.reference = reference
        self.every_n = max(1, int(limits.get("every_n", 5)))
        self.band_pct = float(limits.get("level_band_pct", 15.0))
        self.sharp_min = float(limits.get("sharpness_ratio_min", 0.8))
        self.clipped_max = float(limits.get("clipped_bright_max", 0.02))
        self.roi, self.alert, self.clip_high = roi, alert, clip_high
        self.window: deque[dict[str, float]] = deque(maxlen=max(1, int(limits.get("window", 8))))
        self.frames = 0
        self.measured = 0
        self.alerts = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> list[str] | None:
        """Look at one frame (the station's inference thread); the current problems when measured."""
        self.frames += 1
        if (self.frames - 1) % self.every_n:
            return None
        try:
            m = cheap_measures(image, self.roi, self.clip_high)
        except Exception as e:    # a measuring bug must never stop inspection
            log.warning("lighting watch could not measure a frame: %s", e)
            return None
        with self._lock:
            self.measured += 1
            self.window.append(m)
            if len(self.window) < min(3, self.window.maxlen or 1):
                return []
            now = self.judge({k: float(np.median([w[k] for w in self.window])) for k in m})
            was, self.problems = self.problems, now
        # alert when the kind of problem changes, not each time its figure moves a little
        if now and {p.split(" ")[0] for p in now} != {p.split(" ")[0] for p in was}:
            self.alerts += 1
            log.warning("lighting drift: %s", "; ".join(now))
            self.alert("lighting drift: " + "; ".join(now), "warning")
        elif was and not now:
            log.warning("lighting is back within the baseline's band")
            self.alert("lighting is back within the baseline's band", "info")
        return now

    def judge(self, m: dict[str, float]) -> list[str]:
        ref, out = self.reference, []
        level = ref.get("mean") or 0.0
        if level > 0:
            change = (m["mean"] / level - 1) * 100
            if abs(change) > self.band_pct:
                out.append(f"brightness {change:+.0f}% from the baseline (band ±{self.band_pct:g}%): "
                           + ("a lamp failing or dimmed, or a dirty lens" if change < 0
                              else "ambient light or a lamp turned up; check the enclosure"))
        if ref.get("sharpness") and m["sharpness"] < self.sharp_min * ref["sharpness"]:
            out.append(f"image sharpness {m['sharpness'] / ref['sharpness'] * 100:.0f}% of the baseline: "
                       "check the focus, the lens and the working distance")
        if m["clipped_bright"] > max(self.clipped_max, 2 * ref.get("clipped_bright", 0.0)):
            out.append(f"clipped white on {m['clipped_bright'] * 100:.1f}% of the pixels: glare or over-exposure")
        return out

    def state(self) -> dict[str, Any]:
        with self._lock:
            latest = self.window[-1] if self.window else None
            return {"ok": not self.problems, "problems": list(self.problems), "frames": self.frames,
                    "measured": self.measured, "alerts": self.alerts, "latest": latest}


def watch_for(project: Any, alert: Callable[..., None]) -> LightingWatch | None:
    """The watch for a project's station: None when there is no baseline to compare with."""
    from studio.lighting import limits as L
    from studio.lighting import store

    try:
        base = store.load_baseline(project)
        limits = L.load(project)
    except Exception as e:       # a broken baseline file must not stop the station
        log.warning("no lighting watch: %s", e)
        alert(f"no lighting watch: {getattr(e, 'message', e)} ({getattr(e, 'file', None) or 'baseline'})",
              "warning")        # ... nor switch the watch off in silence
        return None
    cheap = (base or {}).get("summary", {}).get("cheap")
    if not cheap:
        return None
    return LightingWatch(cheap, limits["drift"], roi=base.get("roi"), alert=alert,
                         clip_high=limits["exposure"]["clip_high"])
