"""Step 6, Station: run the inspection on-line and watch every part; open the operator's kiosk view."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGridLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.pages.models_table import list_models
from studio.project.model_card import retirement
from studio.gui.style import FAULT_AMBER, PASS_GREEN, REJECT_RED, REVIEW_VIOLET, VERDICT_COLOURS
from studio.results import rates
from studio.gui.widgets import Banner, ImageView, TaskRunner, error_dialog
from studio.gui.widgets.verdict import CounterTile, VerdictBadge

RECENT_ROWS = 50
ALERT_ROWS = 200


def score_text(score: Any) -> str:
    try:
        s = float(score)
    except (TypeError, ValueError):
        return ""
    return "" if not math.isfinite(s) else f"{s:.4f}"



def plc_spec_tooltip() -> str:
    """What the PLC field takes: the spec forms of the links the studio has (each one parses)."""
    from studio.plc.base import spec_help

    return "The link to the PLC; " + spec_help()

class StationPage(Page):
    title = "Station"
    subtitle = "Run the inspection on the line: camera → model → PLC, every part logged."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.station: Any = None
        self.bridge: Any = None
        self.kiosk: Any = None
        self.counts = rates.empty()
        self._stopping = False

        settings = self._station_settings()
        cam = settings.get("camera")
        cam = cam.get("spec") if isinstance(cam, dict) else cam
        self.camera_edit = QLineEdit(cam or project.camera_spec)
        self.plc_edit = QLineEdit(str(settings.get("plc") or "sim"))
        self.plc_edit.setToolTip(plc_spec_tooltip())
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(220)
        self.start_button = QPushButton("Start station")
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(self.start_station)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_station)
        self.kiosk_button = QPushButton("Open kiosk view")
        self.kiosk_button.clicked.connect(self.open_kiosk)
        form = QGridLayout()
        form.addWidget(QLabel("Camera"), 0, 0)
        form.addWidget(self.camera_edit, 0, 1)
        form.addWidget(QLabel("PLC"), 0, 2)
        form.addWidget(self.plc_edit, 0, 3)
        form.addWidget(QLabel("Model"), 0, 4)
        form.addWidget(self.model_combo, 0, 5)
        form.setColumnStretch(1, 3)
        form.setColumnStretch(3, 1)
        form.setColumnStretch(5, 2)
        self.root_layout.addLayout(form)
        self.state_label = QLabel("Stopped")
        self.state_label.setStyleSheet("font-weight: 600;")
        self.root_layout.addLayout(row(self.start_button, self.stop_button, self.kiosk_button, 12,
                                       self.state_label, stretch_last=True))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)
        if getattr(self, "_settings_problem", None):
            self.banner.show_error(f"station.yaml: {self._settings_problem}")

        # live panel: image + badge on the left, figures, recent parts and alerts on the right
        left = QVBoxLayout()
        self.badge = VerdictBadge(point_size=30, idle_text="WAITING")
        self.part_label = caption("")
        self.part_label.setWordWrap(False)
        self.part_label.setTextFormat(Qt.TextFormat.PlainText)     # a part id from the PLC is text, never markup
        left.addLayout(row(self.badge, self.part_label, stretch_last=True))
        self.view = ImageView(placeholder="The last inspected part appears here.")
        left.addWidget(self.view, 1)
        right = QVBoxLayout()
        tiles = QGridLayout()
        self.tiles = {"parts": CounterTile("Parts", point_size=17),
                      "pass": CounterTile("Passed", colour=PASS_GREEN, point_size=17),
                      "reject": CounterTile("Rejected", colour=REJECT_RED, point_size=17),
                      "fault": CounterTile("Faults", colour=FAULT_AMBER, point_size=17),
                      "review": CounterTile("Review", colour=REVIEW_VIOLET, point_size=17),
                      "rate": CounterTile("Reject rate", point_size=17)}
        self.tiles["rate"].setToolTip("(rejected + faults) / parts; review parts are counted apart")
        for i, key in enumerate(["parts", "pass", "reject", "fault", "review", "rate"]):
            tiles.addWidget(self.tiles[key], i // 3, i % 3)      # two rows of three: fits beside the image
        right.addLayout(tiles)
        self.latency_label = caption("")
        right.addWidget(self.latency_label)
        self.bus_label = caption("")        # the plant bus (MQTT): connected, or away since ...
        right.addWidget(self.bus_label)
        self.central_label = caption("")            # the central store's forwarder (studio.central)
        right.addWidget(self.central_label)
        self.central_label.hide()
        self.recent = QTableWidget(0, 5)
        self.recent.setHorizontalHeaderLabels(["Part", "Verdict", "Score", "Defect", "ms"])
        self.recent.verticalHeader().hide()
        self.recent.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.recent.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        right.addWidget(QLabel("Recent parts"))
        right.addWidget(self.recent, 3)
        from studio.gui.trace_dialog import hook_part_table     # double-click a part: what decided it
        from studio.station import resolve_data_dir

        hook_part_table(self.recent, lambda: getattr(self.station, "data_dir", None) or resolve_data_dir(project),
                        self, project)
        self.alerts = QListWidget()         # the events' alerts; the panel below shows the log's, to acknowledge
        self.alerts.hide()
        from studio.gui.widgets.alerts_panel import AlertsPanel

        from studio.gui.sign_in import operator_name

        self.alerts_panel = AlertsPanel(self._log_path(), who=lambda: operator_name(project))
        right.addWidget(self.alerts_panel, 3)
        from studio.gui.widgets.gate_panel import GatePanel

        self.gate_panel = GatePanel(project)        # the promotion gate, live (hidden without a gate file)
        right.addWidget(self.gate_panel)
        right_w = QWidget()
        right_w.setLayout(right)
        right_w.setMinimumWidth(440)
        self.root_layout.addLayout(row(left, right_w), 1)
        from studio.gui.widgets.monitor_charts import MonitorPanel

        self.monitor_panel = MonitorPanel(show_map=True)    # reject rate per hour with limits, scores, maps
        self.monitor_panel.setFixedHeight(165)
        self.root_layout.addWidget(self.monitor_panel)
        from studio.gui.widgets.shadow_panel import ShadowPanel     # the shadow comparison and the loop, while one runs

        self.shadow_panel = ShadowPanel(project, lambda: getattr(self.station, "data_dir", None))
        self.shadow_panel.feeds(self.gate_panel)        # one read of the log, off the GUI thread, for both
        self.root_layout.addWidget(self.shadow_panel)

        self._show_counts()
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._task_done)
        self.runner.failed.connect(self._start_failed)
        self.runner.running_changed.connect(self._update_controls)
        self._update_controls()

    def _log_path(self) -> Any:
        """The result log the alerts panel shows: the running station's, else the project's data directory's."""
        if self.station is not None:
            return getattr(self.station, "log_path", None)
        try:
            from studio.results.schema import FILE_NAME
            from studio.station import resolve_data_dir

            return resolve_data_dir(self.project, None, self.project.station_settings()) / FILE_NAME
        except Exception:  # noqa: BLE001  no data directory yet: an empty panel
            return None

    def _station_settings(self) -> dict[str, Any]:
        try:
            return self.project.station_settings()
        except Exception as e:
            self._settings_problem = str(e)
            return {}

    # ---- start / stop ------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.station is not None

    @Slot()
    def start_station(self) -> None:
        from studio.station import Station

        if self.station is not None or self.runner.is_running():
            return
        self.banner.clear_message()
        from studio.gui.station_guard import start_allowed

        who = start_allowed(self, self.project, model=self.model_combo.currentData(),    # another model,
                            camera=self.camera_edit.text().strip(), plc=self.plc_edit.text().strip())  # ...: engineer
        if who is None:
            return
        try:
            station = Station(self.project, camera_spec=self.camera_edit.text().strip() or None,
                              plc_spec=self.plc_edit.text().strip() or "sim",
                              model_id=self.model_combo.currentData())
            station.started_by, station.start_reason = who
        except Exception as e:
            self._start_failed(e)
            error_dialog(self, e, "Could not start the station")
            return
        self.attach(station)
        self.state_label.setText("Starting … (opening camera, model and PLC)")
        self.runner.start(lambda ctx: station.start())

    def attach(self, station: Any) -> None:
        """Show ``station``'s events on this page (it is started by ``start_station`` or by the caller)."""
        from studio.gui.station_bridge import StationBridge

        self.detach()
        self.station = station
        self.bridge = StationBridge(station, self)
        self.bridge.part.connect(self.on_part)
        self.bridge.alert.connect(self.on_alert)
        self.bridge.state.connect(self.on_state)
        self.bridge.stats.connect(self.on_stats)
        self.counts = dict.fromkeys(self.counts, 0)
        self.monitor_panel.set_station(station)
        self.alerts_panel.set_log(getattr(station, "log_path", None))
        self.gate_panel.data_dir = getattr(station, "data_dir", None)     # the gate of this station's log
        self.shadow_panel.refresh(force=True)
        self.recent.setRowCount(0)
        self._show_counts()
        self._update_controls()

    def detach(self) -> None:
        if self.bridge is not None:
            self.bridge.detach()
            self.bridge.deleteLater()
        self.bridge = None
        self.station = None

    @Slot()
    def stop_station(self) -> None:
        station = self.station
        if station is None or self.runner.is_running():
            return
        from studio.gui.sign_in import stop_allowed

        if not stop_allowed(self, self.project, station):      # an engineer's, with a reason
            return
        self.state_label.setText("Stopping … (finishing the parts in progress)")
        self._stopping = True
        self.runner.start(lambda ctx: station.stop())

    def _task_done(self, _result: Any) -> None:
        if self._stopping:
            self._stopping = False
            self.detach()
            self.state_label.setText("Stopped")
        self._update_controls()

    def _start_failed(self, err: BaseException) -> None:
        from studio.gui.widgets.errors import describe

        self._stopping = False
        self.banner.show_error(describe(err)[0])
        self.state_label.setText("Stopped")
        self.detach()
        self._update_controls()

    @Slot()
    def open_kiosk(self) -> None:
        from studio.gui.kiosk import KioskWindow

        if self.station is None:
            return
        if self.kiosk is not None:
            self.kiosk.close()
        self.kiosk = KioskWindow(self.station, owns_station=False, counts=self.counts)
        self.kiosk.showFullScreen()

    # ---- events (GUI thread) --------------------------------------------------------
    @Slot(object)
    def on_part(self, result: Any) -> None:
        verdict = rates.add(self.counts, getattr(result, "verdict", "fault"))   # the one count, as the kiosk's
        self.badge.set_verdict(verdict)
        defect = getattr(result, "defect_class", None)
        part_id = getattr(result, "part_id", "") or ""     # the PLC's id of the part (PLC trigger)
        self.part_label.setText(f"Part {getattr(result, 'part', '?')}"
                                + (f" · ID {part_id}" if part_id else "")
                                + (f" · {defect}" if defect else "")
                                + (f" · score {score_text(result.score)}" if score_text(getattr(result, 'score', None)) else ""))
        image = getattr(result, "image", None)
        if image is not None:
            self.view.set_image(image)
        self.recent.insertRow(0)
        part = str(getattr(result, "part", ""))
        values = [f"{part} ({part_id})" if part_id else part, verdict.upper(), score_text(getattr(result, "score", None)),
                  defect or "", f"{float(getattr(result, 'latency_ms', 0.0)):.1f}"]
        for c, v in enumerate(values):
            item = QTableWidgetItem(v)
            if c == 1:
                item.setForeground(Qt.GlobalColor.white)
                from PySide6.QtGui import QColor

                item.setBackground(QColor(VERDICT_COLOURS.get(verdict, FAULT_AMBER)))
            self.recent.setItem(0, c, item)
        if self.recent.rowCount() > RECENT_ROWS:
            self.recent.setRowCount(RECENT_ROWS)
        self._show_counts()

    @Slot(str, str)
    def on_alert(self, message: str, level: str) -> None:
        self.alerts.insertItem(0, f"[{level}] {message}")
        if level == "error":
            self.alerts.item(0).setForeground(Qt.GlobalColor.red)
        while self.alerts.count() > ALERT_ROWS:
            self.alerts.takeItem(self.alerts.count() - 1)

    @Slot(str)
    def on_state(self, state: str) -> None:
        self.state_label.setText({"starting": "Starting …", "running": "Running",
                                  "faulted": "FAULTED — see the alerts, then press Stop",
                                  "stopped": "Stopped"}.get(state, state))

    @Slot(dict)
    def on_stats(self, stats: dict) -> None:
        """The station's own figures: they also cover parts whose events this view missed."""
        try:
            self.counts = rates.from_stats(stats)
        except (KeyError, TypeError, ValueError):
            pass
        else:
            self._show_counts()
        med, p99 = stats.get("latency_ms_median"), stats.get("latency_ms_p99")
        if med is not None:
            self.latency_label.setText(f"Latency from trigger to PLC: median {med} ms, p99 {p99} ms")
        from studio.plant_bus import status_line

        self.bus_label.setText(status_line(stats.get("plant_bus")))
        from studio.central.forwarder import describe_lag

        self.central_label.setText(describe_lag(stats.get("central")))
        self.central_label.setVisible(bool(self.central_label.text()))

    def _show_counts(self) -> None:
        c = self.counts
        for key in ("parts", *rates.BUCKETS):
            self.tiles[key].set_value(c.get(key, 0))
        self.tiles["rate"].set_value(rates.percent(rates.reject_rate(c)))

    # ---- page -------------------------------------------------------------------------
    def _update_controls(self, *_: Any) -> None:
        busy = self.runner.is_running()
        attached = self.station is not None
        self.start_button.setEnabled(not busy and not attached and self.model_combo.currentData() is not None)
        self.stop_button.setEnabled(not busy and attached)
        self.kiosk_button.setEnabled(attached)
        for w in (self.camera_edit, self.plc_edit, self.model_combo):
            w.setEnabled(not busy and not attached)

    def refresh(self) -> None:
        keep = self.model_combo.currentData()
        self.model_combo.clear()
        try:
            cards = list_models(self.project)
        except Exception:
            cards = []
        cards = [c for c in cards if not retirement(c)]     # a retired model is not offered to the line
        for card in cards:
            self.model_combo.addItem(str(card.get("model_id")), card.get("model_id"))
        if not cards:
            self.model_combo.addItem("(no trained model)", None)
            if self.station is None:
                self.banner.show_info("Train a model (Ctrl+4) and choose its threshold (Ctrl+5) before "
                                      "running the station.")
        elif keep is not None and self.model_combo.findData(keep) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(keep))
        elif self._live_model() is not None and self.model_combo.findData(self._live_model()) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(self._live_model()))  # the promoted one
        if cards and self.banner.property("role") == "banner-info":
            self.banner.clear_message()
        if cards:
            self._warn_unusable_newest()
        self._update_controls()

    def _live_model(self) -> str | None:
        from studio.project.live import live_model_id

        try:
            return live_model_id(self.project)
        except Exception:  # noqa: BLE001  an unreadable live.yaml is a project-check problem
            return None

    def _warn_unusable_newest(self) -> None:
        """An unreadable newest card is never passed over in silence: the list offers the older models only."""
        from studio.core.errors import ModelError
        from studio.inference.model import newest_model_id

        try:
            newest_model_id(self.project)
        except ModelError as e:
            self.banner.show_error(f"{e.message}. The list offers the older models: choose one on purpose, "
                                   f"or fix it ({e.hint})")
        except Exception:  # noqa: BLE001  a banner must never break the page
            pass

    def shutdown(self) -> None:
        self.runner.shutdown()
        if self.kiosk is not None:
            self.kiosk.close()
            self.kiosk = None
        station = self.station
        self.detach()
        if station is not None:
            try:
                station.stop()
            except Exception:  # closing the window must always work
                pass
