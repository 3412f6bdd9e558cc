"""Production monitoring, drawn: the reject rate per hour with its control limits, the live score histogram.

``MonitorPanel(station)`` polls ``station.monitor.snapshot()`` (in memory,
cheap; see ``studio.station.monitor_watch``) every ``POLL_MS`` on the GUI
thread and draws two pyqtgraph plots:

- ``RejectRateChart``: one bar per clock hour (red when outside its p-chart
  limits), the hour's lower and upper limits (they depend on the hour's part
  count) as dashes, the expected rate as a line, and the last window in words;
- ``ScoreHistogram``: the live window's score distribution over the model's
  reference good-part scores (grey), the threshold marked; PSI and KS in the title;
- ``MapDriftView`` (``show_map=True``, anomaly models): the window's mean
  16×16 anomaly map against the reference's, in σ per cell (blue below, red above).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.gui.style import FAULT_AMBER, PASS_GREEN, REJECT_RED

POLL_MS = 2000
HOURS_SHOWN = 12


def _palette(dark: bool) -> dict[str, str]:
    return ({"bg": "#15181d", "fg": "#c9ccd1", "bar": "#4f8fe8", "ref": (150, 150, 150, 90), "live": "#4f8fe8"}
            if dark else {"bg": "w", "fg": "#333333", "bar": "#1f4e99", "ref": (120, 120, 120, 80), "live": "#1f4e99"})


class _Plot(pg.PlotWidget):
    def __init__(self, dark: bool, parent: QWidget | None = None):
        self.colours = _palette(dark)
        super().__init__(parent, background=self.colours["bg"])
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        for side in ("left", "bottom"):
            axis = self.getAxis(side)
            axis.setTextPen(self.colours["fg"])
            axis.setPen(self.colours["fg"])
        self.setMinimumHeight(90)

    def set_title(self, text: str) -> None:
        self.setTitle(text, color=self.colours["fg"], size="9pt")


class RejectRateChart(_Plot):
    """Reject rate per hour (%), its p-chart limits per hour, the expected rate."""

    def __init__(self, dark: bool = False, parent: QWidget | None = None):
        super().__init__(dark, parent)
        self.setLabel("left", "reject rate %", color=self.colours["fg"])
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=self.colours["bar"])
        self.addItem(self.bars)
        dash = pg.mkPen(REJECT_RED, width=1.5, style=Qt.PenStyle.DashLine)
        self.upper = self.plot([], [], pen=dash, stepMode="center")
        self.lower = self.plot([], [], pen=pg.mkPen(FAULT_AMBER, width=1.5, style=Qt.PenStyle.DashLine),
                               stepMode="center")
        self.expected = pg.InfiniteLine(angle=0, pen=pg.mkPen(PASS_GREEN, width=1.2))
        self.expected.hide()
        self.addItem(self.expected)
        self.set_title("Reject rate per hour")
        self.hours: list[dict[str, Any]] = []

    def show_hours(self, hours: list[dict[str, Any]], expected: float | None, window: dict[str, Any] | None) -> None:
        hours = list(hours)[-HOURS_SHOWN:]
        self.hours = hours
        x = np.arange(len(hours), dtype=float)
        rate = np.array([100 * h["reject_rate"] for h in hours], float)
        out = [h["upper"] is not None and (h["reject_rate"] > h["upper"] or h["reject_rate"] < h["lower"])
               for h in hours]
        self.bars.setOpts(x=x, height=rate, width=0.7,
                          brushes=[pg.mkBrush(REJECT_RED if o else self.colours["bar"]) for o in out])
        if hours and hours[0]["upper"] is not None:
            edges = np.arange(len(hours) + 1, dtype=float) - 0.5
            self.upper.setData(edges, [100 * h["upper"] for h in hours])
            self.lower.setData(edges, [100 * h["lower"] for h in hours])
        else:
            self.upper.setData([], [])
            self.lower.setData([], [])
        if expected is not None:
            self.expected.setValue(100 * expected)
            self.expected.show()
        top = max([5.0, *(rate.tolist()), *([100 * h["upper"] for h in hours if h["upper"] is not None])])
        self.setYRange(0, top * 1.15, padding=0)
        self.setXRange(-0.6, max(len(hours), 4) - 0.4, padding=0)
        ticks = [(float(i), _dt.datetime.fromtimestamp(h["start"]).strftime("%H:00")) for i, h in enumerate(hours)]
        self.getAxis("bottom").setTicks([ticks])
        if window:
            self.set_title(f"Reject rate / hour · last {window['window_parts']}: {100 * window['reject_rate']:.1f} % "
                           f"(limits {100 * window['lower']:.1f}–{100 * window['upper']:.1f} %)")
        else:
            self.set_title("Reject rate / hour · limits after the first parts")


class ScoreHistogram(_Plot):
    """The live window's scores over the reference good-part scores, with the threshold."""

    def __init__(self, dark: bool = False, parent: QWidget | None = None):
        super().__init__(dark, parent)
        self.getAxis("left").setStyle(showValues=False)
        self.setLabel("bottom", "score", color=self.colours["fg"])
        self.reference = self.plot([], [], stepMode="center", fillLevel=0, brush=self.colours["ref"],
                                   pen=pg.mkPen((150, 150, 150), width=1))
        self.live = self.plot([], [], stepMode="center", pen=pg.mkPen(self.colours["live"], width=2))
        self.threshold = pg.InfiniteLine(angle=90, pen=pg.mkPen(REJECT_RED, width=1.5, style=Qt.PenStyle.DashLine))
        self.threshold.hide()
        self.addItem(self.threshold)
        self.set_title("Scores live (line) / reference (grey)")

    def show_histogram(self, hist: dict[str, Any], drift: dict[str, Any] | None) -> None:
        edges = np.asarray(hist.get("edges") or [], float)
        if edges.size < 2:
            return
        self.reference.setData(edges, np.asarray(hist["reference"], float))
        self.live.setData(edges, np.asarray(hist["live"], float))
        t = hist.get("threshold")
        if t is not None and np.isfinite(t):
            self.threshold.setValue(float(t))
            self.threshold.show()
        top = max(max(hist["reference"], default=0), max(hist["live"], default=0), 1e-3)
        self.setYRange(0, top * 1.1, padding=0)
        self.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
        d = drift or {}
        if d.get("psi") is not None:
            flag = "  ⚠ drift" if d.get("drifted") else ""
            self.set_title(f"Scores live / reference · PSI {d['psi']:.2f} · KS p {d['ks_p']:.1g}{flag}")
        elif not hist.get("reference_n"):
            self.set_title(f"Scores of the last {hist['live_n']} parts · no reference in the model card")
        else:
            self.set_title(f"Scores of the last {hist['live_n']} parts (line) / reference (grey)")


