"""Live-view panels: the histogram (pyqtgraph) and the camera's feature controls.

``LiveHistogram.show(hist, clipped_dark, clipped_bright, mean)`` draws a
256-bin histogram (log counts) with the clip limits marked.
``CameraControls`` holds one control per standard GenICam feature; a
feature the camera lacks is greyed out with a tooltip saying so, and a
change is sent to the camera thread (``feature_changed(name, value)``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

# feature -> (label, kind); kind "float", "int" or "enum"
CONTROLS = [("ExposureTime", "Exposure (µs)", "float"), ("Gain", "Gain (dB)", "float"),
            ("AcquisitionFrameRate", "Frame rate (fps)", "float"), ("PixelFormat", "Pixel format", "enum"),
            ("Width", "Width", "int"), ("Height", "Height", "int"), ("OffsetX", "Offset X", "int"),
            ("OffsetY", "Offset Y", "int"), ("TriggerMode", "Trigger mode", "enum"),
            ("TriggerSource", "Trigger source", "enum")]


class LiveHistogram(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background="w")
        self.setMinimumHeight(90)
        self.setMaximumHeight(150)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setXRange(0, 255, padding=0.01)
        self.getAxis("left").setStyle(showValues=False)
        self.setLabel("bottom", "gray level")
        self.curve = self.plot([], [], pen=pg.mkPen("#1f4e99", width=1.2), fillLevel=0, brush=(31, 78, 153, 70))
        for x in (2, 253):
            self.addItem(pg.InfiniteLine(x, pen=pg.mkPen("#c62828", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)))
        self.text = pg.TextItem("", color="#333333", anchor=(0, 0))
        self.addItem(self.text)

    def show_histogram(self, hist: np.ndarray, mean: float, clipped_dark: float, clipped_bright: float) -> None:
        counts = np.log10(np.asarray(hist, np.float64) + 1)
        self.curve.setData(np.arange(256), counts)
        self.text.setText(f"mean {mean:.0f}   clipped {clipped_dark * 100:.1f}% black, "
                          f"{clipped_bright * 100:.1f}% white")
        self.text.setPos(4, float(counts.max() or 1))


class CameraControls(QGroupBox):
    feature_changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Camera settings", parent)
        form = QFormLayout(self)
        form.setContentsMargins(8, 6, 8, 6)
        self.widgets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self._loading = False
        for name, label, kind in CONTROLS:
            if kind == "enum":
                w: QWidget = QComboBox()
                w.activated.connect(lambda _i, n=name, c=w: self._changed(n, c.currentText()))
            elif kind == "int":
                w = QSpinBox()
                w.setRange(0, 100_000)
                w.setKeyboardTracking(False)
                w.valueChanged.connect(lambda v, n=name: self._changed(n, int(v)))
            else:
                w = QDoubleSpinBox()
                w.setRange(0, 1e9)
                w.setDecimals(1)
                w.setKeyboardTracking(False)
                w.valueChanged.connect(lambda v, n=name: self._changed(n, float(v)))
            lab = QLabel(label)
            form.addRow(lab, w)
            self.widgets[name], self.labels[name] = w, lab
        self.set_features({})

    def _changed(self, name: str, value: Any) -> None:
        if not self._loading:
            self.feature_changed.emit(name, value)

    def set_features(self, features: dict[str, dict[str, Any]]) -> None:
        """Show the camera's features; the ones it lacks (or will not change) are greyed out."""
        self._loading = True
        try:
            for name, w in self.widgets.items():
                f = features.get(name) or {"available": False}
                usable = bool(f.get("available")) and bool(f.get("writable", True))
                w.setEnabled(usable)
                self.labels[name].setEnabled(usable)
                tip = "" if usable else ("this camera has no such feature" if not f.get("available")
                                         else "read-only on this camera")
                w.setToolTip(tip)
                self.labels[name].setToolTip(tip)
                if not f.get("available"):
                    continue
                if isinstance(w, QComboBox):
                    w.clear()
                    w.addItems([str(c) for c in f.get("choices") or [f.get("value", "")]])
                    w.setCurrentText(str(f.get("value", "")))
                else:
                    lo, hi = f.get("min"), f.get("max")
                    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and hi >= lo:
                        w.setRange(lo, hi)
                    if isinstance(f.get("value"), (int, float)):
                        w.setValue(f["value"])
        finally:
            self._loading = False

    def available(self) -> list[str]:
        return [n for n, w in self.widgets.items() if w.isEnabled()]
