"""The studio's PNG encoder (studio/core/png.py) writes ordinary PNGs: every pixel comes back."""
import cv2
import numpy as np
import pytest

from studio.core import png


def decoded(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None, "OpenCV could not read the PNG"
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


rng = np.random.default_rng(5)


@pytest.mark.parametrize("image", [
    rng.integers(0, 256, (2048, 2448), dtype=np.uint8),             # a 5 MP mono frame
    rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),            # RGB, in RGB order
    rng.integers(0, 256, (33, 17, 4), dtype=np.uint8),              # RGBA
    rng.integers(0, 65536, (64, 80), dtype=np.uint16),              # 16-bit mono (big-endian in the file)
    rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16),           # 16-bit RGB
    np.zeros((1, 1), np.uint8) + 255,
    rng.integers(0, 256, (1, 999), dtype=np.uint8),
    rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)[::-1, 50:450],  # a strided, flipped view
], ids=["5mp-mono", "rgb", "rgba", "mono16", "rgb16", "1x1", "one-row", "view"])
def test_every_pixel_comes_back(image):
    data = png.encode_png(image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(decoded(data), image)


def test_a_single_channel_and_a_mask_of_booleans():
    img = rng.integers(0, 256, (40, 50, 1), dtype=np.uint8)
    assert np.array_equal(decoded(png.encode_png(img)), img[..., 0])
    mask = rng.random((40, 50)) > 0.5
    assert np.array_equal(decoded(png.encode_png(mask)), mask.astype(np.uint8))


def test_without_isal_the_standard_zlib_writes_the_same_image(monkeypatch):
    import zlib

    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    monkeypatch.setattr(png, "_deflate", zlib)
    assert np.array_equal(decoded(png.encode_png(image)), image)


def test_a_5mp_frame_is_no_larger_than_opencvs_png():
    """One filter for every row costs no size against libpng's per-row choice on a camera frame."""
    frame = np.full((2048, 2448), 24, np.uint8)
    yy, xx = np.mgrid[0:2048, 0:2048]
    frame[:, 200:2248] = (128 + 60 * np.sin(xx / 90.0) * np.cos(yy / 70.0)).astype(np.uint8)
    frame = np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)     # sensor noise
    ours = len(png.encode_png(frame))
    ok, theirs = cv2.imencode(".png", frame, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok and ours <= 1.05 * len(theirs)


@pytest.mark.parametrize("image", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 5), np.uint8),
                                   np.zeros((0, 4), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)])
def test_what_png_cannot_hold_is_a_clear_error(image):
    with pytest.raises(ValueError, match="PNG"):
        png.encode_png(image)
