"""The studio's one PNG encoder: kept station images, dataset images, masks.

A 5 MP frame kept by the station's result log is the largest thing its background writer does,
on the same cores as the line. OpenCV's encoder (libpng + zlib at level 1) spends 97 ms on a
5 MP mono frame and 209 ms on an RGB one on the reference machine, almost all of it in zlib's
deflate and libpng's per-row filter trials. Here the image gets one PNG filter for every row
("Up": each byte minus the byte above it, a numpy subtraction) and the deflate is ISA-L's
(``isal``, Intel's storage acceleration library, level 1): 20 ms and 30 ms, with files no larger
than OpenCV's (benchmarks/README.md, "Station at 5 MP"). The output is an ordinary PNG
that every reader opens; without ``isal`` the standard library's zlib does the deflate.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

try:                                # a dependency; the standard zlib keeps PNG writing working without it
    from isal import isal_zlib as _deflate
except ImportError:                 # pragma: no cover - exercised where isal is not installed
    _deflate = zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}     # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
FILTER_UP = 2
LEVEL = 1


def encode_png(image: np.ndarray) -> bytes:
    """``image`` (H x W, H x W x 1/2/3/4; uint8 or uint16; colour in RGB order) as PNG bytes."""
    img = np.asarray(image)
    if img.dtype == bool:
        img = img.astype(np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in COLOUR_TYPES or img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot write a {img.dtype} image of shape {np.shape(image)} as PNG "
                         "(8- or 16-bit, 1 to 4 channels)")
    h, w, channels = img.shape
    if h == 0 or w == 0:
        raise ValueError(f"cannot write an empty image ({h} x {w}) as PNG")
    depth = 8 * img.dtype.itemsize
    rows = np.ascontiguousarray(img, dtype=">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(h, -1)
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = FILTER_UP
    filtered[0, 1:] = rows[0]                               # the row above the first is zeros
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG defines it
    header = struct.pack(">IIBBBBB", w, h, depth, COLOUR_TYPES[channels], 0, 0, 0)
    return b"".join((SIGNATURE, _chunk(b"IHDR", header),
                     _chunk(b"IDAT", _deflate.compress(filtered.data, LEVEL)), _chunk(b"IEND", b"")))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
