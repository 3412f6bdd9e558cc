"""The lighting audit: grab N frames, measure, judge, say what to do.

``audit_frames`` works on images already in hand (the core, used by tests,
the CLI, the GUI); ``audit_camera`` grabs them first. Both return an
``Audit``: ``to_dict()`` is the JSON the CLI prints and the report keeps
(``{"verdict", "checks": [{"name", "value", "limit", "passed", "advice", ...}]}``);
``pictures`` holds the arrays the report draws (frame, histogram, field).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from studio.core.errors import CameraError, StudioError
from studio.core.task import TaskContext, null_task
from studio.lighting import checks as C
from studio.lighting import measures as M
from studio.lighting.drift import cheap_summary
from studio.lighting.limits import defaults


@dataclass
class Audit:
    checks: list[C.Check]
    frames: int
    roi: list[int] | None
    source: str = ""
    time: float = field(default_factory=time.time)
    baseline_id: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)    # the numbers a baseline keeps
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    audit_id: str | None = None

    @property
    def verdict(self) -> str:
        return "fail" if any(c.passed is False for c in self.checks) else "pass"

    def check(self, name: str) -> C.Check:
        return next(c for c in self.checks if c.name == name)

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "checks": [c.to_dict() for c in self.checks],
                "audit_id": self.audit_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.time)),
                "source": self.source, "frames": self.frames, "roi": self.roi,
                "baseline_id": self.baseline_id, "summary": self.summary}


MIN_PER_CLASS = 2      # a class with a single example says little about the lighting


def _defect_contrast(grays: list[np.ndarray], masks: Sequence[np.ndarray | None],
                     classes: Sequence[str | None], examples: Sequence[tuple[np.ndarray, np.ndarray, str | None]],
                     roi: list[int] | None) -> dict | None:
    """Median over defect classes of each class's median CNR (a class that no lighting
    shows, e.g. a missing feature, does not outvote the rest)."""
    by_class: dict[str, list[float]] = {}
    for gray, mask, cls in zip(grays, masks, classes):
        if mask is not None and mask.any():
            v = M.defect_cnr(gray, M.crop(mask, roi))
            if v is not None:
                by_class.setdefault(cls or "defect", []).append(v)
    source = "audit frames"
    if not by_class:
        for image, mask, cls in examples:
            if image.shape[:2] != mask.shape[:2]:
                continue
            v = M.defect_cnr(M.to_gray(M.crop(image, roi)), M.crop(mask, roi))
            if v is not None:
                by_class.setdefault(cls or "defect", []).append(v)
        source = "labelled project images"
    if not by_class:
        return None
    per_class = {c: round(float(np.median(v)), 3) for c, v in sorted(by_class.items())}
    counts = {c: len(v) for c, v in sorted(by_class.items())}
    judged = [per_class[c] for c in per_class if counts[c] >= MIN_PER_CLASS]
    return {"cnr": round(float(np.median(judged if judged else list(per_class.values()))), 3),
            "per_class": per_class, "per_class_examples": counts, "judged_classes": len(judged),
            "examples": sum(counts.values()), "source": source}


def measure_frame(gray: np.ndarray, peak: np.ndarray, lim: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The per-frame audit measures (what the audit costs per frame; the field is fitted once)."""
    ex = lim["exposure"]
    clip = M.clipping(peak, ex["clip_high"])
    over = M.overexposed(clip, lim["glare"])
    # an over-exposed scene's clipped area is the exposure check's, all of it; glare is for hot spots
    spots = np.zeros(peak.shape, bool) if over else M.hot_spots(peak, ex["clip_high"], lim["glare"]["max_blob_share"])
    expo = M.exposure(gray, peak, ex["clip_low"], ex["clip_high"], spots)
    expo.update(clipped_spread=clip["spread"], scene_top=clip["scene_top"], overexposed=float(over))
    return {"exposure": expo,
            "glare_pct": float(spots.mean() * 100), "sharp": M.sharpness(gray),
            "spatial_noise": M.spatial_noise(gray), "spots": spots}


