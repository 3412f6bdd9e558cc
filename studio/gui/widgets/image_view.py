"""Show a camera image (numpy uint8, mono or RGB) scaled to fit, keeping its aspect ratio."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of ``image`` (uint8 HxW, HxWx1, HxWx3 RGB or HxWx4 RGBA)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = (img >> 8).astype(np.uint8) if img.dtype == np.uint16 else np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    if img.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif img.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif img.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"cannot show an image of shape {img.shape}")
    return QImage(img.data, w, h, img.strides[0], fmt).copy()


def to_pixmap(image: np.ndarray, size: QSize | None = None) -> QPixmap:
    pix = QPixmap.fromImage(to_qimage(image))
    if size is not None:
        pix = pix.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return pix


class ImageView(QWidget):
    """Paints the image as large as fits; optional wheel zoom (double-click resets)."""

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "No image",
                 zoomable: bool = False, background: str = "#1b1d21"):
        super().__init__(parent)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None
        self.placeholder = placeholder
        self.zoomable = zoomable
        self._zoom = 1.0
        self._centre = QPointF(0.5, 0.5)       # image point (as fractions) shown at the widget centre
        self._background = QColor(background)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # ---- content --------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        self._array = None if image is None else np.asarray(image)
        self._image = None if image is None else to_qimage(image)
        self.update()

    def image(self) -> np.ndarray | None:
        return self._array

    def has_image(self) -> bool:
        return self._image is not None

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def reset_zoom(self) -> None:
        self._zoom, self._centre = 1.0, QPointF(0.5, 0.5)
        self.update()

    @property
    def zoom(self) -> float:
        return self._zoom

    # ---- painting -------------------------------------------------------
    def _target(self) -> QRectF:
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih) * self._zoom
        w, h = iw * scale, ih * scale
        cx = self.width() / 2 - (self._centre.x() - 0.5) * w
        cy = self.height() / 2 - (self._centre.y() - 0.5) * h
        return QRectF(cx - w / 2, cy - h / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.fillRect(self.rect(), self._background)
        if self._image is None:
            p.setPen(QColor("#9aa0a6"))
            f = p.font()
            f.setPointSizeF(f.pointSizeF() * 1.3)
            p.setFont(f)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 3)
        p.drawImage(self._target(), self._image)

    # ---- zoom -----------------------------------------------------------
    def wheelEvent(self, event) -> None:  # noqa: N802
        if not self.zoomable or self._image is None:
            return super().wheelEvent(event)
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        old = self._target()
        pos = event.position()
        # the image point under the mouse stays under the mouse
        fx = (pos.x() - old.x()) / old.width()
        fy = (pos.y() - old.y()) / old.height()
        self._zoom = float(min(16.0, max(1.0, self._zoom * (1.25 ** steps))))
        if self._zoom == 1.0:
            self._centre = QPointF(0.5, 0.5)
        else:
            new = self._target()
            self._centre = QPointF(self._centre.x() + (fx * new.width() + new.x() - pos.x()) / new.width(),
                                   self._centre.y() + (fy * new.height() + new.y() - pos.y()) / new.height())
        self.update()
        event.accept()

    # ---- pan: drag the zoomed image -------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self.zoomable and self._zoom > 1.0 and event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        start = getattr(self, "_drag", None)
        if start is None or self._image is None:
            return super().mouseMoveEvent(event)
        pos = event.position()
        self.pan(pos.x() - start.x(), pos.y() - start.y())
        self._drag = pos
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None
        super().mouseReleaseEvent(event)

    def pan(self, dx: float, dy: float) -> None:
        """Move the zoomed image by (dx, dy) widget pixels, keeping some of it in view."""
        if self._image is None or self._zoom <= 1.0:
            return
        t = self._target()
        cx = min(1.0, max(0.0, self._centre.x() - dx / t.width()))
        cy = min(1.0, max(0.0, self._centre.y() - dy / t.height()))
        self._centre = QPointF(cx, cy)
        self.update()

    @property
    def centre(self) -> tuple[float, float]:
        return self._centre.x(), self._centre.y()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if self.zoomable:
            self.reset_zoom()
        super().mouseDoubleClickEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 480)
