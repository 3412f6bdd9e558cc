"""What the lighting audit measures, on gray images of the region of interest.

Pure numpy/OpenCV functions, no judging: ``studio.lighting.checks`` compares
these numbers with the limits. Gray levels are 8-bit (0..255) throughout.

- exposure: mean level, shares of pixels clipped at the dark and bright end
  (bright clipping inside specular hot spots is counted by glare instead);
- hot spots (glare): saturated blobs, small against the field, surrounded by
  clearly darker pixels, on a scene that is otherwise well exposed: a clipped
  area that is large, spread over the view, or on a scene whose rest is near
  full scale is over-exposure (``clipping``, ``overexposed``), never glare;
- illumination field (uniformity): a smooth quadratic shading field fitted
  to a coarse log image jointly with a few reflectance levels (the part and
  its background are different materials; the field is what is left), the
  way bias-field correction works in medical imaging;
- sharpness: a no-reference blur index (Crete et al. 2007: how much of the
  fine variation a re-blur removes; content- and gain-independent), plus
  Tenengrad and variance of Laplacian for reference;
- noise: temporal (per-pixel spread over the frames, gain-normalised) and
  spatial (Immerkaer's operator, median form); the smaller one is the best
  upper bound of the sensor noise, as either is inflated by scene content;
- stability: frame-to-frame fluctuation and slow drift of the mean level;
- defect contrast: contrast-to-noise of a defect mask against a ring round it.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

FIELD_SIZE = (64, 48)      # coarse grid the illumination field is fitted on
FIELD_LEVELS = 4           # reflectance levels the scene is modelled with


def to_gray(image: np.ndarray) -> np.ndarray:
    """float32 HxW gray of an HxW or HxWx3 RGB uint8 frame."""
    if image.ndim == 3:
        if image.shape[2] == 1:
            return image[..., 0].astype(np.float32)
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return image.astype(np.float32)


def brightest(image: np.ndarray) -> np.ndarray:
    """Per-pixel largest channel (clipping in any channel is clipping); OpenCV, 20x numpy's max(axis=2)."""
    if image.ndim == 2:
        return image
    channels = cv2.split(np.ascontiguousarray(image))
    out = cv2.max(channels[0], channels[1])
    return cv2.max(out, channels[2]) if len(channels) > 2 else out


def histogram(gray: np.ndarray) -> np.ndarray:
    """256-bin histogram of 8-bit gray levels (int64)."""
    g8 = gray if gray.dtype == np.uint8 else np.clip(gray, 0, 255).astype(np.uint8)
    return cv2.calcHist([g8], [0], None, [256], [0, 256]).ravel().astype(np.int64)


def percentile_of(hist: np.ndarray, q: float) -> float:
    cum = np.cumsum(hist)
    return float(np.searchsorted(cum, q / 100 * cum[-1]))


def crop(image: np.ndarray, roi: list[int] | None) -> np.ndarray:
    if not roi:
        return image
    x, y, w, h = (int(v) for v in roi)
    out = image[y:y + h, x:x + w]
    return out if out.size else image


# ---- glare ------------------------------------------------------------------