def audit_frames(images: Sequence[np.ndarray], *, masks: Sequence[np.ndarray | None] | None = None,
                 classes: Sequence[str | None] | None = None,
                 limits: dict[str, dict[str, float]] | None = None, baseline: dict[str, Any] | None = None,
                 roi: list[int] | None = None, examples: Sequence[tuple[np.ndarray, np.ndarray, str | None]] = (),
                 source: str = "", task: TaskContext | None = None) -> Audit:
    """Audit ``images`` (uint8 HxW or HxWx3 RGB, one scene over time)."""
    task = task or null_task()
    if not images:
        raise StudioError("no frames to audit", hint="grab at least one frame (3 or more to judge stability)")
    lim = limits or defaults()
    ex = lim["exposure"]
    masks = list(masks) if masks is not None else [None] * len(images)
    classes = list(classes) if classes is not None else [None] * len(images)
    grays, peaks = [], []
    for image in images:
        cropped = M.crop(image, roi)
        grays.append(M.to_gray(cropped))
        peaks.append(M.brightest(cropped).astype(np.float32))
    per_frame: list[dict[str, Any]] = []
    glare_union = np.zeros(grays[0].shape, bool)
    clipped_union = np.zeros(grays[0].shape, bool)
    for i, (gray, peak) in enumerate(zip(grays, peaks)):
        task.check()
        m = measure_frame(gray, peak, lim)
        spots = m.pop("spots")
        if spots.shape == glare_union.shape:
            glare_union |= spots
            clipped_union |= peak >= ex["clip_high"]
        per_frame.append(m)
        task.progress(0.8 * (i + 1) / len(images))

    def med(get) -> float:
        return float(np.median([get(f) for f in per_frame]))

    exposure = {k: med(lambda f, k=k: f["exposure"][k]) for k in per_frame[0]["exposure"]}
    glare = {"area_pct": med(lambda f: f["glare_pct"]), "frames_with_spots": sum(f["glare_pct"] > 0 for f in per_frame)}
    sharp = {k: med(lambda f, k=k: f["sharp"][k]) for k in per_frame[0]["sharp"]}
    same_size = all(g.shape == grays[0].shape for g in grays)
    mean_gray = np.mean(grays, axis=0) if same_size else grays[0]
    task.status("fitting the illumination field")
    field_map, uniformity = M.illumination_field(mean_gray, exclude=clipped_union if same_size else None)
    spatial = med(lambda f: f["spatial_noise"])
    temporal = M.temporal_noise(grays, ex["clip_low"], ex["clip_high"]) if same_size else None
    # A still scene: the frames differ by noise only. If the part moved (or there was one frame),
    # only the spatial estimate is left, an upper bound that also counts fine texture.
    still = temporal is not None and not M.scene_moved(grays)
    sigma = min(spatial, temporal) if still else spatial
    noise = {"sigma": round(sigma, 3), "temporal": None if temporal is None else round(temporal, 3),
             "spatial": round(spatial, 3), "method": "temporal" if still else "spatial"}
    means = [float(g.mean()) for g in grays]
    stab = M.stability(means)
    contrast = _defect_contrast(grays, masks, classes, examples, roi)
    task.progress(0.95)

    checks = [C.judge_exposure(exposure, ex), C.judge_uniformity(uniformity, lim["uniformity"]),
              C.judge_focus(sharp, lim["focus"], baseline), C.judge_noise(noise, lim["noise"]),
              C.judge_stability(stab, lim["stability"]), C.judge_glare(glare, lim["glare"]),
              C.judge_defect_contrast(contrast, lim["defect_contrast"])]
    summary = {"mean": round(exposure["mean"], 3), "clipped_bright": round(exposure["clipped_bright"], 5),
               "focus": round(sharp["score"], 4), "tenengrad": round(sharp["tenengrad"], 5),
               "noise": noise["sigma"], "uniformity": round(uniformity["uniformity"], 4),
               "glare_pct": round(glare["area_pct"], 4),
               "cheap": cheap_summary(list(images), roi, ex["clip_high"])}   # the station's drift band
    hist = np.sum([M.histogram(g) for g in grays], axis=0)
    pictures = {"frame": M.crop(images[0], roi), "histogram": hist, "field": field_map,
                "hot_spots": glare_union, "clipped": clipped_union}
    if baseline and baseline.get("mean"):
        for c in checks:
            if c.name in ("exposure", "noise", "uniformity", "glare") and c.baseline is None:
                c.baseline = baseline.get({"exposure": "mean", "glare": "glare_pct"}.get(c.name, c.name))
    task.progress(1.0)
    return Audit(checks, len(images), list(roi) if roi else None, source,
                 baseline_id=(baseline or {}).get("audit_id"), summary=summary, pictures=pictures)


def grab_frames(camera: Any, count: int, task: TaskContext | None = None,
                ) -> tuple[list[np.ndarray], list[np.ndarray | None], list[str | None]]:
    """``count`` frames and, where the camera knows them (simulator), each frame's defect mask and class."""
    task = task or null_task()
    if count < 1:
        raise StudioError(f"cannot audit {count} frames", hint="use --frames 1 or more (10 is a good default)")
    images, masks, classes = [], [], []
    task.status(f"grabbing {count} frame{'s' if count != 1 else ''}")
    truth = getattr(camera, "last_mask", None)
    for i in range(count):
        task.check()
        try:
            frame = camera.grab()
        except CameraError:
            if images:
                break          # a replayed folder or a camera that stopped: audit what arrived
            raise
        images.append(frame.image)
        masks.append(truth() if truth is not None else None)
        classes.append((frame.meta.get("truth") or {}).get("defect"))
        task.progress(0.5 * (i + 1) / count)
    return images, masks, classes
