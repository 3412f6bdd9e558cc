"""Step 2, Capture: live view from the line camera, save frames, or add simulated parts."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QLabel, QLineEdit, QProgressBar, QPushButton, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.widgets import Banner, ImageView, TaskRunner, error_dialog
from studio.gui.widgets.live_panels import CameraControls, LiveHistogram


PANEL_PERIOD_S = 0.125       # histogram and frame figures refresh at 8 Hz; the picture at the camera's rate


def is_sim(spec: str) -> bool:
    return spec.strip().lower().split(":", 1)[0] == "sim"


class CapturePage(Page):
    title = "Capture"
    subtitle = "Connect the line camera, check the live view, and save images of good and defective parts."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.worker = None
        self.current_frame: Any = None
        self.captured_this_session = 0
        self.error_box = None
        self._sim_before = self._sim_n = 0
        self._requested: dict[str, Any] = {}
        self._last_panels = 0.0

        self.spec_edit = QLineEdit(project.camera_spec)
        self.spec_edit.setPlaceholderText("e.g. sim:seed=7   opencv:0   genicam:/path/producer.cti")
        self.spec_edit.setToolTip("Camera spec: sim[:k=v,...], genicam:<producer.cti>[#serial], "
                                  "opencv:<index>, video:<file>, folder:<dir>")
        self.spec_edit.returnPressed.connect(self.connect_camera)
        self.spec_edit.textChanged.connect(self._update_controls)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setProperty("role", "primary")
        self.connect_button.clicked.connect(self.connect_camera)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect_camera)
        self.root_layout.addLayout(row(QLabel("Camera"), self.spec_edit, self.connect_button,
                                       self.disconnect_button))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)

        self.view = ImageView(placeholder="Not connected.\nPress Connect to see the live view.", zoomable=True)
        self.view.setToolTip("wheel: zoom, drag: pan, double-click: whole image")
        self.histogram = LiveHistogram()
        self.clipping_check = QCheckBox("Clipping")
        self.clipping_check.setChecked(True)
        self.clipping_check.setToolTip("paint clipped white pixels red and crushed black ones blue")
        self.peaking_check = QCheckBox("Focus peaking")
        self.peaking_check.setToolTip("paint the sharpest edges green: turn the focus ring for the most green")
        self.clipping_check.toggled.connect(self._overlays_changed)
        self.peaking_check.toggled.connect(self._overlays_changed)
        self.stats_label = QLabel("")
        self.stats_label.setProperty("role", "caption")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        view_col = QVBoxLayout()
        view_col.addWidget(self.view, 1)
        view_col.addLayout(row(self.clipping_check, self.peaking_check, self.stats_label, stretch_last=True))
        view_col.addWidget(self.histogram)
        self.controls = CameraControls()
        self.controls.feature_changed.connect(self._feature_changed)
        side = QVBoxLayout()
        side.setSpacing(10)
        self.capture_button = QPushButton("Capture  [Space]")
        self.capture_button.setProperty("role", "primary")
        self.capture_button.setMinimumHeight(44)
        self.capture_button.clicked.connect(self.capture)
        side.addWidget(self.capture_button)
        self.camera_label = caption("")
        side.addWidget(self.camera_label)
        self.count_label = QLabel()
        self.count_label.setProperty("role", "big-number")
        side.addWidget(self.count_label)
        self.count_caption = caption("images in the project")
        side.addWidget(self.count_caption)

        self.sim_box = QGroupBox("Simulated parts")
        sim = QVBoxLayout(self.sim_box)
        sim.addWidget(caption("The simulated camera knows which parts are defective: "
                              "these images arrive labelled."))
        self.sim_count = QSpinBox()
        self.sim_count.setRange(1, 10_000)
        self.sim_count.setValue(40)
        self.sim_button = QPushButton("Add 40 simulated parts")
        self.sim_count.valueChanged.connect(lambda n: self.sim_button.setText(f"Add {n} simulated parts"))
        self.sim_button.clicked.connect(self.add_simulated)
        sim.addLayout(row(QLabel("Parts"), self.sim_count, stretch_last=True))
        sim.addWidget(self.sim_button)
        self.sim_progress = QProgressBar()
        self.sim_progress.setRange(0, 1000)
        self.sim_cancel = QPushButton("Cancel")
        self.sim_cancel.clicked.connect(lambda: self.sim_runner.cancel())
        sim.addLayout(row(self.sim_progress, self.sim_cancel))
        self.sim_status = caption("")
        sim.addWidget(self.sim_status)
        side.addWidget(self.sim_box)
        side.addWidget(self.controls)
        side.addStretch(1)
        side_w = QWidget()
        side_w.setLayout(side)
        scroll = QScrollArea()
        scroll.setWidget(side_w)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFixedWidth(320)
        self.root_layout.addLayout(row(view_col, scroll), 1)

        self.sim_runner = TaskRunner(self)
        self.sim_runner.progress.connect(self._sim_progress)
        self.sim_runner.status.connect(self.sim_status.setText)
        self.sim_runner.finished.connect(self._sim_done)
        self.sim_runner.cancelled.connect(
            lambda: self._sim_ended(f"Cancelled after adding {len(self.project.dataset) - self._sim_before} parts."))
        self.sim_runner.failed.connect(lambda e: self._sim_ended(f"Stopped: {e}"))
        self.sim_runner.running_changed.connect(self._update_controls)

        self.capture_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.capture_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.capture_shortcut.activated.connect(self.capture)
        self._update_controls()

    # ---- camera ------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.worker is not None

    @Slot()
    def connect_camera(self) -> None:
        from studio.gui.camera_worker import CameraWorker

        self.disconnect_camera()
        spec = self.spec_edit.text().strip()
        self.banner.clear_message()
        self.view.set_image(None)
        self.view.set_placeholder(f"Connecting to {spec} …")
        w = CameraWorker(spec, self.project.camera_settings)
        w.clipping, w.peaking = self.clipping_check.isChecked(), self.peaking_check.isChecked()
        q = Qt.ConnectionType.QueuedConnection
        w.opened.connect(self._on_opened, q)
        w.features_ready.connect(self._on_features, q)
        w.frame_ready.connect(self._on_frame, q)
        w.camera_event.connect(self._on_camera_event, q)
        w.feature_done.connect(self._on_feature_done, q)
        w.failed.connect(self._on_camera_failed, q)
        self.worker = w
        w.start()
        self._update_controls()

    @Slot()
    def disconnect_camera(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.stop()
            w.deleteLater()
        self.current_frame = None
        self.camera_label.setText("")
        self.stats_label.setText("")
        self.controls.set_features({})
        self.view.set_image(None)
        self.view.set_placeholder("Not connected.\nPress Connect to see the live view.")
        self._update_controls()

    @Slot(dict)
    def _on_opened(self, info: dict) -> None:
        if self.sender() is not self.worker:
            return
        what = " ".join(str(info.get(k)) for k in ("model", "serial") if info.get(k))
        size = f"{info.get('width')} × {info.get('height')}" if info.get("width") else ""
        modes = {"free": "free-run", "software": "software trigger", "hardware": "hardware trigger"}
        trigger = f"  · {modes.get(info['trigger'], info['trigger'])}" if info.get("trigger") else ""
        self.camera_label.setText(f"Connected: {what}  {size}{trigger}".strip())

    @Slot()
    def _on_frame(self) -> None:
        w = self.worker
        if w is None or self.sender() is not w:
            return
        latest = w.take_frame()
        if latest is None:
            return
        frame, analysis = latest
        self.current_frame = frame
        # analyse at the size the screen shows: no wasted pixels, and zooming in brings the detail back
        w.display_width = int(self.view.width() * self.view.zoom * self.view.devicePixelRatioF()) + 1
        self.view.set_image(analysis["display"] if analysis is not None else frame.image)
        now = time.monotonic()
        if now - self._last_panels >= PANEL_PERIOD_S:      # the eye reads figures at a few Hz: spare the GUI
            self._last_panels = now
            if analysis is not None:
                self.histogram.show_histogram(analysis["histogram"], analysis["mean"], analysis["clipped_dark"],
                                              analysis["clipped_bright"])
            self.stats_label.setText(self.stats_text(frame, w.stats()))
            self._update_controls()

    @staticmethod
    def stats_text(frame: Any, st: dict[str, Any]) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(frame.timestamp)) + f".{int(frame.timestamp % 1 * 1000):03d}"
        parts = [f"frame {frame.frame_id}", stamp, f"{st.get('shown_fps', 0):.1f} fps"]
        for key, word in (("dropped", "dropped"), ("incomplete", "incomplete"), ("reconnects", "reconnects")):
            if key in st:
                parts.append(f"{st[key]} {word}")
        return " · ".join(parts)

    @Slot()
    def _overlays_changed(self, *_: Any) -> None:
        if self.worker is not None:
            self.worker.clipping, self.worker.peaking = self.clipping_check.isChecked(), self.peaking_check.isChecked()

    @Slot(dict)
    def _on_features(self, features: dict) -> None:
        if self.sender() is self.worker:
            self.controls.set_features(features)

    @Slot(str, object)
    def _feature_changed(self, name: str, value: Any) -> None:
        if self.worker is not None:
            self._requested[name] = value
            self.worker.set_feature(name, value)

    @Slot(str, bool, str)
    def _on_feature_done(self, name: str, ok: bool, why: str) -> None:
        if self.sender() is not self.worker:
            return
        if not ok:
            self.banner.show_error(f"The camera did not take {name}: {why}")
            return
        # camera settings are part of the project: the station and the next open use exactly them
        value = self._requested.pop(name, None)
        if self.spec_edit.text().strip() == self.project.camera_spec and value is not None:
            self.project.camera_settings[name] = value
            self.project.save()
            self.banner.show_info(f"{name} set to {value}; saved with the project's camera settings.")
        else:
            self.banner.show_info(f"{name} set to {value} (this camera is not the project's: not saved).")

    @Slot(str, dict)
    def _on_camera_event(self, kind: str, payload: dict) -> None:
        if self.sender() is not self.worker:
            return
        if kind == "lost":
            self.banner.show_error(f"Camera lost — reconnecting … ({payload.get('message', '')})")
            self.view.set_placeholder("Camera lost — reconnecting …")
        elif kind == "reconnected":
            self.banner.show_info(f"Camera back ({payload.get('message', '')}); the live view continues.")

    @Slot(object)
    def _on_camera_failed(self, err: BaseException) -> None:
        if self.sender() is not self.worker:
            return
        from studio.gui.widgets.errors import describe

        self.disconnect_camera()
        text, _ = describe(err)
        self.banner.show_error(f"Camera problem: {text}")
        self.view.set_placeholder("No live view — see the message above.")
        self.error_box = error_dialog(self, err, "Camera problem")

    # ---- saving frames -------------------------------------------------------
    @Slot()
    def capture(self) -> None:
        frame = self.current_frame
        if frame is None or self.sim_runner.is_running():
            return
        info = self.worker.info if self.worker is not None else {}
        meta = {**frame.meta, "camera": self.spec_edit.text().strip(), "frame_id": frame.frame_id,
                "timestamp": frame.timestamp, "camera_info": info}
        stem = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(frame.timestamp))}-{frame.frame_id:06d}"
        try:
            rec = self.project.dataset.add_image(frame.image, stem=stem, source="capture", meta=meta)
        except Exception as e:
            self.banner.show_error(f"Could not save the image: {e}")
            error_dialog(self, e, "Could not save the image")
            return
        self.captured_this_session += 1
        self.banner.show_info(f"Saved {rec.id} ({rec.split} split).")
        self.refresh()
        self.changed.emit()

    # ---- simulated parts -----------------------------------------------------
    def _next_sim_index(self, spec: str) -> int:
        """Continue after the simulated frames already in the project, so no part is added twice."""
        from studio.capture.acquire import next_sim_start

        return next_sim_start(self.project, spec)

    @Slot()
    def add_simulated(self) -> None:
        from studio.capture.acquire import capture_to_project
        from studio.capture.camera import open_camera

        spec = self.spec_edit.text().strip()
        if not is_sim(spec) or self.sim_runner.is_running():
            return
        n = self.sim_count.value()
        settings = {**self.project.camera_settings, "start": self._next_sim_index(spec)}
        project, labeler = self.project, "simulator"

        def work(ctx: Any) -> int:
            with open_camera(spec, settings) as cam:
                return len(capture_to_project(project, cam, n, label_truth=True, labeler=labeler, task=ctx))

        self.banner.clear_message()
        self._sim_before, self._sim_n = len(self.project.dataset), n
        self.sim_progress.setValue(0)
        self.sim_status.setText(f"Adding {n} simulated parts …")
        self.sim_runner.start(work)

    def _sim_progress(self, f: float) -> None:
        self.sim_progress.setValue(int(f * 1000))
        self.count_label.setText(str(self._sim_before + round(f * self._sim_n)))

    def _sim_done(self, added: int) -> None:
        self._sim_ended(f"Added {added} labelled parts.")

    def _sim_ended(self, text: str) -> None:
        self.sim_status.setText(text)
        self.refresh()
        self.changed.emit()

    # ---- page ----------------------------------------------------------------
    @Slot()
    def _update_controls(self, *_: Any) -> None:
        busy = self.sim_runner.is_running()
        self.connect_button.setEnabled(not busy)
        self.disconnect_button.setEnabled(self.connected)
        self.capture_button.setEnabled(self.current_frame is not None and not busy)
        sim_ok = is_sim(self.spec_edit.text())
        self.sim_box.setVisible(sim_ok)
        self.sim_button.setEnabled(not busy)
        self.sim_count.setEnabled(not busy)
        self.sim_cancel.setVisible(busy)
        self.sim_progress.setVisible(busy or self.sim_progress.value() > 0)

    def refresh(self) -> None:
        n = len(self.project.dataset)
        self.count_label.setText(str(n))
        extra = f" ({self.captured_this_session} captured now)" if self.captured_this_session else ""
        self.count_caption.setText(f"image{'s' if n != 1 else ''} in the project{extra}")
        self._update_controls()

    def shutdown(self) -> None:
        self.sim_runner.shutdown()
        self.disconnect_camera()
