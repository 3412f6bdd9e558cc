"""The simulated scene: a machined steel bracket on a conveyor belt.

Everything expensive (brushed texture, bevel and hole shading, belt) is
rendered once per image size into "canonical" maps with the part centred.
A frame then paints its defect into a copy of the part, and one
``warpAffine`` moves part, alpha, shadow and defect map together by the
part's small pose jitter. Values are linear gray levels (0..255 at
exposure 1); lighting, colour and sensor noise are applied by ``sim``.

Light comes from the top left, so bevels and chamfers facing it are bright
and a dent shows a dark crescent on that side.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

DEFECTS = ("scratch", "dent", "stain", "missing_hole")
LIGHT = np.array([-0.7071, -0.7071], np.float32)     # image-plane direction towards the lamp
FACE_LEVEL = 160.0                                    # gray of the machined face at exposure 1
BELT_LEVEL = 52.0
BELT_PERIOD = 64                                      # px the belt texture repeats over while moving


@dataclass
class Geometry:
    cx: float
    cy: float
    half_w: float
    half_h: float
    corner: float
    holes: list[tuple[float, float]]      # the four mounting holes
    hole_r: float
    bore_r: float


@dataclass
class Scene:
    width: int
    height: int
    geo: Geometry
    layers: np.ndarray      # HxWx4 float32: part gray, alpha, shadow, defect (0) in canonical pose
    blank: np.ndarray       # HxW float32: the part as if no hole were drilled
    belt: np.ndarray        # H x (W + BELT_PERIOD) float32
    ramp: np.ndarray        # HxW float32: 0 at the left edge .. 1 at the right
    hotspot: np.ndarray     # HxW float32: specular spot shape, peak 1
    noise: np.ndarray       # flat float32 bank of unit sensor noise, sliced per frame


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], ksize: tuple[int, int]) -> np.ndarray:
    n = cv2.blur(rng.standard_normal(shape).astype(np.float32), ksize)
    return n / (n.std() + 1e-6)


def _rounded_rect_sdf(x: np.ndarray, y: np.ndarray, g: Geometry) -> np.ndarray:
    qx = np.abs(x - g.cx) - (g.half_w - g.corner)
    qy = np.abs(y - g.cy) - (g.half_h - g.corner)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0) - g.corner


def _drill(img: np.ndarray, x: np.ndarray, y: np.ndarray, hx: float, hy: float, r: float,
           chamfer: float) -> None:
    """A drilled hole: bright/dark chamfer ring facing the lamp, dark bore with a lit far wall."""
    dx, dy = x - hx, y - hy
    rr = np.hypot(dx, dy) + 1e-6
    toward = (dx * LIGHT[0] + dy * LIGHT[1]) / rr          # +1 on the side nearest the lamp
    outer = np.clip(r - rr + 0.5, 0, 1)
    inner = np.clip(r - chamfer - rr + 0.5, 0, 1)
    ring = FACE_LEVEL - 70 * toward                          # chamfer faces away from the lamp's side
    bore = 22 + 30 * np.clip(-toward, 0, 1) * np.clip(rr / max(r - chamfer, 1), 0, 1)
    img *= 1 - outer
    img += ring * (outer - inner) + bore * inner


@functools.lru_cache(maxsize=4)
def build_scene(width: int, height: int) -> Scene:
    """Canonical maps for one image size (cached: sim cameras of a size share them)."""
    s = min(width / 400, height / 300)
    rng = np.random.default_rng(20240611)           # fixed: the same bracket design every run
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    half_w, half_h = 0.32 * width, 0.29 * height
    cx, cy = width / 2, height / 2
    ix, iy = half_w * 0.80, half_h * 0.70
    geo = Geometry(cx, cy, half_w, half_h, corner=max(3.0, 9 * s),
                   holes=[(cx - ix, cy - iy), (cx + ix, cy - iy), (cx - ix, cy + iy), (cx + ix, cy + iy)],
                   hole_r=max(3.0, 8 * s), bore_r=max(6.0, 24 * s))

    # Brushed face: long horizontal streaks, a few broad bands, fine grain.
    face = (FACE_LEVEL + 7 * _smooth_noise(rng, (height, width), (max(9, int(51 * s)), 1))
            + 4 * _smooth_noise(rng, (height, 1), (1, 5)) + 1.5 * rng.standard_normal((height, width)))
    face = face.astype(np.float32)
    # Bevel: a 4 px chamfer round the outline, shaded by its outward normal.
    sdf = _rounded_rect_sdf(x, y, geo)
    gy, gx = np.gradient(sdf)
    norm = np.hypot(gx, gy) + 1e-6
    facing = (gx * LIGHT[0] + gy * LIGHT[1]) / norm
    bevel = np.clip(1 + sdf / max(2.0, 4 * s), 0, 1) * (sdf < 0)
    face += (55 * facing * bevel).astype(np.float32)
    blank = face.copy()
    part = face.copy()
    for hx, hy in geo.holes:
        _drill(part, x, y, hx, hy, geo.hole_r, max(1.5, 2 * s))
    _drill(part, x, y, cx, cy, geo.bore_r, max(2.0, 3 * s))

    alpha = np.clip(0.5 - sdf, 0, 1).astype(np.float32)
    shadow = cv2.GaussianBlur(alpha, (0, 0), max(1.5, 5 * s))
    shadow = np.roll(shadow, (int(4 * s) + 1, int(3 * s) + 1), axis=(0, 1))   # lamp at top left
    layers = np.dstack([part, alpha, shadow, np.zeros_like(alpha)]).astype(np.float32)

    # Rubber belt: fine isotropic grain, faint lengthwise ribs, guide rails at top and bottom.
    bw = width + BELT_PERIOD
    by = np.arange(height, dtype=np.float32)[:, None]
    belt = (BELT_LEVEL + 5 * _smooth_noise(rng, (height, bw), (3, 3))
            + 3 * np.sin(by * 2 * math.pi / max(3, 7 * s)) + np.zeros((1, bw), np.float32))
    rail = max(2, int(0.05 * height))
    belt[:rail] = 105 + 25 * np.linspace(0, 1, rail, dtype=np.float32)[:, None]
    belt[-rail:] = 130 - 40 * np.linspace(0, 1, rail, dtype=np.float32)[:, None]

    ramp = np.broadcast_to(np.linspace(0, 1, width, dtype=np.float32), (height, width)).copy()
    spot_x, spot_y, spot_r = 0.62 * width, 0.36 * height, 0.10 * min(width, height)
    hotspot = np.exp(-((x - spot_x) ** 2 + (y - spot_y) ** 2) / (2 * spot_r ** 2)).astype(np.float32)
    noise = rng.standard_normal(2 * width * height * 3).astype(np.float32)
    return Scene(width, height, geo, layers, blank, belt.astype(np.float32), ramp, hotspot, noise)


# ---- defects: each paints into the canonical part and writes its strength (0..1) to soft ----

def _spot_on_face(rng: np.random.Generator, g: Geometry, margin: float) -> tuple[float, float]:
    """A point on the face at least ``margin`` from the outline, the holes and the bore."""
    for _ in range(50):
        px = rng.uniform(g.cx - g.half_w + margin, g.cx + g.half_w - margin)
        py = rng.uniform(g.cy - g.half_h + margin, g.cy + g.half_h - margin)
        clear = [math.hypot(px - hx, py - hy) > g.hole_r + margin for hx, hy in g.holes]
        if all(clear) and math.hypot(px - g.cx, py - g.cy) > g.bore_r + margin:
            return px, py
    return g.cx - g.half_w / 2, g.cy        # between the left holes and the bore: always clear


def _scratch(rng, sc: Scene, part: np.ndarray, soft: np.ndarray) -> None:
    g = sc.geo
    length = rng.uniform(0.10, 0.22) * 2 * g.half_w
    px, py = _spot_on_face(rng, g, length / 2 + 3)
    a = rng.uniform(0, math.pi)
    ux, uy = math.cos(a) * length / 2, math.sin(a) * length / 2
    bend = rng.uniform(-0.08, 0.08) * length           # tool marks are rarely perfectly straight
    pts = np.array([[px - ux, py - uy], [px - uy * bend / length * 2, py + ux * bend / length * 2],
                    [px + ux, py + uy]], np.float32)
    bright = np.zeros(part.shape, np.uint8)
    dark = np.zeros(part.shape, np.uint8)
    shift = np.array([math.sin(a), -math.cos(a)], np.float32)   # the groove's shadowed wall, 1 px aside
    cv2.polylines(bright, [np.round(pts * 4).astype(np.int32)], False, 255, 1, cv2.LINE_AA, shift=2)
    cv2.polylines(dark, [np.round((pts + shift) * 4).astype(np.int32)], False, 255, 1, cv2.LINE_AA, shift=2)
    part += (75 / 255) * bright.astype(np.float32) - (50 / 255) * dark.astype(np.float32)
    soft[...] = cv2.dilate(((bright > 0) | (dark > 0)).astype(np.uint8), np.ones((3, 3), np.uint8))


def _roi(cx: float, cy: float, r: float, sc: Scene):
    x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
    x1, y1 = min(sc.width, int(cx + r) + 2), min(sc.height, int(cy + r) + 2)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), xx - cx, yy - cy


def _dent(rng, sc: Scene, part: np.ndarray, soft: np.ndarray) -> None:
    sigma = rng.uniform(4.0, 7.0) * min(sc.width / 400, sc.height / 300) + 1.0
    px, py = _spot_on_face(rng, sc.geo, 3 * sigma)
    win, dx, dy = _roi(px, py, 4 * sigma, sc)
    bump = np.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))
    # Depression: the slope nearest the lamp faces away from it (dark), the far slope is lit.
    slope = -(dx * LIGHT[0] + dy * LIGHT[1]) / sigma * bump
    depth = rng.uniform(38, 55) / 0.61                   # 0.61 = max of the slope term
    part[win] += depth * slope - 12 * bump
    soft[win] = bump > math.exp(-4.5)                    # within 3 sigma: all the visible shading


def _stain(rng, sc: Scene, part: np.ndarray, soft: np.ndarray) -> None:
    r = rng.uniform(7.0, 14.0) * min(sc.width / 400, sc.height / 300) + 2
    px, py = _spot_on_face(rng, sc.geo, r)
    win, dx, dy = _roi(px, py, 1.8 * r, sc)
    blob = np.zeros(dx.shape, np.float32)
    for _ in range(int(rng.integers(3, 7))):           # a few overlapping drops: irregular outline
        ox, oy = rng.normal(0, 0.35 * r, 2)
        sg = rng.uniform(0.3, 0.55) * r
        blob += np.exp(-((dx - ox) ** 2 + (dy - oy) ** 2) / (2 * sg ** 2))
    grain = cv2.GaussianBlur(rng.standard_normal(dx.shape).astype(np.float32), (0, 0), 1.5)
    amount = np.clip((blob + 0.8 * grain - 0.45) * 1.8, 0, 1)
    # Residue dries darker at its rim (the coffee-ring effect), so the outline reads clearly.
    part[win] *= 1 - 0.42 * amount - 0.25 * 4 * amount * (1 - amount)
    soft[win] = amount


def _missing_hole(rng, sc: Scene, part: np.ndarray, soft: np.ndarray, relief: float = 1.0) -> None:
    g = sc.geo
    hx, hy = g.holes[int(rng.integers(len(g.holes)))]
    win, dx, dy = _roi(hx, hy, g.hole_r + 3, sc)
    fill = np.clip(g.hole_r + 2.5 - np.hypot(dx, dy), 0, 1)
    part[win] = part[win] * (1 - fill) + sc.blank[win] * fill
    # The centre-punch mark the drill never followed: a small conical dimple, shaded by the lamp
    # like a dent (low-angle light shows it, flat light hides it), so the audit can judge the light.
    sigma = max(1.2, 0.3 * g.hole_r)
    bump = np.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))
    slope = -(dx * LIGHT[0] + dy * LIGHT[1]) / sigma * bump
    part[win] += relief * fill * (45 / 0.61 * slope - 8 * bump)
    soft[win] = np.hypot(dx, dy) <= g.hole_r + 1


RELIEF_DEFECTS = ("scratch", "dent", "missing_hole")     # surface relief: shows by the light's angle
RELIEF_INSIDE = ("missing_hole",)        # the painter scales its own relief (the filled hole is no relief)
PAINTERS = {"scratch": _scratch, "dent": _dent, "stain": _stain, "missing_hole": _missing_hole}


@dataclass
class Placed:
    """The part of one frame, posed: gray maps in image coordinates."""
    part: np.ndarray        # HxW gray of the part
    alpha: np.ndarray       # HxW coverage of the part
    shadow: np.ndarray      # HxW shadow strength on the belt
    soft: np.ndarray | None  # HxW defect strength (stain tint, truth mask)


def place_part(sc: Scene, defect: str | None, rng: np.random.Generator,
               dx: float, dy: float, angle: float, relief: float = 1.0) -> Placed:
    """Paint ``defect`` (drawn with ``rng``) and move the part by the pose jitter.

    ``relief`` (0..1) scales how much the defect changes the part's gray:
    flat diffuse light shows little of a dent's or scratch's relief.
    """
    layers = sc.layers
    if defect is not None:
        layers = layers.copy()
        if defect in RELIEF_INSIDE:
            PAINTERS[defect](rng, sc, layers[..., 0], layers[..., 3], relief=relief)
        else:
            PAINTERS[defect](rng, sc, layers[..., 0], layers[..., 3])
        if relief < 1.0 and defect in RELIEF_DEFECTS and defect not in RELIEF_INSIDE:
            layers[..., 0] = sc.layers[..., 0] + relief * (layers[..., 0] - sc.layers[..., 0])
    m = cv2.getRotationMatrix2D((sc.geo.cx, sc.geo.cy), angle, 1.0)
    m[:, 2] += (dx, dy)
    moved = cv2.warpAffine(layers, m, (sc.width, sc.height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return Placed(moved[..., 0], moved[..., 1], moved[..., 2],
                  moved[..., 3] if defect is not None else None)
