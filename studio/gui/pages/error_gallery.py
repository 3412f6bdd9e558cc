"""The mistakes at the operating point: defective parts passed (false accepts) and good parts
rejected (false rejects), as thumbnails; click one to see it large with the model's heat map
and the labeled defect outlined."""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QDialog, QGroupBox, QHBoxLayout, QLabel, QListView, QListWidget,
                               QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget)

from studio.gui.pages.base import caption, row
from studio.gui.widgets.image_view import ImageView, to_pixmap

THUMB = 72
MAX_SHOWN = 60


def mistakes(rows: list[dict[str, Any]], threshold: float) -> tuple[list[dict], list[dict]]:
    """(false accepts: defective parts scoring below the threshold, most confidently wrong first;
    false rejects: good parts at or above it, highest score first)."""
    fa = sorted((r for r in rows if r["defective"] and float(r["score"]) < threshold), key=lambda r: r["score"])
    fr = sorted((r for r in rows if not r["defective"] and float(r["score"]) >= threshold),
                key=lambda r: -r["score"])
    return fa, fr


def _roi_box(shape: tuple[int, ...], roi: Any) -> tuple[int, int, int, int]:
    """The image region the model saw: (x0, y0, x1, y1), the whole image without a valid ROI."""
    H, W = shape[:2]
    if roi:
        x, y, w, h = (int(v) for v in roi)
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x1 > x0 and y1 > y0:
            return x0, y0, x1, y1
    return 0, 0, W, H