def hot_spots(peak: np.ndarray, clip_high: float, max_blob_share: float = 0.10,
              ring_drop: float = 0.9) -> np.ndarray:
    """bool mask of specular hot spots: saturated blobs smaller than ``max_blob_share``
    of the field whose surrounding ring (as wide as half the blob) is darker than
    ``ring_drop * clip_high``.

    Large saturated areas and bands across the whole field are over-exposure
    (the exposure check's business); speckle in a nearly saturated area has a
    bright ring and is not glare either.
    """
    sat = (peak >= clip_high).astype(np.uint8)
    if not sat.any():
        return np.zeros(peak.shape, bool)
    h, w = peak.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(sat, connectivity=8)
    out = np.zeros(peak.shape, bool)
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area > max_blob_share * h * w or bw >= w or bh >= h:
            continue
        ring_px = max(2, int(0.5 * np.sqrt(area)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
        x0, y0 = max(0, x - ring_px - 1), max(0, y - ring_px - 1)
        x1, y1 = min(w, x + bw + ring_px + 1), min(h, y + bh + ring_px + 1)
        blob = (labels[y0:y1, x0:x1] == i).astype(np.uint8)
        ring = cv2.dilate(blob, kernel).astype(bool) & ~blob.astype(bool)
        if ring.any() and np.median(peak[y0:y1, x0:x1][ring]) < ring_drop * clip_high:
            out[y0:y1, x0:x1] |= blob.astype(bool)
    return out


CLIP_GRID = (8, 6)          # cells the spread of the clipped area is counted on
CLIP_CELL_MIN_PX = 5        # saturated pixels that make a cell count as clipped


def clipping(peak: np.ndarray, clip_high: float) -> dict[str, float]:
    """Size and spread of the clipped-white area, and the headroom of the rest of the scene.

    ``share``: clipped pixels / all; ``spread``: share of the ``CLIP_GRID`` cells holding
    clipped pixels; ``scene_top``: 99th percentile of the pixels away (7 px) from any clipped
    pixel, as a share of ``clip_high``. Specular glare is a few compact spots on a scene with
    headroom; over-exposure clips all over the view and leaves the rest near full scale.
    """
    sat = (peak >= clip_high).astype(np.uint8)
    n = int(sat.sum())
    if not n:
        return {"share": 0.0, "spread": 0.0, "scene_top": float(np.percentile(peak[::2, ::2], 99)) / clip_high}
    gw, gh = CLIP_GRID
    per_cell = cv2.resize(sat.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA) * (sat.size / (gw * gh))
    away = cv2.dilate(sat, np.ones((15, 15), np.uint8)) == 0
    rest = peak[away]
    top = float(np.percentile(rest, 99)) if rest.size > 100 else float(clip_high)
    return {"share": n / sat.size, "spread": float((per_cell >= CLIP_CELL_MIN_PX).mean()), "scene_top": top / clip_high}


def overexposed(clip: dict[str, float], glare_limits: dict[str, float]) -> bool:
    """Whether the clipped area is over-exposure (the exposure check's) rather than glare."""
    if clip["share"] <= 0:
        return False
    return (clip["share"] > glare_limits.get("total_share_max", 0.10)
            or clip["spread"] > glare_limits.get("spread_max", 0.2)
            or clip["scene_top"] >= glare_limits.get("scene_top_max", 0.9))


def exposure(gray: np.ndarray, peak: np.ndarray, clip_low: float, clip_high: float,
             glare: np.ndarray | None = None) -> dict[str, float]:
    hist = histogram(gray)
    n = max(1, int(hist.sum()))
    bright = int(np.count_nonzero(peak >= clip_high))
    if glare is not None and bright:
        bright -= int(np.count_nonzero(glare))        # glare pixels are all saturated
    return {"mean": float(hist @ np.arange(256) / n), "clipped_dark": float(hist[:int(clip_low) + 1].sum() / n),
            "clipped_bright": max(0, bright) / n, "p01": percentile_of(hist, 1), "p99": percentile_of(hist, 99)}


# ---- uniformity ---------------------------------------------------------------

def _basis(w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x = ((xx + 0.5) / w * 2 - 1).ravel()
    y = ((yy + 0.5) / h * 2 - 1).ravel()
    return np.stack([x, y, x * x, y * y, x * y], 1)


def illumination_field(gray: np.ndarray, exclude: np.ndarray | None = None,
                       iterations: int = 12) -> tuple[np.ndarray, dict[str, Any]]:
    """(field HxW on FIELD_SIZE normalised to max 1, measures).

    log I = log L(x, y) + log R: L is quadratic in x, y; R takes one of a few
    levels (robustly re-estimated each round). Cells holding excluded
    (clipped) pixels are left out: they do not show the light's level.
    """
    w, h = FIELD_SIZE
    small = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
    lg = np.log(np.maximum(small, 2.0)).ravel().astype(np.float64)
    keep = np.ones(lg.shape, bool)
    if exclude is not None and exclude.any():
        keep = cv2.resize(exclude.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA).ravel() < 0.01
    if keep.sum() < 0.25 * keep.size:
        keep[:] = True
    basis = _basis(w, h)
    design = np.concatenate([basis, np.ones((basis.shape[0], 1))], 1)
    p = np.zeros(5)
    levels = np.percentile(lg[keep], np.linspace(10, 90, FIELD_LEVELS))
    for _ in range(iterations):
        r = lg - basis @ p
        label = np.argmin(np.abs(r[:, None] - levels[None, :]), 1)
        for k in range(FIELD_LEVELS):
            members = keep & (label == k)
            if members.any():
                levels[k] = np.median(r[members])
        target = lg - levels[label]
        res = target - basis @ p
        res = res - np.median(res[keep])
        spread = 1.4826 * np.median(np.abs(res[keep])) + 1e-6
        weight = keep / np.maximum(1.0, np.abs(res) / (2 * spread))
        q, *_ = np.linalg.lstsq(design * weight[:, None], target * weight, rcond=None)
        p = q[:5]
        levels = levels + q[5]
    log_field = (basis @ p).reshape(h, w)
    field = np.exp(log_field - log_field.max()).astype(np.float32)
    return field, {"uniformity": float(field.min()), "darkest": darkest_side(field),
                   "coefficients": [round(float(c), 4) for c in p]}


def darkest_side(field: np.ndarray) -> str:
    """Where the field is darkest, in words: 'right side', 'corners', ..."""
    h, w = field.shape
    third_h, third_w = max(1, h // 3), max(1, w // 3)
    sides = {"left side": field[:, :third_w].mean(), "right side": field[:, -third_w:].mean(),
             "top": field[:third_h].mean(), "bottom": field[-third_h:].mean()}
    corners = np.mean([field[:third_h, :third_w].mean(), field[:third_h, -third_w:].mean(),
                       field[-third_h:, :third_w].mean(), field[-third_h:, -third_w:].mean()])
    spread = max(sides.values()) - min(sides.values())
    centre = field[third_h:-third_h or None, third_w:-third_w or None].mean()
    if centre - corners > 1.5 * spread:
        return "corners"                    # radial fall-off: vignetting or a too-small light
    return min(sides, key=sides.get)


# ---- sharpness -----------------------------------------------------------------

def sharpness_score(gray: np.ndarray, k: int = 9) -> float:
    """1 - the re-blur index: 1 sharp .. 0 smeared (largely independent of content and gain)."""
    index = 0.0
    for axis, ksize in ((1, (k, 1)), (0, (1, k))):
        blurred = cv2.blur(gray, ksize)
        d_f = np.abs(np.diff(gray, axis=axis))
        d_b = np.abs(np.diff(blurred, axis=axis))
        total = float(d_f.sum())
        lost = float(np.maximum(0.0, d_f - d_b).sum())
        index = max(index, 1.0 - lost / total if total > 0 else 1.0)
    return 1.0 - index


DETAIL_PRE_SIGMA = 1.0     # px: the light pre-smoothing that takes sensor noise out of the detail score
DETAIL_REBLUR = 15         # px: the re-blur the detail score compares with
DETAIL_CORING = 3.0        # differences below this many (smoothed) noise sigmas are noise, not detail


def detail_score(gray: np.ndarray, noise_sigma: float | None = None) -> float:
    """Noise-proof sharpness 0..1 for the absolute focus limit (a new station has no baseline).

    The re-blur index of ``sharpness_score`` takes sensor noise for fine detail (a camera
    defocused by a Gaussian of 5 px scores *higher* than in focus once noise of 2 gray
    levels is added). Here the frame is first smoothed lightly (sigma 1 px) and pixel
    differences smaller than 3 noise sigmas are cored away before the re-blur comparison,
    so only real edges count. ``noise_sigma`` defaults to the frame's spatial estimate.
    Measured on real images across blur strengths: ``benchmarks/focus_detection.py``.
    """
    sn = spatial_noise(gray) if noise_sigma is None else float(noise_sigma)
    g = cv2.GaussianBlur(gray, (0, 0), DETAIL_PRE_SIGMA)
    t = DETAIL_CORING * sn / (2 * np.sqrt(np.pi) * DETAIL_PRE_SIGMA)   # noise sigma after the smoothing
    k = DETAIL_REBLUR
    index = 0.0
    for axis, ksize in ((1, (k, 1)), (0, (1, k))):
        d_f = np.maximum(0.0, np.abs(np.diff(g, axis=axis)) - t)
        d_b = np.maximum(0.0, np.abs(np.diff(cv2.blur(g, ksize), axis=axis)) - t / np.sqrt(k))
        total = float(d_f.sum())
        lost = float(np.maximum(0.0, d_f - d_b).sum())
        index = max(index, 1.0 - lost / total if total > 0 else 1.0)
    return 1.0 - index


def sharpness(gray: np.ndarray) -> dict[str, float]:
    """``score`` (``sharpness_score``, what a baseline keeps), ``detail`` (``detail_score``, the
    noise-proof one the absolute limit judges), Tenengrad and Laplacian variance (the last two
    divided by the squared mean level, so exposure does not change them)."""
    g = gray
    mean2 = max(float(g.mean()) ** 2, 1.0)
    sx = cv2.Sobel(g, cv2.CV_32F, 1, 0)
    sy = cv2.Sobel(g, cv2.CV_32F, 0, 1)
    lap = cv2.Laplacian(g, cv2.CV_32F)
    return {"score": sharpness_score(g), "detail": detail_score(g),
            "tenengrad": float(np.mean(sx * sx + sy * sy)) / mean2, "laplacian_var": float(lap.var()) / mean2}


# ---- noise -----------------------------------------------------------------------

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def spatial_noise(gray: np.ndarray) -> float:
    """Immerkaer's estimate (robust, median form): sigma of white noise in gray levels."""
    c = cv2.filter2D(gray, cv2.CV_32F, _IMMERKAER)[1:-1, 1:-1]
    step = max(1, int(np.sqrt(c.size / 250_000)))        # a median of 250k samples is as good as all
    return float(1.4826 * np.median(np.abs(c[::step, ::step])) / 6.0)


def temporal_noise(grays: list[np.ndarray], clip_low: float, clip_high: float) -> float | None:
    """Median over pixels of the spread over frames, after scaling each frame to the
    sequence's mean level (flicker is the stability check's business)."""
    if len(grays) < 2 or any(g.shape != grays[0].shape for g in grays):
        return None
    means = np.array([max(float(g.mean()), 1e-3) for g in grays])
    target = means.mean()
    step = max(1, int(np.sqrt(grays[0].size / 250_000)))  # pixels enough for a median
    stack = np.stack([g[::step, ::step] * (target / m) for g, m in zip(grays, means)])
    valid = ((stack > clip_low) & (stack < clip_high)).all(axis=0)
    if valid.sum() < 100:
        return None
    return float(np.median(stack.std(axis=0, ddof=1)[valid]))


def scene_moved(grays: list[np.ndarray], max_pairs: int = 4) -> bool:
    """Whether the scene shifted between consecutive frames (phase correlation, on copies at
    most 512 px wide): a moving part makes temporal spread useless as a noise measure."""
    if len(grays) < 2 or any(g.shape != grays[0].shape for g in grays):
        return True
    h, w = grays[0].shape
    f = max(1, -(-w // 512))
    small = [cv2.resize(g, (w // f, h // f), interpolation=cv2.INTER_AREA) if f > 1 else g for g in grays]
    # smoothed first: phase correlation whitens the spectrum, and sensor noise would drown the peak
    small = [cv2.GaussianBlur(g.astype(np.float32), (0, 0), 2.0) for g in small]
    window = cv2.createHanningWindow(small[0].shape[::-1], cv2.CV_32F)
    for a, b in list(zip(small, small[1:]))[:max_pairs]:
        (dx, dy), response = cv2.phaseCorrelate(a, b, window)
        if response > 0.3 and np.hypot(dx, dy) * f > 0.5:      # a clear peak, away from zero shift
            return True
    return False


# ---- stability -------------------------------------------------------------------

def stability(means: list[float]) -> dict[str, float] | None:
    """Frame-to-frame fluctuation and slow drift of the mean level, in % of the level."""
    if len(means) < 3:
        return None
    m = np.asarray(means, np.float64)
    level = max(float(m.mean()), 1e-3)
    flicker = float(np.std(np.diff(m), ddof=1) / np.sqrt(2) / level * 100)
    t = np.arange(len(m), dtype=np.float64)
    slope = float(np.polyfit(t, m, 1)[0])
    drift = abs(slope) * (len(m) - 1) / level * 100
    return {"flicker_pct": flicker, "drift_pct": float(drift), "min": float(m.min()), "max": float(m.max())}


# ---- defect contrast ----------------------------------------------------------------

def defect_cnr(gray: np.ndarray, mask: np.ndarray, ring_px: int | None = None) -> float | None:
    """Contrast-to-noise of a defect against the ring of surface round it.

    Contrast: how far the defect's strongest tenth departs from the ring's
    median, beyond how far the ring's own strongest tenth does (texture);
    noise: the ring's robust spread. Works for dark, bright and two-sided
    (shaded dent) defects alike.
    """
    m = mask.astype(bool)
    if m.sum() < 4:
        return None
    ring_px = ring_px or max(4, int(0.015 * min(gray.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
    ring = cv2.dilate(m.astype(np.uint8), kernel).astype(bool) & ~m
    if ring.sum() < 8:
        return None
    background = gray[ring]
    centre = float(np.median(background))
    spread = 1.4826 * float(np.median(np.abs(background - centre))) + 0.5     # +0.5: quantisation floor
    # the surface's own strongest tenth, from its robust spread (1.645 sigma): a ring that crosses a
    # hole, an edge or the belt must not count that structure as texture the defect has to beat
    texture = min(float(np.percentile(np.abs(background - centre), 90)), 1.645 * spread)
    contrast = float(np.percentile(np.abs(gray[m] - centre), 90) - texture)
    return max(0.0, contrast / spread)
