"""Step 1, Lighting: audit the lighting (the same code as ``studio lighting audit``), keep a baseline.

The audit runs on a worker thread (``TaskRunner``) with progress and cancel;
the page shows the verdict, each check with pass/fail colour and what to do,
the frame with clipped pixels and hot spots marked, the histogram and the
uniformity map, and the project's audit history (click one to see it again).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, row
from studio.gui.widgets import Banner, ImageView, TaskRunner

STATUS_COLOURS = {"pass": ("#e3f4e3", "#165a16"), "fail": ("#fbe0e0", "#9b1c1c"), "skipped": ("#f1f3f4", "#5f6368")}
WORDS = {"exposure": "Exposure", "uniformity": "Uniformity", "focus": "Focus", "noise": "Noise",
         "stability": "Stability", "glare": "Glare", "defect_contrast": "Defect contrast"}


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return " .. ".join(f"{v:g}" for v in value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _read_rgb(path: Path) -> np.ndarray | None:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class LightingPage(Page):
    title = "Lighting"
    subtitle = ("Good images start with good light. Audit it before you capture a data set; "
                "a passing audit becomes the station's baseline, and the station watches for drift from it.")

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.camera_edit = QLineEdit(project.camera_spec)
        self.camera_edit.setToolTip("camera spec; the project's camera uses its saved settings. "
                                    "folder:DIR audits the images in a folder")
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(1, 200)
        self.frames_spin.setValue(10)
        self.frames_spin.setToolTip("frames to grab; 3 or more to judge stability and temporal noise")
        self.audit_button = QPushButton("Run audit")
        self.audit_button.setProperty("role", "primary")
        self.audit_button.clicked.connect(self.run_audit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.runner.cancel())
        self.root_layout.addLayout(row(QLabel("Camera"), self.camera_edit, QLabel("Frames"), self.frames_spin,
                                       self.audit_button, self.cancel_button))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status_label = QLabel("Ready.")
        self.root_layout.addLayout(row(self.progress, self.status_label))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)

        self.verdict_label = QLabel("No audit yet")
        self.verdict_label.setStyleSheet("font-size: 15pt; font-weight: 700; padding: 4px 10px;")
        self.baseline_button = QPushButton("Save as baseline")
        self.baseline_button.setToolTip("the station compares its lighting with the baseline while it runs")
        self.baseline_button.clicked.connect(self.save_baseline)
        self.report_button = QPushButton("Open report")
        self.report_button.clicked.connect(self.open_report)
        self.limits_button = QPushButton("Limits …")
        self.limits_button.setToolTip("the audit's limits for this project")
        self.limits_button.clicked.connect(self.edit_limits)
        self.baseline_label = QLabel("")
        self.root_layout.addLayout(row(self.verdict_label, None, self.baseline_label, self.baseline_button,
                                       self.report_button, self.limits_button))

        # left: checks and advice, history; right: frame, histogram, uniformity map
        self.checks_table = QTableWidget(0, 5)
        self.checks_table.setHorizontalHeaderLabels(["Check", "Result", "Value", "Limit", "Baseline"])
        self.checks_table.verticalHeader().setVisible(False)
        self.checks_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.checks_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        hdr = self.checks_table.horizontalHeader()
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(True)
        self.advice_label = QLabel()
        self.advice_label.setWordWrap(True)
        self.advice_label.setTextFormat(Qt.TextFormat.RichText)
        self.advice_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.history_list = QListWidget()
        self.history_list.itemClicked.connect(self._history_clicked)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.checks_table, 3)
        ll.addWidget(self.advice_label, 2)
        ll.addWidget(QLabel("Audit history (newest first)"))
        ll.addWidget(self.history_list, 2)

        self.view = ImageView(placeholder="The audited frame appears here\n(red: clipped, magenta: hot spots)",
                              zoomable=True)
        self.hist_plot = pg.PlotWidget(background="w")
        self.hist_plot.setLabel("bottom", "gray level")
        self.hist_plot.setLabel("left", "pixels (log)")
        self.hist_plot.setXRange(0, 255, padding=0.01)
        self.hist_plot.setMinimumHeight(130)
        self.hist_plot.setMaximumHeight(260)
        self.hist_curve = self.hist_plot.plot([], [], pen=pg.mkPen("#1f4e99", width=1.5),
                                              fillLevel=0, brush=(31, 78, 153, 80))
        self.field_view = ImageView(placeholder="Uniformity map", background="#ffffff")
        self.field_view.setMinimumSize(160, 120)
        self.field_view.setMaximumHeight(260)
        self.field_view.setToolTip("fitted illumination: red brightest, blue darkest; lines every 10%")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.view, 3)
        rl.addLayout(row(self.hist_plot, self.field_view), 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([520, 480])
        self.root_layout.addWidget(split, 1)

        self.shown: dict[str, Any] | None = None
        self.runner = TaskRunner(self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(f * 1000)))
        self.runner.status.connect(self.status_label.setText)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(lambda e: self.status_label.setText("Audit failed."))
        self.runner.cancelled.connect(lambda: self.status_label.setText("Audit cancelled."))
        self.runner.running_changed.connect(self._update_controls)
        self._update_controls()
        self.refresh()

    # ---- running ------------------------------------------------------------------
    @Slot()
    def run_audit(self) -> None:
        from studio.lighting.run import audit_project

        if self.runner.is_running():
            return
        spec = self.camera_edit.text().strip() or None
        frames, project = self.frames_spin.value(), self.project
        self.banner.clear_message()
        self.progress.setValue(0)
        self.status_label.setText(f"Auditing {spec or project.camera_spec} …")
        self.runner.start(lambda ctx: audit_project(project, spec, frames, task=ctx))

    @Slot(object)
    def _finished(self, audit: Any) -> None:
        self.status_label.setText(f"Audit {audit.audit_id}: {audit.verdict}.")
        self.progress.setValue(1000)
        result = audit.to_dict()
        result["histogram"] = audit.pictures["histogram"].tolist()
        from studio.lighting.report import field_image, frame_overlay

        pics = audit.pictures
        self.show_result(result, frame_overlay(pics["frame"], pics.get("clipped"), pics.get("hot_spots")),
                         field_image(pics["field"]))
        self.refresh()

    def _update_controls(self, *_: Any) -> None:
        running = self.runner.is_running()
        self.audit_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        shown = self.shown or {}
        self.baseline_button.setEnabled(not running and shown.get("verdict") == "pass"
                                        and bool(shown.get("audit_id")) and not shown.get("_is_baseline"))
        self.report_button.setEnabled(bool(shown.get("audit_id")))

    # ---- showing ------------------------------------------------------------------
    def show_result(self, result: dict[str, Any], frame: np.ndarray | None, field: np.ndarray | None) -> None:
        from studio.lighting import store

        self.shown = result
        base = store.load_baseline(self.project)
        result["_is_baseline"] = bool(base and base.get("audit_id") == result.get("audit_id"))
        verdict = result["verdict"]
        bg, fg = STATUS_COLOURS[verdict]
        self.verdict_label.setText(f"{verdict.upper()} — audit {result.get('audit_id') or ''}")
        self.verdict_label.setStyleSheet(f"font-size: 15pt; font-weight: 700; padding: 4px 10px;"
                                         f" background: {bg}; color: {fg}; border-radius: 4px;")
        checks = result["checks"]
        self.checks_table.setRowCount(len(checks))
        advice = []
        for r, c in enumerate(checks):
            status = "skipped" if c["passed"] is None else ("pass" if c["passed"] else "fail")
            bg, fg = STATUS_COLOURS[status]
            cells = [WORDS.get(c["name"], c["name"]), status.upper(), _fmt(c["value"]),
                     _fmt(c["limit"]), _fmt(c.get("baseline"))]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(c.get("unit", ""))
                if col == 1:
                    item.setBackground(QColor(bg))
                    item.setForeground(QColor(fg))
                self.checks_table.setItem(r, col, item)
            if c["advice"]:
                advice.append(f"<p><b style='color:#9b1c1c'>{WORDS.get(c['name'], c['name'])}:</b> {c['advice']}</p>")
        if not advice:
            advice = ["<p style='color:#165a16'>Every check passed. Save this audit as the baseline so the "
                      "station can watch for drift.</p>" if verdict == "pass" else ""]
        skipped = [WORDS.get(c["name"], c["name"]) + ": " + c.get("measures", {}).get("why", "")
                   for c in checks if c["passed"] is None]
        if skipped:
            advice.append("<p style='color:#5f6368'>Not judged — " + "; ".join(skipped) + "</p>")
        self.advice_label.setText("".join(advice))
        hist = np.asarray(result.get("histogram") or [], np.float64)
        if hist.size == 256:
            self.hist_curve.setData(np.arange(256), np.log10(hist + 1))
        else:
            self.hist_curve.setData([], [])
        self.view.set_image(frame)
        self.field_view.set_image(field)
        self._update_controls()

    def refresh(self) -> None:
        from studio.core.errors import StudioError
        from studio.lighting import store

        try:
            past = store.history(self.project)
            base = store.load_baseline(self.project)
        except StudioError as e:
            self.banner.show_error(str(e))
            return
        self.history_list.clear()
        for h in past:
            text = f"{h['audit_id']}   {(h['verdict'] or '?').upper()}"
            if h["baseline"]:
                text += "   ★ baseline"
            if h["failed"]:
                text += "   (" + ", ".join(WORDS.get(f, f) for f in h["failed"]) + ")"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, h["audit_id"])
            item.setForeground(QColor(STATUS_COLOURS["pass" if h["verdict"] == "pass" else "fail"][1]))
            self.history_list.addItem(item)
        self.baseline_label.setText(f"Baseline: audit {base['audit_id']}" if base else "No baseline yet")
        if self.shown is not None:
            self.shown["_is_baseline"] = bool(base and base.get("audit_id") == self.shown.get("audit_id"))
        elif past:
            self.show_audit(past[0]["audit_id"])
        self._update_controls()

    def show_audit(self, audit_id: str) -> None:
        from studio.lighting import store

        result = store.load_audit(self.project, audit_id)
        folder = Path(self.project.audits_dir) / audit_id
        self.show_result(result, _read_rgb(folder / "frame.png"), _read_rgb(folder / "uniformity.png"))

    @Slot(QListWidgetItem)
    def _history_clicked(self, item: QListWidgetItem) -> None:
        from studio.core.errors import StudioError

        try:
            self.show_audit(item.data(Qt.ItemDataRole.UserRole))
        except StudioError as e:
            self.banner.show_error(str(e))

    # ---- baseline and report ---------------------------------------------------------
    @Slot()
    def save_baseline(self) -> None:
        from studio.core.errors import StudioError
        from studio.lighting import store

        if not self.shown or not self.shown.get("audit_id"):
            return
        from studio.gui.sign_in import engineer_change

        record = engineer_change(self, self.project, "Making this audit the lighting baseline", "lighting.baseline")
        if record is None:
            return
        try:
            base = store.save_baseline(self.project, self.shown["audit_id"])
        except StudioError as e:
            self.banner.show_error(str(e))
            return
        record(what=base.get("audit_id"))
        self.banner.show_info(f"Audit {base['audit_id']} is now the lighting baseline; the station watches "
                              "for drift from it.")
        self.refresh()

    @Slot()
    def edit_limits(self) -> QWidget:
        from studio.gui.widgets.limits_dialog import LimitsDialog

        dialog = LimitsDialog(self.project, self)
        dialog.accepted.connect(lambda: self.banner.show_info("Limits saved; they apply from the next audit."))
        dialog.open()
        return dialog

    @Slot()
    def open_report(self) -> None:
        if self.shown and self.shown.get("audit_id"):
            path = Path(self.project.audits_dir) / self.shown["audit_id"] / "report.html"
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def shutdown(self) -> None:
        self.runner.shutdown()