class MapDriftView(_Plot):
    """Where on the part the anomaly maps moved: the window's mean 16×16 map against the reference, in σ."""

    LIMIT = 6.0         # colour scale: ±6 σ

    def __init__(self, dark: bool = False, parent: QWidget | None = None):
        super().__init__(dark, parent)
        for side in ("left", "bottom"):
            self.hideAxis(side)
        self.getViewBox().setAspectLocked(True)
        self.getViewBox().invertY(True)
        self.image = pg.ImageItem()
        cmap = pg.ColorMap([0.0, 0.5, 1.0], [(31, 78, 153), (235, 235, 235), (211, 47, 47)])
        self.image.setLookupTable(cmap.getLookupTable(nPts=256))
        self.addItem(self.image)
        self.set_title("Anomaly maps vs reference")

    def show_map(self, drift_map: dict[str, Any] | None) -> None:
        if not drift_map or not drift_map.get("grid"):
            self.image.clear()
            self.set_title("Anomaly maps: no reference map")
            return
        z = np.asarray(drift_map["grid"], float)
        self.image.setImage(z.T, levels=(-self.LIMIT, self.LIMIT))     # ImageItem is column-major
        flag = " ⚠" if drift_map.get("moved") else ""
        self.set_title(f"Maps {drift_map['z']:+.0f} σ {drift_map['where']}{flag}")
        self.setToolTip(f"the last {drift_map.get('parts')} passed parts' mean anomaly map against the model's "
                        f"reference, in standard deviations per cell (blue: lower, red: higher); largest "
                        f"{drift_map['z']:+.1f} σ at the {drift_map['where']} of the part")


class MonitorPanel(QWidget):
    """Both charts side by side, fed from the station's monitor (polled; never touches the pipeline)."""

    def __init__(self, station: Any = None, *, dark: bool = False, show_map: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.station = station
        self.rate_chart = RejectRateChart(dark)
        self.histogram = ScoreHistogram(dark)
        self.map_view = MapDriftView(dark) if show_map else None    # anomaly models: shown once a map comes
        self.note = QLabel("")
        self.note.setStyleSheet(f"color: {'#9aa0a6' if dark else '#555'};")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        charts = QHBoxLayout()
        charts.setSpacing(8)
        charts.addWidget(self.rate_chart, 1)
        charts.addWidget(self.histogram, 1)
        if self.map_view is not None:
            self.map_view.setMaximumWidth(240)
            self.map_view.hide()
            charts.addWidget(self.map_view)
        lay.addLayout(charts, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.last: dict[str, Any] | None = None

    def set_station(self, station: Any) -> None:
        self.station = station
        self.refresh()

    def refresh(self) -> None:
        monitor = getattr(self.station, "monitor", None)
        if monitor is None:
            return
        try:
            snap = monitor.snapshot()
        except Exception:  # noqa: BLE001  a chart never breaks the view
            return
        self.show_snapshot(snap)

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        self.last = snap
        window = snap.get("window")
        self.rate_chart.show_hours(snap.get("hours") or [], (snap.get("expected") or {}).get("rate"), window)
        self.histogram.show_histogram(snap.get("histogram") or {}, snap.get("drift"))
        if self.map_view is not None:
            self.map_view.setVisible(snap.get("map") is not None)
            self.map_view.show_map(snap.get("map"))
