"""The simulated camera: ``sim[:k=v,...]``.

Deterministic from (seed, frame index): frame i of ``sim:seed=7`` is the same
image on every machine and every run, so demos, tests and tutorials can
refer to it. Options (all optional):

    seed=0          part-to-part variation, defects and noise
    width=400, height=300
    defect=<name>   scratch | dent | stain | missing_hole on every frame (or none)
    defect_rate=0   share of frames with a random defect (seeded)
    exposure=1.0    gain: 2.5 overexposed, 0.3 underexposed
    uneven=0        0..1 one-sided illumination fall-off (bright left, dark right)
    glare=0         0..1 specular hot spot on the part
    blur=0          Gaussian blur sigma in px (out of focus / motion)
    flicker=0       0..1 frame-to-frame brightness modulation (brightness swings by +-flicker/2)
    noise=2.0       sensor noise sigma in gray levels
    mono=0          1: mono HxW instead of RGB HxWx3
    fps=0           pace grab() to this frame rate (0: as fast as asked)
    start=0         index of the first frame after open()
    still=0         1: the line is stopped (as for a lighting audit): every frame shows the
                    same part in the same pose on a still belt; noise and flicker still vary
    relief=1.0      how much the lighting shows a defect's surface relief: 1 low-angle
                    directional light (default), near 0 flat diffuse light that hides
                    dents and scratches (a lighting that does not suit them)

Camera ``settings`` take the same names and override the spec; other names
(GenICam features such as ExposureTime) are listed as unsupported.

Each frame's meta (JSON): ``truth`` {defect, defect_box [x, y, w, h]},
``lighting`` {the lighting options, gain actually applied}, ``seed``,
``index``, ``pose`` {dx, dy, angle}. The defect's pixel mask is not in the
meta (it is not JSON): ``SimCamera.last_mask()`` after a grab.
"""
from __future__ import annotations

import math
import time
from typing import Any

import cv2
import numpy as np

from studio.capture.camera import Camera, Frame, now, parse_options
from studio.capture.scene import BELT_PERIOD, DEFECTS, build_scene, place_part
from studio.core.errors import CameraError

LIGHTING = ("exposure", "uneven", "glare", "blur", "flicker", "noise", "relief")
# name -> (type, default, low, high)
OPTIONS: dict[str, tuple[type, Any, float, float]] = {
    "seed": (int, 0, 0, math.inf), "width": (int, 400, 32, 4096), "height": (int, 300, 32, 4096),
    "defect_rate": (float, 0.0, 0.0, 1.0), "exposure": (float, 1.0, 0.0, 20.0),
    "uneven": (float, 0.0, 0.0, 1.0), "glare": (float, 0.0, 0.0, 1.0), "blur": (float, 0.0, 0.0, 50.0),
    "flicker": (float, 0.0, 0.0, 1.0), "noise": (float, 2.0, 0.0, 100.0), "mono": (int, 0, 0, 1),
    "fps": (float, 0.0, 0.0, 1000.0), "start": (int, 0, 0, math.inf),
    "still": (int, 0, 0, 1), "relief": (float, 1.0, 0.0, 1.0),
}
PLATE_TINT = np.array([0.98, 1.0, 1.04], np.float32)    # cool steel
BELT_TINT = np.array([0.88, 0.97, 1.05], np.float32)    # dark slate rubber
STAIN_TINT = np.array([0.06, 0.0, -0.12], np.float32)   # coolant residue: brownish


