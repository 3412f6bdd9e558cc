"""OpenCV's area resize (``INTER_AREA``) of a large frame, the same pixels at a fraction of the cost.

A 5 MP camera's region of interest shrunk to the model's input size is the station's largest
preprocessing step. When the ratio is a whole number (2,048 -> 256) OpenCV takes a fast path;
at a fractional ratio (2,048 -> 224 is 9.14) its general path costs 8 ms on a mono frame and
13 ms on a colour one on the reference machine (benchmarks/README.md, "Station at 5 MP").

For a mono frame (the usual line camera) the area resize is a weighted sum along each axis,
and OpenCV's weights for an output pixel touch only the ten or so input pixels under it. So
the same sums are done here as a few matrix products over bands of rows, then of columns, with OpenCV's own weights (``computeResizeAreaTab``
of ``resize.cpp``) and its rounding. The result equals ``cv2.resize(..., INTER_AREA)``: the
sums are added in another order in float32, so a pixel whose exact value lies within float
rounding of a half may round the other way (at most 1 grey level; tests/test_area_resize.py).

A large colour frame keeps OpenCV's resize, whose area path runs on one thread: it is cut in
two at a row where the ratio's pattern repeats (row 1,024 of 2,048 for 224 px: 112 output rows
each), and the halves are resized at once on two threads. The scale of each half is the whole
frame's exactly, so the pixels are OpenCV's own (13 -> 7 ms for a 5 MP RGB ROI to 224 px on
its own; on the station right after a graph run, ONNX Runtime's spinning worker holds the other
core and the gain is gone).
Everything else (enlarging, whole-number ratios, small images) is left to OpenCV as it is, and so
is a mono frame shrunk by less than ``BANDED_MIN_SCALE``: there OpenCV's general path runs on two
threads and is as fast or faster (2,048 -> 480, a tiled model's input: 2.6 ms against 3.8-7.0 ms
for the bands; 2,048 -> 224: 4.0 against 1.9).
"""
from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

MIN_PIXELS = 1 << 20        # below a megapixel OpenCV's own resize is cheap enough
BANDED_MIN_SCALE = 6.0      # the bands pay from this shrink factor on (benchmarks/README.md, "Station at 5 MP")
PERIODIC_MAX = 256          # a ratio p/q with p up to this many input pixels: blocks of q outputs


def area_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)``, cheaper for a large
    frame shrunk by a fractional ratio: banded products for mono uint8, two threads otherwise."""
    h, w = image.shape[:2]
    if h < height or w < width or not (h % height or w % width) or h * w < MIN_PIXELS:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    if image.dtype != np.uint8 or image.ndim != 2:
        return _in_halves(image, width, height)
    if not uses_bands(image.shape, width, height):
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    with _one_blas_thread():
        rows = _banded(_bands(h, height), image, axis=0)          # [height, w] float32
        out = _banded(_bands(w, width), rows, axis=1)             # [height, width] float32
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def uses_bands(shape: tuple[int, ...], width: int, height: int) -> bool:
    """Whether a mono uint8 frame of ``shape`` (already past the checks above) is resized in bands."""
    return min(shape[0] / height, shape[1] / width) >= BANDED_MIN_SCALE


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_blas: Any = None


def _one_blas_thread():
    """numpy's BLAS on the calling thread only, for the small banded products: with its own
    threads it takes the other core and leaves them spinning there, so the model's graph that
    follows ran 1.8x slower (a 416 px input: resize 30 -> 5.5 ms, graph 93 -> 52 ms)."""
    global _blas
    with _pool_lock:
        if _blas is None:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _in_halves(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenCV's area resize of the top and the bottom half at once, cut where the ratio repeats
    (``h`` and ``height`` both split in whole periods, so each half has the frame's own scale)."""
    global _pool
    h = image.shape[0]
    g = math.gcd(h, height)
    if g < 2:                               # no row where the pattern repeats: one piece
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    out_rows, in_rows = (g // 2) * (height // g), (g // 2) * (h // g)
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="area-resize")
    top = _pool.submit(cv2.resize, image[:in_rows], (width, out_rows), interpolation=cv2.INTER_AREA)
    bottom = cv2.resize(image[in_rows:], (width, height - out_rows), interpolation=cv2.INTER_AREA)
    return np.concatenate([top.result(), bottom])


def _banded(bands: tuple, image: np.ndarray, axis: int) -> np.ndarray:
    """One pass: each block of outputs is its weights times its band of inputs, along ``axis``."""
    starts, weights, size = bands
    block, length = weights.shape[1], weights.shape[2]
    n = len(starts) * block
    if axis == 0:
        out = np.empty((n, image.shape[1]), np.float32)
        for i, (s, wb) in enumerate(zip(starts, weights)):
            np.matmul(wb, image[s:s + length].astype(np.float32), out=out[i * block:(i + 1) * block])
        return out[:size]
    out = np.empty((image.shape[0], n), np.float32)
    for i, (s, wb) in enumerate(zip(starts, weights)):
        np.matmul(image[:, s:s + length], wb.T, out=out[:, i * block:(i + 1) * block])
    return out[:, :size]


@functools.lru_cache(maxsize=32)
def _bands(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, int]:
    """OpenCV's area weights from ``src`` to ``dst`` pixels, cut into blocks of outputs: the start
    of each block's input window, its weights [blocks, block, window] (zero outside a pixel's
    own inputs) and ``dst``. With a ratio p/q in lowest terms and p small, a block is q outputs
    over p inputs and the windows do not overlap; otherwise blocks of 16 outputs over overlapping windows."""
    weights = _area_weights(src, dst)
    g = math.gcd(src, dst)
    block = dst // g if src // g <= PERIODIC_MAX else 16
    spans = [np.nonzero(row)[0] for row in weights]
    blocks = range(0, dst, block)
    length = max(spans[min(b + block, dst) - 1][-1] - spans[b][0] + 1 for b in blocks)
    starts = np.array([min(spans[b][0], src - length) for b in blocks])
    cut = np.zeros((len(starts), block, length), np.float32)
    for i, (b, s) in enumerate(zip(blocks, starts)):
        part = weights[b:b + block, s:s + length]
        cut[i, :len(part)] = part
    return starts, cut, dst


def _area_weights(src: int, dst: int) -> np.ndarray:
    """[dst, src] float32: OpenCV's ``computeResizeAreaTab`` for a shrink, weight by weight."""
    scale = 1.0 / (dst / src)           # as cv::resize computes it: 1 / inv_scale
    out = np.zeros((dst, src), np.float32)
    for dx in range(dst):
        fsx1 = dx * scale
        fsx2 = fsx1 + scale
        cell = min(scale, src - fsx1)
        sx1, sx2 = math.ceil(fsx1), math.floor(fsx2)
        sx2 = min(sx2, src - 1)
        sx1 = min(sx1, sx2)
        if sx1 - fsx1 > 1e-3:
            out[dx, sx1 - 1] = np.float32((sx1 - fsx1) / cell)
        out[dx, sx1:sx2] = np.float32(1.0 / cell)
        if fsx2 - sx2 > 1e-3:
            out[dx, sx2] = np.float32(min(min(fsx2 - sx2, 1.0), cell) / cell)
    return out
