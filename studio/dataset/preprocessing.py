"""The one preprocessing definition shared by training and the station.

Stored in ``project.yaml`` under ``preprocessing``. Training, evaluation and
the station all call ``Preprocessing.apply`` so what the model saw in
training is exactly what it sees on the line.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from studio.dataset.area_resize import area_resize

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass
class Preprocessing:
    size: int = 256                      # square side the model sees, in pixels (a new project's default)
    roi: list[int] | None = None         # [x, y, w, h] crop before resizing
    contrast: str = "none"               # "none" or "clahe"
    normalize: str = "imagenet"          # "imagenet" or "none"

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Preprocessing":
        d = dict(d or {})
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Crop, contrast and resize: uint8 RGB, ``size`` x ``size`` x 3.

        The work is done where it is cheapest (a 5 MP frame on the station's hot path): the
        region of interest is cut out first (a view, no copy), and a mono frame is resized
        before it becomes RGB, so the colour conversion touches ``size`` x ``size`` pixels, not
        the camera's millions. The pixels are the same as converting first: the area resize
        treats the three equal channels alike."""
        img = np.asarray(image)
        if self.roi:
            x0, y0, w, h = crop_region(img.shape, self)
            img = img[y0:y0 + h, x0:x0 + w]
        if self.contrast != "clahe" and (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)):
            gray = to_uint8(img if img.ndim == 2 else img[..., 0])
            if gray.shape[0] != self.size or gray.shape[1] != self.size:
                # the ROI view is read as it is (rows with a stride): no copy of the crop; a large
                # frame at a fractional ratio takes the banded products (OpenCV's pixels, 3x cheaper)
                gray = area_resize(gray, self.size, self.size)
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
        img = to_rgb8(img)
        if self.contrast == "clahe":
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
            clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
            lab[..., 0] = clahe.apply(lab[..., 0])
            img = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        if img.shape[0] != self.size or img.shape[1] != self.size:
            img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return img

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Model input: float32 CHW, normalised."""
        img = self.prepare(image).astype(np.float32) / 255.0
        if self.normalize == "imagenet":
            img = (img - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(img.transpose(2, 0, 1))

    def apply_batch(self, images: list[np.ndarray]) -> np.ndarray:
        return np.stack([self.apply(im) for im in images]).astype(np.float32)


# ---- between image pixels and model-input pixels (the ROI crop, then the resize) ----------

def input_to_image(box, image_shape: tuple[int, int], pre) -> tuple[float, float, float, float]:
    """A model-input box [x, y, w, h] back in image pixels."""
    x0, y0, cw, ch = crop_region(image_shape, pre)
    sx, sy = cw / pre.size, ch / pre.size
    x, y, w, h = box
    return (x0 + x * sx, y0 + y * sy, w * sx, h * sy)


def crop_region(image_shape, pre) -> tuple[int, int, int, int]:
    """The image region the model sees: [x0, y0, w, h] (the ROI clipped to the image, or all of it)."""
    H, W = image_shape[:2]
    if pre.roi:
        x, y, w, h = (int(v) for v in pre.roi)
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x1 > x0 and y1 > y0:
            return x0, y0, x1 - x0, y1 - y0
    return 0, 0, W, H


def box_to_input(box: tuple[float, float, float, float], image_shape: tuple[int, int], pre) -> tuple[float, ...]:
    """An image-pixel box [x, y, w, h] in model-input pixels (after the ROI crop and resize)."""
    H, W = image_shape[:2]
    x0, y0, cw, ch = crop_region(image_shape, pre)
    sx, sy = pre.size / cw, pre.size / ch
    x, y, w, h = box
    ax0, ay0 = max(x, x0), max(y, y0)
    ax1, ay1 = min(x + w, x0 + cw), min(y + h, y0 + ch)
    return ((ax0 - x0) * sx, (ay0 - y0) * sy, max(0.0, ax1 - ax0) * sx, max(0.0, ay1 - ay0) * sy)


def mask_to_input(mask: np.ndarray, pre) -> np.ndarray:
    """An image-size 0/1 mask cropped and resized like the image (nearest), uint8 [S, S]."""
    x0, y0, w, h = crop_region(mask.shape, pre)
    m = np.ascontiguousarray(mask[y0:y0 + h, x0:x0 + w]).astype(np.uint8)
    return cv2.resize(m, (pre.size, pre.size), interpolation=cv2.INTER_NEAREST)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """16-bit camera data as its high byte; other types clipped to 0..255."""
    img = np.asarray(image)
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    return np.clip(img, 0, 255).astype(np.uint8)


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any camera image (mono, RGB, RGBA, 16-bit) as uint8 RGB HxWx3."""
    img = to_uint8(image)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 1:
        return cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[..., :3])
    return img