def _options(argument: str, settings: dict[str, Any] | None, spec: str,
             extra: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    raw: dict[str, Any] = dict(parse_options(argument, spec))
    raw.update(extra)
    unsupported = []
    for key, value in (settings or {}).items():
        if key.lower() in OPTIONS or key.lower() == "defect":
            raw[key.lower()] = value
        else:
            unsupported.append(key)
    hint = "sim options: defect, " + ", ".join(OPTIONS)
    opts: dict[str, Any] = {k: d for k, (_, d, _, _) in OPTIONS.items()}
    opts["defect"] = None
    for key, value in raw.items():
        if key == "defect":
            name = None if value in (None, "", "none") else str(value)
            if name is not None and name not in DEFECTS:
                raise CameraError(f"unknown simulated defect '{value}'", field="camera.spec",
                                  hint=f"use one of: {', '.join(DEFECTS)} (or none)")
            opts["defect"] = name
            continue
        if key not in OPTIONS:
            raise CameraError(f"unknown option '{key}' for the simulated camera", field="camera.spec", hint=hint)
        kind, _, low, high = OPTIONS[key]
        try:
            number = _number(kind, value)
        except (TypeError, ValueError):
            raise CameraError(f"option '{key}={value}' is not a {'whole ' if kind is int else ''}number",
                              field="camera.spec", hint=hint) from None
        if not low <= number <= high:
            allowed = f"{low:g} or more" if high == math.inf else f"{low:g}..{high:g}"
            raise CameraError(f"option '{key}={value}' must be {allowed}", field="camera.spec", hint=hint)
        opts[key] = number
    return opts, unsupported


def _number(kind: type, value: Any) -> float | int:
    if kind is float:
        return float(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        number = float(value)          # "2.0" or 2.0 is fine for a whole number; 2.5 is not
        if not number.is_integer():
            raise ValueError(value) from None
        return int(number)


class SimCamera(Camera):
    """A camera over a simulated line of machined brackets, with controllable faults."""

    def __init__(self, argument: str = "", settings: dict[str, Any] | None = None, **options: Any):
        super().__init__(f"sim:{argument}" if argument else "sim")
        self.options, self.unsupported = _options(argument, settings, self.spec, options)
        self.index = self.options["start"]
        self._last_mask: np.ndarray | None = None
        self._next_due = 0.0

    # ---- Camera -------------------------------------------------------
    def open(self) -> None:
        if self.is_open:
            return
        build_scene(self.options["width"], self.options["height"])   # the one slow step, up front
        self.index = self.options["start"]
        self._next_due = 0.0
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def info(self) -> dict[str, Any]:
        o = self.options
        return {"backend": "sim", "model": "Simulated bracket line", "serial": f"sim-{o['seed']}",
                "width": o["width"], "height": o["height"], "pixel_format": "Mono8" if o["mono"] else "RGB8",
                "options": dict(o), "unsupported_features": list(self.unsupported)}

    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        if self.options["fps"] > 0:
            # Pace like a free-running camera; a caller slower than fps never waits.
            period = 1.0 / self.options["fps"]
            wait = self._next_due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            t = time.monotonic()
            # Keep the beat (sleep overshoot does not add up) unless the caller fell a frame behind.
            self._next_due = (self._next_due if t - self._next_due < period else t) + period
        image, meta, mask = self.render(self.index)
        frame = Frame(image, self.index, now(), meta)
        self._last_mask = mask
        self.index += 1
        return frame

    def last_mask(self) -> np.ndarray | None:
        """uint8 0/1 mask of the defect in the last grabbed frame; None when it had none."""
        return self._last_mask

    # ---- rendering -----------------------------------------------------
    def render(self, index: int) -> tuple[np.ndarray, dict[str, Any], np.ndarray | None]:
        """Frame ``index`` of this camera: (image, meta, defect mask or None); pure, no side effects."""
        o = self.options
        sc = build_scene(o["width"], o["height"])
        seed = o["seed"]
        part_index = o["start"] if o["still"] else index     # a stopped line shows one part
        # Separate streams, so forcing a defect leaves pose and noise of that frame unchanged.
        pose_rng = np.random.default_rng([seed, part_index, 0])
        defect_rng = np.random.default_rng([seed, part_index, 1])
        noise_rng = np.random.default_rng([seed, index, 2])
        s = min(o["width"] / 400, o["height"] / 300)
        dx, dy = pose_rng.uniform(-4, 4, 2) * s
        angle = float(pose_rng.uniform(-1.5, 1.5))
        defect = o["defect"]
        if defect is None and defect_rng.random() < o["defect_rate"]:
            defect = DEFECTS[int(defect_rng.integers(len(DEFECTS)))]

        placed = place_part(sc, defect, defect_rng, float(dx), float(dy), angle, relief=o["relief"])
        offset = (part_index * 7) % BELT_PERIOD                          # the belt moves between parts
        belt = sc.belt[:, offset:offset + o["width"]]
        # Light on the scene: exposure x flicker x one-sided fall-off.
        gain = o["exposure"] * (1 + 0.5 * o["flicker"] * math.sin(2.39 * index + seed % 7))
        light = gain * (1 - 0.85 * o["uneven"] * sc.ramp) if o["uneven"] else gain
        part = placed.part * placed.alpha * light
        ground = belt * (1 - placed.alpha) * (1 - 0.5 * placed.shadow) * light
        spec = (330 * o["glare"] * gain) * sc.hotspot * (0.3 + 0.7 * placed.alpha) if o["glare"] else None
        if o["mono"]:
            img = part + ground
            if spec is not None:
                img += spec
        else:
            # Per channel with cv2.merge: cheaper than broadcasting HxWx3 temporaries.
            tint = [PLATE_TINT[c] + placed.soft * STAIN_TINT[c] if defect == "stain" else PLATE_TINT[c]
                    for c in range(3)]
            img = cv2.merge([part * tint[c] + ground * BELT_TINT[c] + (spec if spec is not None else 0)
                             for c in range(3)])
        if o["blur"] > 0:
            img = cv2.GaussianBlur(img, (0, 0), o["blur"])
        if o["noise"] > 0:
            start = int(noise_rng.integers(sc.noise.size - img.size))
            img += (o["noise"] * sc.noise[start:start + img.size]).reshape(img.shape)
        image = np.clip(img, 0, 255, out=img).astype(np.uint8)

        mask, box = None, None
        if defect is not None:
            # Low threshold: the mask covers every pixel the defect visibly changed.
            mask = (placed.soft > 0.01).astype(np.uint8)
            ys, xs = np.nonzero(mask)
            if xs.size:
                box = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
        meta = {"truth": {"defect": defect, "defect_box": box},
                "lighting": {k: o[k] for k in LIGHTING} | {"gain": round(gain, 4)},
                "seed": seed, "index": index,
                "pose": {"dx": round(float(dx), 2), "dy": round(float(dy), 2), "angle": round(angle, 3)}}
        return image, meta, mask
