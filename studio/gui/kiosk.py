"""The operator's full-screen view of a running station.

It only listens to ``station.events`` (through ``StationBridge``): the last
part large with a huge coloured verdict, the last few parts, the counts and
the alerts. Text sizes follow the window, so it reads from across the cell
on a 1920x1080 panel and still fits a 1280x800 one.
``run_kiosk(station)`` is what ``studio station run --kiosk`` calls.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import (QApplication, QFrame, QGridLayout, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from studio.gui.style import FAULT_AMBER, PASS_GREEN, REJECT_RED, REVIEW_VIOLET, VERDICT_COLOURS
from studio.results import rates
from studio.gui.widgets.image_view import ImageView
from studio.gui.widgets.verdict import VERDICT_TEXT, VerdictBadge

STRIP = 8
FINISHED_CLOSE_MS = 2500        # after the last part (max_parts), keep the result up this long
STATE_WORDS = {"starting": "Starting …", "running": "● Running", "faulted": "■ FAULTED", "stopped": "Stopped",
               "no station": "No station running", "not responding": "■ Station not responding"}
STATE_COLOURS = {"running": PASS_GREEN, "faulted": REJECT_RED, "not responding": REJECT_RED}


class _Thumb(QFrame):
    """One of the last parts: image framed in its verdict's colour, part number and verdict below."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("thumb")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 2)
        lay.setSpacing(2)
        self.view = ImageView(placeholder="", background="#111111")
        self.view.setMinimumSize(60, 45)
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.PlainText)   # the caption may hold the PLC's part id
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.text)
        self.point_size = 12
        self.verdict: str | None = None
        self.set_part(None, None, "")

    def set_part(self, image: Any, verdict: str | None, caption: str) -> None:
        self.verdict = verdict
        self.view.set_image(image)
        self.text.setText(caption)
        self._style()

    def set_point_size(self, size: int) -> None:
        self.point_size = size
        self._style()

    def _style(self) -> None:
        colour = VERDICT_COLOURS.get(self.verdict or "", "#2a2e35")
        self.setStyleSheet(f"QFrame#thumb {{ border: 4px solid {colour}; border-radius: 6px; background: #111; }}"
                           f" QLabel {{ color: {colour if self.verdict else '#777'}; font-weight: 700;"
                           f" font-size: {self.point_size}pt; border: none; }}")


