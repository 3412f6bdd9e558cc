"""The Threshold page's plots: a curve with a draggable operating point (PR, ROC), the score
histogram with the threshold line and review band, and the expected cost along the thresholds."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from studio.gui.style import ACCENT, PASS_GREEN, REJECT_RED

REVIEW_BRUSH = (242, 153, 0, 60)


class CurvePlot(pg.PlotWidget):
    """A curve whose points are thresholds; dragging the marker snaps to the nearest point.

    ``picked(threshold)`` is emitted when a person drags the point.
    """

    picked = Signal(float)

    def __init__(self, title: str, x_label: str, y_label: str):
        super().__init__(background="w", title=title)
        self.setLabel("bottom", x_label)
        self.setLabel("left", y_label)
        self.setXRange(0, 1.02, padding=0)
        self.setYRange(0, 1.05, padding=0)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot([], [], pen=pg.mkPen(ACCENT, width=2))
        self.marker = pg.TargetItem(pos=(0, 0), size=16, movable=True, pen=pg.mkPen("k", width=2),
                                    brush=pg.mkBrush(255, 200, 0, 200))
        self.marker.setVisible(False)
        self.marker.sigPositionChanged.connect(self._moved)
        self.addItem(self.marker)
        self._x = self._y = self._t = np.zeros(0)
        self._placing = False

    def set_curve(self, x, y, thresholds) -> None:
        self._x, self._y = np.asarray(x, float), np.asarray(y, float)
        self._t = np.asarray(thresholds, float)
        self.curve.setData(self._x, self._y)
        self.marker.setVisible(len(self._t) > 0)

    def place(self, x: float | None, y: float | None) -> None:
        """Put the marker at (x, y) without emitting ``picked``."""
        self._placing = True
        try:
            self.marker.setPos(0.0 if x is None else float(x), 1.0 if y is None else float(y))
        finally:
            self._placing = False

    def _moved(self) -> None:
        if self._placing or not len(self._t):
            return
        pos = self.marker.pos()
        i = int(np.argmin((self._x - pos.x()) ** 2 + (self._y - pos.y()) ** 2))
        self.place(self._x[i], self._y[i])            # snap onto the curve
        self.picked.emit(float(self._t[i]))


class ScoreHistogram(pg.PlotWidget):
    """Scores of the good and the defective test parts, the threshold line and the review band."""

    moved = Signal(float)           # the threshold line was dragged
    band_moved = Signal(float)      # the review band's upper line was dragged

    def __init__(self):
        super().__init__(background="w", title="Scores of the test images")
        self.setLabel("bottom", "score")
        self.setLabel("left", "images")
        self.addLegend(offset=(-10, 10))
        self.ok = self.plot([], [], stepMode="center", fillLevel=0, name="actually OK",
                            pen=pg.mkPen(PASS_GREEN, width=1.5), brush=pg.mkBrush(30, 158, 74, 90))
        self.ng = self.plot([], [], stepMode="center", fillLevel=0, name="actually NG",
                            pen=pg.mkPen(REJECT_RED, width=1.5), brush=pg.mkBrush(211, 47, 47, 90))
        self.band = pg.LinearRegionItem(values=(0, 0), movable=False, brush=pg.mkBrush(*REVIEW_BRUSH),
                                        pen=pg.mkPen(None))
        self.band.setVisible(False)
        self.band.setZValue(-5)
        self.addItem(self.band)
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("k", width=2),
                                    hoverPen=pg.mkPen(ACCENT, width=3), label="threshold",
                                    labelOpts={"position": 0.92, "color": "k"})
        self.line.setVisible(False)
        self.line.sigPositionChanged.connect(lambda: self.moved.emit(float(self.line.value())))
        self.addItem(self.line)
        dash = Qt.PenStyle.DashLine
        self.upper = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((200, 120, 0), width=2, style=dash),
                                     label="review up to", labelOpts={"position": 0.80, "color": (160, 90, 0)})
        self.upper.setVisible(False)
        self.upper.sigPositionChanged.connect(lambda: self.band_moved.emit(float(self.upper.value())))
        self.addItem(self.upper)

    def set_scores(self, y: np.ndarray, s: np.ndarray) -> None:
        if not len(s):
            self.ok.setData([], [])
            self.ng.setData([], [])
            return
        lo, hi = float(s.min()), float(s.max())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, min(40, max(8, len(s) // 2)) + 1)
        for item, mask in ((self.ok, ~y), (self.ng, y)):
            counts, _ = np.histogram(s[mask], bins=edges)
            item.setData(edges, counts)
        self.line.setVisible(True)

    def show_band(self, low: float, high: float | None) -> None:
        """Shade ``[low, high)`` and show its upper line; ``high=None`` hides the band."""
        visible = high is not None and high > low
        self.band.setVisible(visible)
        self.upper.setVisible(high is not None)
        if high is not None:
            self.band.setRegion((low, max(low, high)))
            self.upper.blockSignals(True)
            self.upper.setValue(high)
            self.upper.blockSignals(False)


class CostPlot(pg.PlotWidget):
    """Expected cost per 1,000 parts at every threshold, the current point and the cheapest one."""

    def __init__(self):
        super().__init__(background="w", title="Expected cost per 1,000 parts (one threshold, no review)")
        self.setLabel("bottom", "threshold")
        self.setLabel("left", "cost per 1,000 parts")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot([], [], pen=pg.mkPen(ACCENT, width=2), stepMode=None)
        self.best = self.plot([], [], pen=None, symbol="star", symbolSize=16, symbolBrush=PASS_GREEN)
        self.here = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("k", width=1.5, style=Qt.PenStyle.DashLine))
        self.addItem(self.here)
        self.note = pg.TextItem("", color=(90, 90, 90), anchor=(0, 0))
        self.addItem(self.note)

    def set_curve(self, thresholds, cost, best: tuple[float, float] | None) -> None:
        t, c = np.asarray(thresholds, float), np.asarray(cost, float)
        order = np.argsort(t)
        self.curve.setData(t[order], c[order])
        self.best.setData([best[0]] if best else [], [best[1]] if best else [])
        self.note.setText("" if len(t) else "Enter the costs and the defect rate to see the cost curve.")

    def set_threshold(self, t: float) -> None:
        self.here.setValue(t)
