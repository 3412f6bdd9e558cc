"""A 5 MP camera frame (2448 x 2048, Mono8 and RGB) gives the model exactly the tensor of the
reference path: convert to RGB, copy the crop out, area-resize, then scale and normalise.

The station's path crops a view, resizes a mono frame before it becomes RGB and hands OpenCV the
ROI without copying it (studio/dataset/preprocessing.py); training goes through the same
``Preprocessing.apply``. This pins that the cheap path changes no value (a mono frame's area
resize: at most one grey level on a pixel that sits on a rounding tie, tests/test_area_resize.py)."""
import cv2
import numpy as np
import pytest

from studio.dataset.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, to_rgb8

W, H = 2448, 2048


def reference(pre: Preprocessing, image: np.ndarray) -> np.ndarray:
    img = to_rgb8(np.array(image))                    # a private copy, converted first
    if pre.roi:
        x, y, w, h = pre.roi
        img = np.array(img[max(0, y):y + h, max(0, x):x + w])     # the crop copied out
    img = cv2.resize(img, (pre.size, pre.size), interpolation=cv2.INTER_AREA)
    f = (img.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(f.transpose(2, 0, 1))


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(14)
    mono = rng.integers(0, 256, (H, W), dtype=np.uint8)
    mono[:, ::7] //= 2                                 # some structure, not only noise
    rgb = np.dstack([mono, np.roll(mono, 3, axis=1), 255 - mono])
    return {"mono8": mono, "rgb": rgb, "mono8_flipped": mono[::-1]}    # a negative-stride view too


@pytest.mark.parametrize("kind", ["mono8", "rgb", "mono8_flipped"])
@pytest.mark.parametrize("size,roi", [(224, [200, 0, 2048, 2048]),    # ratio 9.14: OpenCV's general area path
                                      (224, [216, 16, 2016, 2016]),   # ratio 9: its integer path
                                      (256, [200, 0, 2048, 2048]),    # ratio 8
                                      (224, None)])                   # the whole frame
def test_5mp_frame_gives_the_reference_tensor(frames, kind, size, roi):
    pre = Preprocessing(size=size, roi=roi)
    frame = frames[kind]
    before = frame.copy()
    out = pre.apply(frame)
    assert out.shape == (3, size, size) and out.dtype == np.float32 and out.flags.c_contiguous
    ref = reference(pre, frame)
    if kind.startswith("mono"):
        # a mono frame goes through the banded area resize (area_resize.py): OpenCV's pixels, but
        # for sums within float rounding of a half, which may land one grey level away
        levels = np.abs(out - ref) * IMAGENET_STD[:, None, None] * 255
        assert levels.max() <= 1 + 1e-3 and (levels > 0.5).mean() < 1e-4
    else:
        assert np.array_equal(out, ref)
    assert np.array_equal(frame, before)               # the camera's frame is not written to


def test_training_and_station_batches_are_the_same_tensor(frames):
    """Training stacks ``apply`` per image (``apply_batch``); the station runs one frame at a time."""
    pre = Preprocessing(size=224, roi=[200, 0, 2048, 2048])
    batch = pre.apply_batch([frames["mono8"], frames["rgb"]])
    assert np.array_equal(batch[0], pre.apply(frames["mono8"]))
    assert np.array_equal(batch[1], pre.apply(frames["rgb"]))