class KioskWindow(QWidget):
    def __init__(self, station: Any, *, owns_station: bool = True, counts: dict[str, int] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        from studio.gui.station_bridge import StationBridge
        from studio.gui.style import app_icon

        self.setWindowIcon(app_icon())
        self.station = station
        self.owns_station = owns_station
        # a station in another process (studio.station.handle.AttachedStation): closing this view
        # leaves it running; stopping it is a request the station obeys
        self.attached = bool(getattr(station, "attached", False))
        self.counts = rates.empty()
        self.counts.update({k: int(v) for k, v in (counts or {}).items() if k in self.counts})
        self.recent: deque[tuple[Any, str, str]] = deque(maxlen=STRIP)
        self.strip_parts: deque[int | None] = deque(maxlen=STRIP)     # the part number of each thumbnail
        self._was_running = False
        self.finished = False
        self.scale = 1.0
        self.setWindowTitle("Inspection station")
        self.setObjectName("kiosk")
        self.setStyleSheet("QWidget#kiosk { background: #0e1013; } QLabel { color: #e8eaed; }")

        project = getattr(station, "project", None)
        self.title = QLabel(getattr(project, "name", "") or "Inspection station")
        self.state_label = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.state_label)

        self.view = ImageView(placeholder="Waiting for the first part …", background="#000000")
        self.verdict = VerdictBadge(point_size=96, idle_text="READY")
        self.verdict.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.verdict.setMinimumSize(200, 100)
        self.part_label = QLabel("")
        self.part_label.setTextFormat(Qt.TextFormat.PlainText)     # a part id from the PLC is text, never markup
        self.defect_label = QLabel("")
        for lab in (self.part_label, self.defect_label):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.last_part: tuple[int, str] | None = None      # (part, verdict) the operator may overrule
        self.wrong_button = QPushButton("Wrong verdict?  [W]")
        self.wrong_button.setObjectName("wrongVerdict")
        self.wrong_button.setEnabled(False)
        self.wrong_button.setToolTip("The station was wrong about the part shown: send it to the review queue")
        self.wrong_button.clicked.connect(self.disagree)
        counters = QGridLayout()
        counters.setVerticalSpacing(0)
        self.count_labels: dict[str, QLabel] = {}
        self.count_captions: list[QLabel] = []
        self._count_colours: dict[str, str] = {}
        for i, (key, text, colour) in enumerate([("parts", "Parts", "#e8eaed"), ("pass", "Passed", PASS_GREEN),
                                                 ("reject", "Rejected", REJECT_RED),
                                                 ("fault", "Faults", FAULT_AMBER),
                                                 ("review", "Review", REVIEW_VIOLET),
                                                 ("rate", "Reject rate", "#e8eaed")]):
            cap = QLabel(text)
            val = QLabel("")
            counters.addWidget(cap, 2 * (i // 3), i % 3)
            counters.addWidget(val, 2 * (i // 3) + 1, i % 3)
            self.count_labels[key] = val
            self.count_captions.append(cap)
            self._count_colours[key] = colour
        right = QVBoxLayout()
        right.addWidget(self.verdict, 3)
        right.addWidget(self.part_label)
        right.addWidget(self.defect_label)
        right.addWidget(self.wrong_button, 0, Qt.AlignmentFlag.AlignHCenter)
        from studio.gui.widgets.incumbent_keys import IncumbentKeys

        self.incumbent_keys = IncumbentKeys(station)        # shadow mode only: P / R for the part shown
        right.addWidget(self.incumbent_keys)
        if self.incumbent_keys.blind:
            self.verdict.idle_text = "P / R"      # the inspector's call: the keys below
            self.verdict.set_verdict(None)
        from studio.gui.widgets.shadow_panel import ShadowPanel     # hidden without shadow rows / incumbent verdicts

        self.shadow_panel = ShadowPanel(project, getattr(station, "data_dir", None), dark=True, thumb=40,
                                        compact=True, count=4)
        right.addWidget(self.shadow_panel)
        right.addSpacing(8)
        right.addLayout(counters)
        middle = QHBoxLayout()
        middle.setSpacing(20)
        middle.addWidget(self.view, 3)
        middle.addLayout(right, 2)

        self.strip = QHBoxLayout()
        self.thumbs = [_Thumb() for _ in range(STRIP)]
        for t in self.thumbs:
            self.strip.addWidget(t, 1)
        self.strip_widget = QWidget()
        self.strip_widget.setLayout(self.strip)
        self.strip.setContentsMargins(0, 0, 0, 0)
        self.alert_label = QLabel("")
        self.alert_label.setWordWrap(True)
        self.alert_label.hide()
        self._alert_colour = FAULT_AMBER
        self.help_label = QLabel("Esc: leave full screen    ·    W: wrong verdict")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 14, 24, 10)
        lay.setSpacing(10)
        lay.addLayout(top)
        lay.addLayout(middle, 1)
        lay.addWidget(self.strip_widget)
        from studio.gui.widgets.alerts_panel import AlertsPanel
        from studio.gui.widgets.monitor_charts import MonitorPanel

        self.monitor_panel = MonitorPanel(station, dark=True)       # reject rate per hour, score histogram
        from studio.gui.sign_in import operator_name

        self.alerts_panel = AlertsPanel(getattr(station, "log_path", None), dark=True,     # with Acknowledge
                                        who=lambda: operator_name(getattr(station, "project", None)))
        self.monitor_row = QWidget()
        monitor_lay = QHBoxLayout(self.monitor_row)
        monitor_lay.setContentsMargins(0, 0, 0, 0)
        monitor_lay.addWidget(self.monitor_panel, 3)
        monitor_lay.addWidget(self.alerts_panel, 2)
        lay.addWidget(self.monitor_row)
        lay.addWidget(self.alert_label)
        lay.addWidget(self.help_label)

        self._apply_scale()
        self._show_counts()
        self.on_state(str(getattr(station, "state", "") or "starting"))
        self.bridge = StationBridge(station, self)
        self.bridge.part.connect(self.on_part)
        self.bridge.alert.connect(self.on_alert)
        self.bridge.state.connect(self.on_state)
        self.bridge.stats.connect(self.on_stats)

    # ---- sizes -----------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        scale = max(0.45, min(1.6, min(self.width() / 1920, self.height() / 1080)))
        if abs(scale - self.scale) > 0.02:
            self.scale = scale
            self._apply_scale()
        super().resizeEvent(event)

    def _pt(self, size: float) -> int:
        return max(8, int(round(size * self.scale)))

    def _apply_scale(self) -> None:
        self.title.setStyleSheet(f"font-size: {self._pt(22)}pt; font-weight: 600;")
        self.verdict.point_size = self._pt(110)
        self.verdict.set_verdict(self.verdict.verdict)
        self.part_label.setStyleSheet(f"font-size: {self._pt(26)}pt;")
        self._style_defect()
        for cap in self.count_captions:
            cap.setStyleSheet(f"font-size: {self._pt(16)}pt; color: #9aa0a6;")
        for key, val in self.count_labels.items():
            val.setStyleSheet(f"font-size: {self._pt(44)}pt; font-weight: 800; color: {self._count_colours[key]};")
        for t in self.thumbs:
            t.set_point_size(self._pt(14))
        self.strip_widget.setFixedHeight(int(190 * self.scale))
        if hasattr(self, "monitor_row"):
            self.monitor_row.setFixedHeight(max(110, int(170 * self.scale)))
        self._style_alert()
        self.help_label.setStyleSheet(f"color: #5f6368; font-size: {self._pt(11)}pt;")
        self.wrong_button.setStyleSheet(
            f"QPushButton {{ font-size: {self._pt(15)}pt; color: #e8eaed; background: #2a2f36;"
            f" border: 1px solid #5f6368; border-radius: 6px; padding: {self._pt(6)}px {self._pt(18)}px; }}"
            " QPushButton:disabled { color: #4b5058; border-color: #33373d; }")
        self._style_state()

    def _style_defect(self) -> None:
        colour = VERDICT_COLOURS.get(self.verdict.verdict or "", "#e8eaed")
        self.defect_label.setStyleSheet(f"font-size: {self._pt(32)}pt; font-weight: 700; color: {colour};")

    def _style_alert(self) -> None:
        self.alert_label.setStyleSheet(f"background: {self._alert_colour}; color: white; font-weight: 600;"
                                       f" font-size: {self._pt(18)}pt; padding: 8px 14px; border-radius: 6px;")

    def _style_state(self) -> None:
        colour = STATE_COLOURS.get(getattr(self, "_state", ""), "#9aa0a6")
        self.state_label.setStyleSheet(f"font-size: {self._pt(22)}pt; font-weight: 700; color: {colour};")

    # ---- events (GUI thread) ------------------------------------------------
    @Slot(object)
    def on_part(self, result: Any) -> None:
        # the one count (studio.results.rates, as the station's stats); review: its own tile
        verdict = rates.add(self.counts, getattr(result, "verdict", "fault"))
        blind = self.incumbent_keys.blind       # shadow mode: the model's verdict is not shown to the inspector
        self.verdict.set_verdict(None if blind else verdict)
        part = getattr(result, "part", "?")
        part_id = getattr(result, "part_id", "") or ""       # the PLC's id of the part, when it gave one
        self.part_label.setText(f"Part {part}  ·  ID {part_id}" if part_id else f"Part {part}")
        self.last_part = (part, verdict) if isinstance(part, int) and verdict != "fault" else None
        self.shown_part = part if isinstance(part, int) else None      # what a double-click traces
        self.strip_parts.appendleft(self.shown_part)                       # ... and on a thumbnail, its part
        self.wrong_button.setEnabled(self.last_part is not None and not blind)
        self.incumbent_keys.set_part(part)
        defect = getattr(result, "defect_class", None)
        self.defect_label.setText(defect.replace("_", " ") if defect and verdict != "pass" and not blind else "")
        self._style_defect()
        image = getattr(result, "image", None)
        if image is not None:
            self.view.set_image(image)
        self.recent.appendleft((image, None, f"{part_id or part}") if blind
                               else (image, verdict, f"{part_id or part}  {VERDICT_TEXT[verdict]}"))
        for thumb, item in zip(self.thumbs, list(self.recent) + [None] * STRIP):
            thumb.set_part(*(item or (None, None, "")))
        self._show_counts()

    def _show_counts(self) -> None:
        c = self.counts
        blind = self.incumbent_keys.blind       # per-part counts would give the hidden verdict away
        for key in ("parts", *rates.BUCKETS):
            self.count_labels[key].setText(str(c.get(key, 0)) if key == "parts" or not blind else "—")
        self.count_labels["rate"].setText("—" if blind else rates.percent(rates.reject_rate(c)))

    @Slot(str, str)
    def on_alert(self, message: str, level: str) -> None:
        self._alert_colour = REJECT_RED if level == "error" else FAULT_AMBER if level == "warning" else "#3b82f6"
        self._style_alert()
        stamp = time.strftime("%H:%M:%S")
        self.alert_label.setText(f"{stamp}   {'⚠  ' if level != 'info' else ''}{message}")
        self.alert_label.show()

    @Slot(str)
    def on_state(self, state: str) -> None:
        self._state = state
        self.state_label.setText(STATE_WORDS.get(state, state))
        self._style_state()
        if state == "running":
            self._was_running = True
            if self.attached and not self.owns_station:
                self.finished = False           # the station was started again: this view follows the new run
        if state == "stopped" and self._was_running and not self.finished:
            self.finished = True
            self.state_label.setText("Finished" if getattr(self.station, "fault", None) is None else "Stopped")
            if self.owns_station:
                QTimer.singleShot(FINISHED_CLOSE_MS, self.close)

    @Slot(dict)
    def on_stats(self, stats: dict) -> None:
        """The station's own figures: they also cover parts this view joined too late to see."""
        try:
            self.counts = rates.from_stats(stats)
        except (KeyError, TypeError, ValueError):
            pass
        else:
            self._show_counts()
        med = stats.get("latency_ms_median")
        if isinstance(med, (int, float)) and math.isfinite(med):
            self.help_label.setText(f"Esc: leave full screen    ·    W: wrong verdict    ·    latency median {med:.0f} ms")

    @Slot()
    def disagree(self) -> None:
        """The operator overrules the station on the part shown: it goes to the review queue."""
        if self.last_part is None:
            return
        from studio.gui.widgets.disagree import DisagreeDialog
        from studio.gui.widgets.errors import error_dialog
        from studio.station.feedback import send_back

        part, verdict = self.last_part
        project = self.station.project
        dialog = DisagreeDialog(part, verdict, project.criteria.class_names(), self)
        if not dialog.exec():
            return
        a = dialog.answer()
        try:
            out = send_back(project, self.station.data_dir, part, a["verdict"], a["defect_class"],
                            operator=a["operator"], note=a["note"])
        except Exception as e:  # a refusal is a message, never a crash of the kiosk
            error_dialog(self, e, "Not sent to review")
            return
        self.on_alert(f"part {part} sent to review: {a['operator']} says {out['operator_verdict'].upper()}", "info")

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        """The engineer's look behind the verdict shown: its traceability chain (studio trace)."""
        part = getattr(self, "shown_part", None)
        widget = self.childAt(event.position().toPoint())
        while widget is not None and not isinstance(widget, _Thumb):
            widget = widget.parentWidget()
        if widget is not None:
            i = self.thumbs.index(widget)
            part = self.strip_parts[i] if i < len(self.strip_parts) else None
        if part is None:
            return super().mouseDoubleClickEvent(event)
        from studio.gui.trace_dialog import show_trace

        self.trace_dialog = show_trace(self, self.station.data_dir, part)

    # ---- keys and closing ------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_W and self.wrong_button.isEnabled():
            return self.disagree()
        if self.incumbent_keys.handle_key(event.key()):
            return None
        if event.key() != Qt.Key.Key_Escape:
            return super().keyPressEvent(event)
        was_full = self.isFullScreen()
        if was_full:
            self.showNormal()
        if (self.owns_station or self.attached) and not self.finished:
            if self.confirm_stop():
                self.stop_station()
        elif not was_full and not self.owns_station:
            self.close()

    def stop_station(self) -> None:
        """Stop the station: here, by closing (closeEvent stops it); attached, by the station's request."""
        if not self.attached:
            self.close()
            return
        from studio.gui.widgets.errors import error_dialog

        from studio.gui.kiosk_lock import stop_as

        try:
            self.station.stop(**stop_as(self))     # the engineer who unlocked the kiosk (station.stopped)
        except Exception as e:  # a refusal is a message, never a crash of the kiosk
            error_dialog(self, e, "The station was not asked to stop")
            return
        self.on_alert("stop requested: the station finishes the parts it has taken", "info")

    def confirm_stop(self) -> bool:
        answer = QMessageBox.question(self, "Stop the station?",
                                      "Stop inspecting? Parts on the line will no longer be checked.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802
        self.bridge.detach()
        if self.owns_station and not self.attached:
            from studio.gui.kiosk_lock import stop_as

            try:
                self.station.stop(**stop_as(self))
            except Exception as e:  # closing must always work
                import logging

                logging.getLogger(__name__).warning("stopping the station: %s", e)
        super().closeEvent(event)


class _QuitOnClose(QObject):
    """Leave the event loop when the kiosk closes, even inside an app with other windows."""

    def __init__(self, window: KioskWindow, app: QApplication):
        super().__init__()
        self.window, self.app = window, app
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.window and event.type() == QEvent.Type.Close:
            QTimer.singleShot(0, self.app.quit)
        return False


def run_kiosk(station: Any) -> int:
    """Start ``station``, show the kiosk full screen until it is closed or the station finishes; stop it.

    Returns ``studio.station.exit_codes.for_station``: 0, or 3 when the station
    ended with a fault. Errors starting the station (camera, model, PLC)
    propagate as they are, for the caller to show (``studio`` exits 2).
    """
    from studio.gui.exception_hook import install_excepthook
    from studio.gui.style import STYLE_SHEET, app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
    install_excepthook()
    from studio.gui.gc_policy import collect_on_gui_thread

    collect_on_gui_thread(app)
    window = KioskWindow(station, owns_station=True)
    quit_on_close = _QuitOnClose(window, app)
    from studio.gui.kiosk_lock import lock_kiosk

    lock = lock_kiosk(window, station)      # after _QuitOnClose: it sees a close first (an engineer's PIN)
    try:
        station.start()
        window.showFullScreen()
        app.exec()
    finally:
        window.removeEventFilter(quit_on_close)
        lock.release()
        try:
            station.stop()
        finally:
            window.bridge.detach()
            window.close()
    from studio.station.exit_codes import for_station

    return for_station(station)
