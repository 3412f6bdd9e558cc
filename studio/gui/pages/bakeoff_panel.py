"""Train page, Bake-off tab: every candidate trained briefly on the same subset, side by side."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from studio.gui.pages.base import caption
from studio.gui.widgets import TaskRunner

WORDS = {"image_auroc": "image AUROC", "accuracy": "accuracy", "map50": "mAP50", "dice": "Dice"}
COLUMNS = ["Candidate", "Quality", "Image AUROC", "ms / image", "Training s", "Size MB"]


def _fmt(v: Any, spec: str) -> str:
    return "–" if v is None else format(v, spec)


class BakeoffPanel(QWidget):
    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.images = QSpinBox()
        self.images.setRange(10, 5000)
        self.images.setValue(100)
        self.images.setSuffix(" training images")
        self.with_anomalib = QCheckBox("Include anomalib's PatchCore (reference)")
        self.run_button = QPushButton("Run bake-off")
        self.run_button.setProperty("role", "primary")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.runner.cancel())
        self.status = QLabel("Trains each candidate briefly on a stratified subset and tests all of them on the "
                             "same test images. Latency is measured on this PC.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        for w in (QLabel("Subset"), self.images, self.with_anomalib, self.run_button, self.cancel_button):
            top.addWidget(w)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(caption("Quality is each task's own measure: image AUROC (anomaly), accuracy "
                                 "(classification), mAP50 (detection), Dice (segmentation)."))
        self.runner = TaskRunner(self)
        self.runner.event.connect(self._add_row)
        self.runner.status.connect(self.status.setText)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(lambda e: self.status.setText(f"Bake-off failed: {str(e).splitlines()[0]}"))
        self.runner.cancelled.connect(lambda: self.status.setText("Bake-off cancelled."))
        self.runner.running_changed.connect(self._update_controls)
        self._update_controls()

    def _update_controls(self, *_: Any) -> None:
        busy = self.runner.is_running()
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    @Slot()
    def run(self, candidates=None, in_process: bool = False) -> None:
        from studio.training.bakeoff import default_candidates, run_bakeoff

        if self.runner.is_running():
            return
        project, n, runner = self.project, self.images.value(), self.runner
        cands = candidates if candidates is not None else default_candidates(project, self.with_anomalib.isChecked())
        self.table.setRowCount(0)
        self.status.setText(f"Bake-off of {len(cands)} candidates on {n} images …")
        self.runner.start(lambda ctx: run_bakeoff(project, cands, images=n, task_ctx=ctx, in_process=in_process,
                                                  on_row=lambda row: runner.emit_event(row.__dict__)))

    def _add_row(self, row: Any) -> None:
        if isinstance(row, dict) and "quality_metric" in row:
            self.show_rows(self._rows() + [row])

    def _rows(self) -> list[dict]:
        return getattr(self, "_shown", [])

    def show_rows(self, rows: list[dict]) -> None:
        self._shown = list(rows)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            quality = (f"failed: {r['error']}" if r.get("error")
                       else f"{WORDS.get(r['quality_metric'], r['quality_metric'])} {_fmt(r.get('quality'), '.3f')}")
            cells = [r["name"], quality, _fmt(r.get("image_auroc"), ".3f"), _fmt(r.get("latency_ms"), ".1f"),
                     _fmt(r.get("train_s"), ".1f"), _fmt(r.get("size_mb"), ".1f")]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r.get("error") and j == 1:
                    item.setToolTip(r["error"])
                self.table.setItem(i, j, item)

    def _finished(self, result: Any) -> None:
        if isinstance(result, dict):
            self.show_rows(result.get("rows", []))
            sub = result.get("subset", {})
            self.status.setText(f"Done: {sub.get('train', '?')} training images, {sub.get('test', '?')} test images. "
                                f"Saved in {result.get('folder', '')}.")

    def refresh(self) -> None:
        from studio.training.bakeoff import load_last

        if self.runner.is_running() or self._rows():
            return
        last = load_last(self.project)
        if last:
            self.show_rows(last.get("rows", []))
            self.status.setText(f"Last bake-off ({last.get('folder', '')}).")

    def shutdown(self) -> None:
        self.runner.shutdown()
