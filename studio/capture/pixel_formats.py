"""GenICam pixel formats -> the studio's image convention (uint8 mono HxW or RGB HxWx3).

Pure functions, so every conversion is tested with hand-made buffers rather
than a camera. The result never shares memory with the input: a GenTL
buffer is handed back to the driver right after conversion and refilled.

Deeper-than-8-bit data arrives unpacked, little-endian, 16 bits per pixel
(either as a uint16 array or as its raw bytes); it is scaled to 8 bits by
dropping the low bits. Packed formats (Mono12p, ...) are not supported:
set the camera to an unpacked format.
"""
from __future__ import annotations

import cv2
import numpy as np

from studio.core.errors import CameraError

# GenICam names the colour of the top-left pixel; OpenCV names the one at
# row 1, column 1. So GenICam BayerRG is OpenCV's BayerBG, and so on.
_BAYER_CODES = {"RG": cv2.COLOR_BayerBG2RGB, "GB": cv2.COLOR_BayerGR2RGB,
                "GR": cv2.COLOR_BayerGB2RGB, "BG": cv2.COLOR_BayerRG2RGB}
_DEPTHS = (8, 10, 12, 14, 16)
# 8-bit colour layouts: channels per pixel and which of them are R, G, B.
_COLOUR = {"RGB8": (3, [0, 1, 2]), "BGR8": (3, [2, 1, 0]), "RGBa8": (4, [0, 1, 2]),
           "BGRa8": (4, [2, 1, 0]), "RGB8Packed": (3, [0, 1, 2]), "BGR8Packed": (3, [2, 1, 0]),
           "RGBA8Packed": (4, [0, 1, 2]), "BGRA8Packed": (4, [2, 1, 0])}


def supported() -> list[str]:
    mono = [f"Mono{d}" for d in _DEPTHS]
    bayer = [f"Bayer{p}{d}" for p in _BAYER_CODES for d in _DEPTHS]
    return mono + list(_COLOUR) + bayer


def _depth(name: str, prefix: str) -> int | None:
    rest = name[len(prefix):]
    return int(rest) if rest.isdigit() and int(rest) in _DEPTHS else None


def _plane(data: np.ndarray, width: int, height: int, depth: int, fmt: str) -> np.ndarray:
    """One sample per pixel, scaled to uint8 (always a new array)."""
    n = width * height
    if depth == 8:
        return _take(_bytes(data), n, fmt).reshape(height, width).copy()
    if data.dtype == np.uint8:
        data = _take(data, 2 * n, fmt).view("<u2")
    return (_take(data.astype(np.uint16, copy=False), n, fmt) >> (depth - 8)).astype(np.uint8).reshape(height, width)


def _bytes(data: np.ndarray) -> np.ndarray:
    return data if data.dtype == np.uint8 else data.astype(np.uint8)


def _take(data: np.ndarray, n: int, fmt: str) -> np.ndarray:
    # Some producers pad the payload; a short one means a torn or wrong-format frame.
    if data.size < n:
        raise CameraError(f"the camera sent {data.size} values for a {fmt} frame that needs {n}",
                          hint="check PixelFormat, Width and Height; a packed format is not supported")
    return data[:n]


def to_numpy(data: np.ndarray, width: int, height: int, pixel_format: str) -> np.ndarray:
    """Convert a 1-D buffer in ``pixel_format`` to a new uint8 HxW or HxWx3 RGB array."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = np.frombuffer(data, np.uint8)
    data = np.asarray(data).reshape(-1)
    fmt = str(pixel_format)
    if fmt.startswith("Mono") and (depth := _depth(fmt, "Mono")):
        return _plane(data, width, height, depth, fmt)
    if fmt in _COLOUR:
        channels, order = _COLOUR[fmt]
        pixels = _take(_bytes(data), width * height * channels, fmt).reshape(height, width, channels)
        return np.ascontiguousarray(pixels[..., order])     # fancy indexing copies
    if fmt.startswith("Bayer") and (depth := _depth(fmt, "Bayer" + fmt[5:7])) and fmt[5:7] in _BAYER_CODES:
        return cv2.cvtColor(_plane(data, width, height, depth, fmt), _BAYER_CODES[fmt[5:7]])
    raise CameraError(f"pixel format '{fmt}' is not supported", field="PixelFormat",
                      hint="set the camera's PixelFormat to one of: Mono8, RGB8, BGR8, BayerRG8 "
                           f"(all supported: {', '.join(supported())})")
