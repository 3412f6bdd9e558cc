"""The labeling canvas: zoom, pan, boxes, polygons and brush masks, with undo/redo (QUndoStack).

Coordinates are image pixels (the image sits at the scene origin). Shapes
are the label store's dicts; a brush mask is held here as a bool array
(``"array"``) and written to a PNG only when the label is saved
(``shapes_for_saving``). Tools: V pan, R box, P polygon (click points,
Enter or double-click closes, Esc cancels), D brush ([ and ] size; the
right button erases).
Wheel zooms at the cursor, the middle button pans in any tool, F fits.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap, QPolygonF, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QGraphicsPixmapItem, QGraphicsPolygonItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsView)

from studio.gui.widgets.image_view import to_pixmap

TOOLS = ("pan", "box", "polygon", "brush")
PALETTE = ["#e53935", "#1e88e5", "#fdd835", "#8e24aa", "#00897b", "#f4511e", "#3949ab", "#7cb342"]


class _ShapeCommand(QUndoCommand):
    """Replace the shape list (before -> after): one drawing step, undoable."""

    def __init__(self, canvas: "LabelCanvas", text: str, before: list[dict], after: list[dict]):
        super().__init__(text)
        self.canvas, self.before, self.after = canvas, before, after

    def redo(self) -> None:
        self.canvas._set_model(self.after)

    def undo(self) -> None:
        self.canvas._set_model(self.before)


class LabelCanvas(QGraphicsView):
    shapes_changed = Signal()

    def __init__(self, parent=None, *, class_colour: Callable[[str | None], str] | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor("#202124"))
        self.setMinimumSize(320, 240)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(self._index_changed)
        self._image: np.ndarray | None = None
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self._items: list[Any] = []
        self._model: list[dict] = []
        self.tool = "pan"
        self.current_class: str | None = None
        self.brush_radius = 6
        self._class_colour = class_colour or (lambda c: PALETTE[hash(c) % len(PALETTE)])
        self._drag_start: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._poly_points: list[QPointF] = []
        self._poly_item: QGraphicsPolygonItem | None = None
        self._stroke: np.ndarray | None = None
        self._stroke_before: list[dict] | None = None
        self._panning: QPointF | None = None
        self._erasing = False
        self._placeholder = "No image"

    def _index_changed(self, _index: int) -> None:
        self.shapes_changed.emit()

    # ---- image and shapes -----------------------------------------------------
    def set_image(self, image: np.ndarray | None, shapes: list[dict] | None = None,
                  masks: Callable[[str], np.ndarray] | None = None) -> None:
        """Show ``image`` with ``shapes`` (brush masks read through ``masks(file)``); clears undo."""
        self._cancel_polygon()
        self.scene().clear()
        self._items, self._pixmap_item = [], None
        self._image = image
        self.undo_stack.clear()
        if image is None:
            self._model = []
            self.scene().setSceneRect(QRectF())
            self.viewport().update()
            return
        self._pixmap_item = self.scene().addPixmap(to_pixmap(image))
        self._pixmap_item.setZValue(-1)
        h, w = image.shape[:2]
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        model = []
        for s in shapes or []:
            s = dict(s)
            if s["type"] == "mask" and "array" not in s:
                s["array"] = masks(s["file"]) if masks else np.zeros((h, w), bool)
            if s["type"] == "mask" and s["array"].shape != (h, w):     # drawn on another size: fit it
                import cv2

                s["array"] = cv2.resize(s["array"].astype(np.uint8), (w, h),
                                        interpolation=cv2.INTER_NEAREST).astype(bool)
            model.append(s)
        self._set_model(model)
        self.undo_stack.setClean()
        self.fit()

    def has_image(self) -> bool:
        return self._image is not None

    def image_size(self) -> tuple[int, int]:
        return (0, 0) if self._image is None else self._image.shape[:2]

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def shapes(self) -> list[dict]:
        """The shapes as drawn (brush masks with their ``array``)."""
        return [dict(s, array=s["array"].copy()) if s["type"] == "mask" else dict(s) for s in self._model]

    def shapes_for_saving(self, save_mask: Callable[[np.ndarray], str]) -> list[dict]:
        """Shapes as the label store keeps them: brush masks written through ``save_mask``."""
        out = []
        for s in self._model:
            if s["type"] == "mask":
                if s["array"].any():
                    out.append({"type": "mask", "class": s.get("class"), "file": save_mask(s["array"])})
            else:
                out.append(dict(s))
        return out

    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    def delete_last(self) -> None:
        if self._model:
            self._push("delete shape", self._model[:-1])

    def _push(self, text: str, after: list[dict]) -> None:
        self.undo_stack.push(_ShapeCommand(self, text, [dict(s) for s in self._model], after))

    def _set_model(self, model: list[dict]) -> None:
        self._model = [dict(s) for s in model]
        for it in self._items:
            self.scene().removeItem(it)
        self._items = [self._item_for(s) for s in self._model]
        self.shapes_changed.emit()

    def _item_for(self, s: dict) -> Any:
        colour = QColor(self._class_colour(s.get("class")))
        pen = QPen(colour, 0)
        pen.setCosmetic(True)
        pen.setWidth(2)
        fill = QColor(colour)
        fill.setAlpha(50)
        if s["type"] == "box":
            it = self.scene().addRect(QRectF(s["x"], s["y"], s["w"], s["h"]), pen, QBrush(fill))
        elif s["type"] == "polygon":
            it = self.scene().addPolygon(QPolygonF([QPointF(x, y) for x, y in s["points"]]), pen, QBrush(fill))
        else:
            m = s["array"]
            rgba = np.zeros(m.shape + (4,), np.uint8)
            rgba[m] = (colour.red(), colour.green(), colour.blue(), 110)
            qi = QImage(rgba.data, m.shape[1], m.shape[0], rgba.strides[0], QImage.Format.Format_RGBA8888).copy()
            it = self.scene().addPixmap(QPixmap.fromImage(qi))
        it.setToolTip(f"{s['type']}: {s.get('class') or '(no class)'}")
        return it

    # ---- view -----------------------------------------------------------------
    def fit(self) -> None:
        if self._image is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        self.scale(factor, factor)

    def zoom(self) -> float:
        return self.transform().m11()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self._cancel_polygon()
        self.tool = tool
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag if tool == "pan"
                         else QGraphicsView.DragMode.NoDrag)
        self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if tool == "pan" else Qt.CursorShape.CrossCursor)

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self._image is None:
            painter.resetTransform()
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)

    # ---- drawing --------------------------------------------------------------
    def _clip(self, p: QPointF) -> QPointF:
        h, w = self.image_size()
        return QPointF(min(max(p.x(), 0.0), float(w)), min(max(p.y(), 0.0), float(h)))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning = event.position()
            return
        erase = self.tool == "brush" and event.button() == Qt.MouseButton.RightButton
        if self._image is None or self.tool == "pan" or (event.button() != Qt.MouseButton.LeftButton and not erase):
            return super().mousePressEvent(event)
        self._erasing = erase
        p = self._clip(self.mapToScene(event.position().toPoint()))
        if self.tool == "box":
            self._drag_start = p
            pen = QPen(QColor(self._class_colour(self.current_class)), 0, Qt.PenStyle.DashLine)
            self._rubber = self.scene().addRect(QRectF(p, p), pen)
        elif self.tool == "polygon":
            self._poly_points.append(p)
            self._update_poly_preview()
        elif self.tool == "brush":
            self._stroke_before = [dict(s) for s in self._model]
            h, w = self.image_size()
            self._stroke = np.zeros((h, w), np.uint8)
            self._paint(p)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._panning is not None:
            d = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            return
        p = self._clip(self.mapToScene(event.position().toPoint()))
        if self._rubber is not None and self._drag_start is not None:
            self._rubber.setRect(QRectF(self._drag_start, p).normalized())
        elif self._stroke is not None:
            self._paint(p)
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning = None
            return
        if self._stroke is not None and event.button() == Qt.MouseButton.RightButton:
            self._finish_stroke()
            return
        if self._rubber is not None and self._drag_start is not None:
            r = QRectF(self._drag_start, self._clip(self.mapToScene(event.position().toPoint()))).normalized()
            self.scene().removeItem(self._rubber)
            self._rubber, self._drag_start = None, None
            if r.width() >= 1 and r.height() >= 1:
                self._push("draw box", self._model + [{
                    "type": "box", "class": self.current_class, "x": round(r.x(), 1), "y": round(r.y(), 1),
                    "w": round(r.width(), 1), "h": round(r.height(), 1)}])
            return
        if self._stroke is not None:
            self._finish_stroke()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if self.tool == "polygon" and self._poly_points:
            self.close_polygon()
        elif self.tool == "pan":
            self.fit()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self.tool == "polygon" and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close_polygon()
        elif event.key() == Qt.Key.Key_Escape:
            self._cancel_polygon()
        else:
            super().keyPressEvent(event)

    def _update_poly_preview(self) -> None:
        if self._poly_item is None:
            pen = QPen(QColor(self._class_colour(self.current_class)), 0, Qt.PenStyle.DashLine)
            self._poly_item = self.scene().addPolygon(QPolygonF(), pen)
        self._poly_item.setPolygon(QPolygonF(self._poly_points))

    def close_polygon(self) -> None:
        pts = self._dedupe(self._poly_points)
        self._cancel_polygon()
        if len(pts) >= 3:
            self._push("draw polygon", self._model + [{
                "type": "polygon", "class": self.current_class,
                "points": [[round(p.x(), 1), round(p.y(), 1)] for p in pts]}])

    @staticmethod
    def _dedupe(pts: list[QPointF]) -> list[QPointF]:
        out: list[QPointF] = []
        for p in pts:
            if not out or (abs(p.x() - out[-1].x()) + abs(p.y() - out[-1].y())) > 0.5:
                out.append(p)
        return out

    def _cancel_polygon(self) -> None:
        if self._poly_item is not None:
            self.scene().removeItem(self._poly_item)
        self._poly_item, self._poly_points = None, []

    def _paint(self, p: QPointF) -> None:
        import cv2

        cv2.circle(self._stroke, (int(round(p.x())), int(round(p.y()))), int(self.brush_radius), 1, -1)
        colour = QColor(self._class_colour(self.current_class))
        r = self.brush_radius
        self.scene().addEllipse(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r), QPen(Qt.PenStyle.NoPen),
                                QBrush(QColor(colour.red(), colour.green(), colour.blue(), 90))).setData(0, "stroke")

    def _finish_stroke(self) -> None:
        stroke = self._stroke.astype(bool)
        self._stroke = None
        for it in self.scene().items():
            if it.data(0) == "stroke":
                self.scene().removeItem(it)
        after = [dict(s) for s in self._stroke_before or []]
        if self._erasing:               # the right button erases from every brush mask
            after = [dict(s, array=s["array"] & ~stroke) if s["type"] == "mask" else s for s in after]
            after = [s for s in after if s["type"] != "mask" or s["array"].any()]
        else:
            for i, s in enumerate(after):
                if s["type"] == "mask" and s.get("class") == self.current_class:
                    after[i] = dict(s, array=s["array"] | stroke)
                    break
            else:
                after.append({"type": "mask", "class": self.current_class, "array": stroke})
        self._model = self._stroke_before or []
        self._push("brush stroke", after)
