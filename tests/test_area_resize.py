"""The banded area resize gives OpenCV's ``INTER_AREA`` pixels for a large mono frame.

Exact but for sums that land within float rounding of a half (another summation order): those
may round one grey level the other way. Pinned on noise, on structure, on a real tile and on
ROI views with strides, for the geometries a line camera gives."""
import cv2
import numpy as np
import pytest

from studio.dataset.area_resize import _bands, area_resize


def opencv(image, size):
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def differing(a, b):
    d = np.abs(a.astype(int) - b.astype(int))
    return int(d.max()), float((d > 0).mean())


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    mono = rng.integers(0, 256, (2048, 2448), dtype=np.uint8)
    mono[:, ::7] //= 2
    mono[::5] = 255 - mono[::5]
    return mono


@pytest.mark.parametrize("view,size", [
    ((slice(None), slice(200, 2248)), 224),       # 2,048 -> 224: ratio 64/7, blocks of 7 outputs
    ((slice(0, 2000), slice(0, 2000)), 224),      # 125/14
    ((slice(1, 2048), slice(100, 2147)), 224),    # 2,047: no short period, overlapping blocks of 16
    ((slice(None), slice(None)), 224),            # the whole 2448 x 2048 frame: two ratios
    ((slice(None), slice(200, 2248)), 320),
    ((slice(100, 1600), slice(10, 1510)), 448),
    ((slice(None, None, -1), slice(200, 2248)), 224),   # a negative stride (a flipped camera)
])
def test_the_pixels_are_opencvs(frame, view, size):
    image = frame[view]
    out = area_resize(image, size, size)
    assert out.shape == (size, size) and out.dtype == np.uint8
    worst, share = differing(out, opencv(image, size))
    assert worst <= 1 and share < 1e-4


def test_a_real_tile_upscaled_to_5mp_is_opencvs(shared_data):
    path = shared_data / "magnetic_tile"
    tile = cv2.imread(str(sorted(path.rglob("*.jpg"))[0]), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(tile, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    worst, share = differing(area_resize(big, 224, 224), opencv(big, 224))
    assert worst <= 1 and share < 1e-4


@pytest.mark.parametrize("image,size", [
    (np.arange(2048 * 2048, dtype=np.uint8).reshape(2048, 2048), 256),     # a whole ratio
    (np.arange(600 * 800, dtype=np.uint8).reshape(600, 800), 224),         # under a megapixel
    (np.arange(200 * 200, dtype=np.uint8).reshape(200, 200), 224),         # enlarging
])
def test_everything_else_is_left_to_opencv(image, size):
    assert np.array_equal(area_resize(image, size, size), opencv(image, size))


def test_the_bands_are_used_only_where_they_pay():
    from studio.dataset.area_resize import uses_bands

    assert uses_bands((2048, 2048), 224, 224) and uses_bands((2048, 2048), 320, 320)       # 9.1x, 6.4x
    assert not uses_bands((2048, 2048), 480, 480)       # a 2x2 tiled model's input: OpenCV's threads win
    assert not uses_bands((1500, 1500), 448, 448)
    image = np.arange(2048 * 2048, dtype=np.uint32).reshape(2048, 2048).astype(np.uint8)
    assert np.array_equal(area_resize(image, 480, 480), opencv(image, 480))


def test_the_weights_of_each_output_sum_to_one():
    for src, dst in ((2048, 224), (2047, 224), (2448, 224), (1500, 448)):
        starts, weights, n = _bands(src, dst)
        sums = weights.sum(axis=2).ravel()[:n]
        assert n == dst and np.allclose(sums, 1.0, atol=1e-5)
        assert starts.min() >= 0 and starts.max() + weights.shape[2] <= src


@pytest.mark.parametrize("view,size", [
    ((slice(None), slice(200, 2248)), 224),       # cut at row 1,024: 112 output rows each
    ((slice(0, 2000), slice(0, 2000)), 224),      # 125/14: cut after 8 periods
    ((slice(1, 2048), slice(100, 2147)), 224),    # 2,047 rows: no repeat, one piece
    ((slice(None), slice(None)), 224),            # the whole frame
    ((slice(None, None, -1), slice(200, 2248)), 320),
])
def test_a_colour_or_16_bit_frame_in_two_halves_is_exactly_opencvs(frame, view, size):
    colour = np.dstack([frame, np.roll(frame, 5, axis=1), 255 - frame])[view]
    assert np.array_equal(area_resize(colour, size, size), opencv(colour, size))
    deep = frame[view].astype(np.uint16) * 257
    assert np.array_equal(area_resize(deep, size, size), opencv(deep, size))
