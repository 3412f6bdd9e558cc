"""The operator's full-screen view of a running station.

It only listens to ``station.events`` (through ``StationBridge``): the last
part large with a huge coloured verdict, the last few parts, the counts and
the alerts. ``run_kiosk(station)`` is what ``studio station run --kiosk`` calls.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QApplication, QFrame, QGridLayout, QHBoxLayout, QLabel, QMessageBox,
                               QVBoxLayout, QWidget)

from studio.gui.style import FAULT_AMBER, PASS_GREEN, REJECT_RED, VERDICT_COLOURS
from studio.gui.widgets.image_view import ImageView, to_pixmap
from studio.gui.widgets.verdict import VERDICT_TEXT, VerdictBadge

STRIP = 8
FINISHED_CLOSE_MS = 2500        # after the last part (max_parts), keep the result up this long


class _Thumb(QFrame):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("thumb")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setFixedSize(150, 110)
        self.text = QLabel("")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.image)
        lay.addWidget(self.text)
        self.set_part(None, None, "")

    def set_part(self, image: Any, verdict: str | None, caption: str) -> None:
        colour = VERDICT_COLOURS.get(verdict or "", "#3a3f47")
        self.setStyleSheet(f"QFrame#thumb {{ border: 4px solid {colour}; border-radius: 6px; background: #111; }}"
                           f" QLabel {{ color: {colour if verdict else '#777'}; font-weight: 700;"
                           " font-size: 12pt; border: none; }")
        self.image.setPixmap(to_pixmap(image, self.image.size()) if image is not None else QPixmap())
        self.text.setText(caption)


class KioskWindow(QWidget):
    def __init__(self, station: Any, *, owns_station: bool = True, counts: dict[str, int] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        from studio.gui.station_bridge import StationBridge

        self.station = station
        self.owns_station = owns_station
        self.counts = {"parts": 0, "pass": 0, "reject": 0, "fault": 0}
        self.counts.update({k: int(v) for k, v in (counts or {}).items() if k in self.counts})
        self.recent: deque[tuple[Any, str, str]] = deque(maxlen=STRIP)
        self._was_running = False
        self.finished = False
        self.setWindowTitle("Inspection station")
        self.setObjectName("kiosk")
        self.setStyleSheet("QWidget#kiosk { background: #0e1013; } QLabel { color: #e8eaed; }")

        top = QHBoxLayout()
        self.title = QLabel(getattr(getattr(station, "project", None), "name", "") or "Inspection station")
        self.title.setStyleSheet("font-size: 18pt; font-weight: 600;")
        self.state_label = QLabel("Starting …")
        self.state_label.setStyleSheet("font-size: 18pt; color: #9aa0a6;")
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.state_label)

        self.view = ImageView(placeholder="Waiting for the first part …", background="#000000")
        self.verdict = VerdictBadge(point_size=96, idle_text="READY")
        self.verdict.setMinimumWidth(520)
        self.part_label = QLabel("")
        self.part_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.part_label.setStyleSheet("font-size: 22pt;")
        self.defect_label = QLabel("")
        self.defect_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.defect_label.setStyleSheet("font-size: 26pt; font-weight: 700;")
        right = QVBoxLayout()
        right.addWidget(self.verdict, 3)
        right.addWidget(self.part_label)
        right.addWidget(self.defect_label)
        counters = QGridLayout()
        self.count_labels: dict[str, QLabel] = {}
        for i, (key, text, colour) in enumerate([("parts", "Parts", "#e8eaed"), ("pass", "Passed", PASS_GREEN),
                                                 ("reject", "Rejected", REJECT_RED),
                                                 ("fault", "Faults", FAULT_AMBER),
                                                 ("rate", "Reject rate", "#e8eaed")]):
            cap = QLabel(text)
            cap.setStyleSheet("font-size: 14pt; color: #9aa0a6;")
            val = QLabel("0" if key != "rate" else "0.0 %")
            val.setStyleSheet(f"font-size: 34pt; font-weight: 800; color: {colour};")
            counters.addWidget(cap, 2 * (i // 3), i % 3)
            counters.addWidget(val, 2 * (i // 3) + 1, i % 3)
            self.count_labels[key] = val
        right.addLayout(counters)
        right.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.view, 3)
        middle.addLayout(right, 2)

        strip = QHBoxLayout()
        self.thumbs = [_Thumb() for _ in range(STRIP)]
        for t in self.thumbs:
            strip.addWidget(t)
        strip.addStretch(1)
        self.alert_label = QLabel("")
        self.alert_label.setWordWrap(True)
        self.alert_label.hide()
        self.help_label = QLabel("Esc: leave full screen")
        self.help_label.setStyleSheet("color: #5f6368; font-size: 10pt;")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 16, 24, 12)
        lay.setSpacing(12)
        lay.addLayout(top)
        lay.addLayout(middle, 1)
        lay.addLayout(strip)
        lay.addWidget(self.alert_label)
        lay.addWidget(self.help_label)

        self._show_counts()
        self.bridge = StationBridge(station, self)
        self.bridge.part.connect(self.on_part)
        self.bridge.alert.connect(self.on_alert)
        self.bridge.state.connect(self.on_state)
        self.bridge.stats.connect(self.on_stats)

    # ---- events (GUI thread) ------------------------------------------------
    @Slot(object)
    def on_part(self, result: Any) -> None:
        verdict = getattr(result, "verdict", "fault")
        if verdict not in ("pass", "reject"):
            verdict = "fault"
        self.counts["parts"] += 1
        self.counts[verdict] += 1
        self.verdict.set_verdict(verdict)
        part = getattr(result, "part", "?")
        self.part_label.setText(f"Part {part}")
        defect = getattr(result, "defect_class", None)
        self.defect_label.setText(defect.replace("_", " ") if defect and verdict != "pass" else "")
        self.defect_label.setStyleSheet(f"font-size: 26pt; font-weight: 700; color: {VERDICT_COLOURS[verdict]};")
        image = getattr(result, "image", None)
        if image is not None:
            self.view.set_image(image)
        self.recent.appendleft((image, verdict, f"{part}  {VERDICT_TEXT[verdict]}"))
        for thumb, item in zip(self.thumbs, list(self.recent) + [None] * STRIP):
            thumb.set_part(*(item or (None, None, "")))
        self._show_counts()

    def _show_counts(self) -> None:
        c = self.counts
        for key in ("parts", "pass", "reject", "fault"):
            self.count_labels[key].setText(str(c[key]))
        rate = (c["reject"] + c["fault"]) / c["parts"] if c["parts"] else 0.0
        self.count_labels["rate"].setText(f"{100 * rate:.1f} %")

    @Slot(str, str)
    def on_alert(self, message: str, level: str) -> None:
        colour = REJECT_RED if level == "error" else FAULT_AMBER if level == "warning" else "#3b82f6"
        self.alert_label.setStyleSheet(f"background: {colour}; color: white; font-size: 16pt; font-weight: 600;"
                                       " padding: 8px 14px; border-radius: 6px;")
        stamp = time.strftime("%H:%M:%S")
        self.alert_label.setText(f"{stamp}   {'⚠  ' if level != 'info' else ''}{message}")
        self.alert_label.show()

    @Slot(str)
    def on_state(self, state: str) -> None:
        words = {"starting": "Starting …", "running": "● Running", "faulted": "■ FAULTED",
                 "stopped": "Stopped"}
        colours = {"running": PASS_GREEN, "faulted": REJECT_RED}
        self.state_label.setText(words.get(state, state))
        self.state_label.setStyleSheet(f"font-size: 18pt; font-weight: 700; color: {colours.get(state, '#9aa0a6')};")
        if state == "running":
            self._was_running = True
        if state == "stopped" and self._was_running and not self.finished:
            self.finished = True
            self.state_label.setText("Finished" if getattr(self.station, "fault", None) is None else "Stopped")
            if self.owns_station:
                QTimer.singleShot(FINISHED_CLOSE_MS, self.close)

    @Slot(dict)
    def on_stats(self, stats: dict) -> None:
        med = stats.get("latency_ms_median")
        if isinstance(med, (int, float)) and math.isfinite(med):
            self.help_label.setText(f"Esc: leave full screen    ·    latency median {med:.0f} ms")

    # ---- keys and closing ------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() != Qt.Key.Key_Escape:
            return super().keyPressEvent(event)
        was_full = self.isFullScreen()
        if was_full:
            self.showNormal()
        if self.owns_station:
            if not self.finished and self.confirm_stop():
                self.close()
        elif not was_full:
            self.close()

    def confirm_stop(self) -> bool:
        answer = QMessageBox.question(self, "Stop the station?",
                                      "Stop inspecting? Parts on the line will no longer be checked.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802
        self.bridge.detach()
        if self.owns_station:
            try:
                self.station.stop()
            except Exception as e:  # noqa: BLE001  closing must always work
                import logging

                logging.getLogger(__name__).warning("stopping the station: %s", e)
        super().closeEvent(event)


def run_kiosk(station: Any) -> int:
    """Start ``station``, show the kiosk full screen until it is closed or the station finishes; stop it.

    Returns 0, or 1 when the station ended with a fault.
    """
    from studio.gui.app import install_excepthook
    from studio.gui.style import STYLE_SHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    install_excepthook()
    window = KioskWindow(station, owns_station=True)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    try:
        station.start()
        window.showFullScreen()
        quit_on_close = _QuitOnClose(window, app)
        app.exec()
        del quit_on_close
    finally:
        try:
            station.stop()
        finally:
            window.bridge.detach()
    return 1 if getattr(station, "fault", None) else 0


class _QuitOnClose:
    """Leave the event loop when the kiosk closes, even inside an app with other windows."""

    def __init__(self, window: KioskWindow, app: QApplication):
        class _Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if obj is window and event.type() == QEvent.Type.Close:
                    QTimer.singleShot(0, app.quit)
                return False

        self.filter = _Filter()
        window.installEventFilter(self.filter)
