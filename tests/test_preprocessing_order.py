"""The station's preprocessing does the cheap thing first (crop, then resize a mono frame before it
becomes RGB) and gives exactly the pixels of converting first."""
import cv2
import numpy as np
import pytest

from studio.dataset.preprocessing import Preprocessing, to_rgb8


def reference(pre, image):
    """The order before: RGB first, then crop, then the area resize."""
    img = to_rgb8(image)
    if pre.roi:
        x, y, w, h = pre.roi
        img = img[max(0, y):y + h, max(0, x):x + w]
    return cv2.resize(img, (pre.size, pre.size), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("shape,dtype", [((600, 800), np.uint8), ((600, 800, 1), np.uint8),
                                         ((600, 800), np.uint16), ((600, 800, 3), np.uint8),
                                         ((600, 800, 4), np.uint8)])
@pytest.mark.parametrize("roi", [None, (100, 50, 500, 400), (-20, -10, 300, 900)])
def test_same_pixels_as_converting_first(shape, dtype, roi):
    rng = np.random.default_rng(7)
    image = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    pre = Preprocessing(size=224, roi=list(roi) if roi else None)
    out = pre.prepare(image)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert np.array_equal(out, reference(pre, image))
