"""Live-view analysis, run on the camera thread so the GUI thread only paints.

``analyse(image, clipping=True, peaking=True)`` scales the frame to at most
``DISPLAY_WIDTH`` pixels wide (the screen shows no more), and returns the
picture to show with the overlays painted in, plus the figures the live
view prints: 256-bin histogram, mean level and clipped shares. Clipped white pixels are painted red, crushed black ones
blue, and focus peaking paints the strongest edges green (the sharper the
focus, the more and the thinner the green lines).
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from studio.lighting import measures as M

DISPLAY_WIDTH = 1280
PEAK_QUANTILE = 0.97          # the strongest 3% of edges are painted


def display_copy(image: np.ndarray, max_width: int = DISPLAY_WIDTH) -> np.ndarray:
    """A copy at most ``max_width`` wide, shrunk by a whole factor (OpenCV's fast area path)."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image.copy()
    f = -(-w // max_width)
    return cv2.resize(image, (w // f, h // f), interpolation=cv2.INTER_AREA)


def analyse(image: np.ndarray, *, clipping: bool = True, peaking: bool = False, clip_low: int = 2,
            clip_high: int = 253, max_width: int = DISPLAY_WIDTH) -> dict[str, Any]:
    shown = display_copy(image, max_width)
    if shown.ndim == 3 and shown.shape[2] == 4:
        shown = np.ascontiguousarray(shown[..., :3])
    gray8 = cv2.cvtColor(shown, cv2.COLOR_RGB2GRAY) if shown.ndim == 3 else shown
    hist = M.histogram(gray8)
    n = max(1, gray8.size)
    bright = M.brightest(shown) >= clip_high
    dark = gray8 <= clip_low
    out: dict[str, Any] = {"histogram": hist, "mean": float(hist @ np.arange(256) / n),
                           "clipped_bright": float(np.count_nonzero(bright)) / n,
                           "clipped_dark": float(hist[:clip_low + 1].sum()) / n,
                           "scale": shown.shape[1] / image.shape[1]}
    if clipping or peaking:
        rgb = cv2.cvtColor(shown, cv2.COLOR_GRAY2RGB) if shown.ndim == 2 else shown
        if clipping:
            rgb[bright] = (255, 0, 0)
            rgb[dark] = (0, 80, 255)
        if peaking:
            smooth = cv2.GaussianBlur(gray8, (3, 3), 0)      # sensor noise is not an edge
            gx = cv2.Sobel(smooth, cv2.CV_16S, 1, 0)
            gy = cv2.Sobel(smooth, cv2.CV_16S, 0, 1)
            mag = cv2.addWeighted(cv2.convertScaleAbs(gx), 0.5, cv2.convertScaleAbs(gy), 0.5, 0)
            level = max(8, int(np.quantile(mag[::4, ::4], PEAK_QUANTILE)))
            rgb[mag >= level] = (0, 255, 0)
        shown = rgb
    out["display"] = shown
    return out