def heat_overlay(image: np.ndarray, amap: np.ndarray, threshold: float | None, roi: Any = None) -> np.ndarray:
    """The image (RGB) with a model map over the region the model saw (its ROI): blue = normal,
    red = at or above the threshold."""
    rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    rgb = np.ascontiguousarray(rgb[..., :3]).astype(np.uint8)
    m = np.asarray(amap, np.float32)
    lo = float(m.min())
    hi = max(float(m.max()), float(threshold) if threshold is not None else float(m.max()))
    v = np.clip((m - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    x0, y0, x1, y1 = _roi_box(rgb.shape, roi)
    v = cv2.resize(v, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    colour = cv2.cvtColor(cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    alpha = (0.25 + 0.45 * v)[..., None]
    out = rgb.copy()
    out[y0:y1, x0:x1] = (rgb[y0:y1, x0:x1] * (1 - alpha) + colour * alpha).astype(np.uint8)
    return out


def draw_boxes(image: np.ndarray, boxes: list[dict] | None) -> np.ndarray:
    """Predicted defect boxes (detection models) in red with class and score."""
    out = np.ascontiguousarray(image[..., :3]).copy()
    width = max(1, round(max(out.shape[:2]) / 250))
    for b in boxes or []:
        try:
            x, y, w, h = (int(round(float(b[k]))) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            continue
        cv2.rectangle(out, (x, y), (x + w, y + h), (230, 30, 30), width)
        cv2.putText(out, f"{b.get('class') or ''} {float(b.get('score', 0)):.2f}", (x, max(10, y - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * width, (230, 30, 30), width)
    return out


def outline_truth(image: np.ndarray, mask: np.ndarray | None, box: list | None) -> np.ndarray:
    """Draw the labeled defect (mask contour, else its box) in yellow."""
    out = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    out = np.ascontiguousarray(out[..., :3]).copy()
    width = max(1, round(max(out.shape[:2]) / 250))
    if mask is not None and mask.any():
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, (255, 220, 0), width)
    elif box and len(box) == 4:
        x, y, w, h = (int(v) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 220, 0), width)
    return out


def square_thumb(pix: QPixmap) -> QPixmap:
    """The thumbnail centred on a THUMB x THUMB tile, so every tile (and its caption) lines up."""
    tile = QPixmap(THUMB, THUMB)
    tile.fill(QColor("#1b1d21"))
    painter = QPainter(tile)
    painter.drawPixmap((THUMB - pix.width()) // 2, (THUMB - pix.height()) // 2, pix)
    painter.end()
    return tile


class MistakeGallery(QWidget):
    """Two thumbnail strips; ``opened(row)`` when a thumbnail is clicked."""

    opened = Signal(dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.project: Any = None
        self._thumbs: dict[str, QIcon] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.false_accepts, self.fa_box, self.fa_title = self._strip("Defective parts passed (false accepts)")
        self.false_rejects, self.fr_box, self.fr_title = self._strip("Good parts rejected (false rejects)")
        lay.addWidget(self.fa_box, 1)
        lay.addWidget(self.fr_box, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def _strip(self, title: str) -> tuple[QListWidget, QGroupBox, QLabel]:
        box = QGroupBox(title)
        v = QVBoxLayout(box)
        v.setContentsMargins(6, 4, 6, 4)
        note = caption("")
        lst = QListWidget()
        lst.setViewMode(QListView.ViewMode.IconMode)
        lst.setFlow(QListView.Flow.LeftToRight)
        lst.setWrapping(False)
        lst.setIconSize(QSize(THUMB, THUMB))
        lst.setGridSize(QSize(THUMB + 10, THUMB + 24))      # one size for every tile, whatever its shape
        lst.setUniformItemSizes(True)
        lst.setFixedHeight(THUMB + 44)
        lst.setMovement(QListView.Movement.Static)
        lst.setSpacing(3)
        lst.itemClicked.connect(lambda item: self.opened.emit(item.data(Qt.ItemDataRole.UserRole)))
        v.addWidget(note)
        v.addWidget(lst)
        return lst, box, note

    def set_project(self, project: Any) -> None:
        self.project = project
        self._thumbs.clear()

    def _icon(self, image_id: str) -> QIcon:
        if image_id not in self._thumbs:
            try:
                image = self.project.dataset.load(self.project.dataset.get(image_id))
                self._thumbs[image_id] = QIcon(square_thumb(to_pixmap(image, QSize(THUMB, THUMB))))
            except Exception:  # a missing file shows as an empty tile, never a crash
                self._thumbs[image_id] = QIcon()
        return self._thumbs[image_id]

    def show_mistakes(self, rows: list[dict[str, Any]], threshold: float, *, review: bool = False) -> None:
        """``review``: a review band starts at the threshold, so the good parts above it are not all
        rejected: some go to manual review (the titles say so)."""
        fa, fr = mistakes(rows, threshold)
        self.fa_box.setTitle("Defective parts passed (false accepts)")
        self.fr_box.setTitle("Good parts not passed: rejected or sent to review" if review
                             else "Good parts rejected (false rejects)")
        for lst, note, items, none in ((self.false_accepts, self.fa_title, fa, "No defective test part passes."),
                                       (self.false_rejects, self.fr_title, fr, "No good test part is rejected.")):
            lst.clear()
            for r in items[:MAX_SHOWN]:
                item = QListWidgetItem(self._icon(r["image_id"]) if self.project is not None else QIcon(),
                                       f"{r['score']:.3g}")
                item.setData(Qt.ItemDataRole.UserRole, r)
                item.setToolTip(f"{r['image_id']}: score {r['score']:.4g}"
                                + (f", {r['defect_class']}" if r.get("defect_class") else ""))
                lst.addItem(item)
            more = f" (showing {MAX_SHOWN})" if len(items) > MAX_SHOWN else ""
            note.setText(f"{len(items)} parts{more}. Click one to see it with its heat map." if items else none)

    def counts(self) -> tuple[int, int]:
        return self.false_accepts.count(), self.false_rejects.count()


class MistakeDialog(QDialog):
    """One test part, large: the image, the model's heat map over it, the labeled defect outlined."""

    def __init__(self, project: Any, entry: dict[str, Any], threshold: float, model: Any,
                 parent: QWidget | None = None, *, review_up_to: float | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"{entry['image_id']} — score {entry['score']:.4g}")
        self.resize(820, 660)
        record = project.dataset.get(entry["image_id"])
        image = project.dataset.load(record)
        truth = ((record.meta or {}).get("truth") or {}).get("defect_box")
        mask = project.dataset.load_mask(record)
        self.plain = outline_truth(image, mask, truth)
        self.heat = None
        note = "This model gives no heat map or boxes: the labeled defect is outlined in yellow."
        if model is None:
            note = "The model could not be loaded, so there is no heat map."
        else:
            try:
                pred = model.predict(image)
                roi = getattr(getattr(model, "preprocessing", None), "roi", None)
                amap = getattr(pred, "anomaly_map", None)
                seg = getattr(pred, "mask", None)
                boxes = getattr(pred, "boxes", None)
                if amap is not None:
                    self.heat = outline_truth(heat_overlay(image, amap, threshold, roi), mask, truth)
                    note = "Heat map: red where the part looks least like the good parts, blue where it looks normal."
                elif seg is not None:
                    self.heat = outline_truth(heat_overlay(image, np.asarray(seg, np.float32), 1.0, roi), mask, truth)
                    note = "Red: the pixels the model calls defective. Yellow: the labeled defect."
                elif boxes:
                    self.heat = draw_boxes(self.plain, boxes)
                    note = "Red boxes: what the model found. Yellow: the labeled defect."
            except Exception as e:
                note = f"The heat map could not be computed: {e}"
        self.view = ImageView(zoomable=True)
        self.heat_check = QCheckBox("Show what the model sees")
        self.heat_check.setChecked(self.heat is not None)
        self.heat_check.setEnabled(self.heat is not None)
        self.heat_check.toggled.connect(self._show)
        truth_text = "defective" + (f" ({entry['defect_class']})" if entry.get("defect_class") else "") \
            if entry["defective"] else "good"
        judged = "rejected" if entry["score"] >= threshold else "passed"
        if judged == "rejected" and review_up_to is not None and entry["score"] < review_up_to:
            judged = "sent to manual review"
        lay = QVBoxLayout(self)
        head = QLabel(f"Labeled {truth_text}; the model scored it {entry['score']:.4g} against the threshold "
                      f"{threshold:.4g}, so the station would have {judged} it.")
        head.setWordWrap(True)
        head.setStyleSheet("font-weight: 600;")
        lay.addWidget(head)
        lay.addWidget(self.view, 1)
        lay.addLayout(row(self.heat_check, caption(note), stretch_last=False))
        self._show(self.heat_check.isChecked())

    def _show(self, heat: bool) -> None:
        self.view.set_image(self.heat if heat and self.heat is not None else self.plain)
