"""Step 5, Threshold: evaluate a model on the test images and choose where parts get rejected."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.pages.confusion import ConfusionTable, confusion_for
from studio.gui.pages.models_table import fmt, list_models
from studio.gui.style import ACCENT, PASS_GREEN, REJECT_RED
from studio.gui.widgets import Banner, TaskRunner, error_dialog


class ThresholdPage(Page):
    title = "Threshold"
    subtitle = ("Parts scoring at or above the threshold are rejected. Drag the point on the curve or the line "
                "on the histogram, or type a value; then save it into the model.")

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.evaluation: dict[str, Any] | None = None
        self.model_id: str | None = None
        self.y = np.zeros(0, bool)
        self.s = np.zeros(0)
        self.threshold: float | None = None
        self._pr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._updating = False

        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(280)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setProperty("role", "primary")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(200)
        self.status_label = caption("")
        self.status_label.setWordWrap(False)
        self.root_layout.addLayout(row(QLabel("Model"), self.model_combo, self.evaluate_button, self.progress,
                                       self.status_label, stretch_last=True))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)

        self.pr_plot = pg.PlotWidget(background="w", title="Precision / recall")
        self.pr_plot.setLabel("bottom", "recall (share of defective parts caught)")
        self.pr_plot.setLabel("left", "precision (share of rejects truly defective)")
        self.pr_plot.setXRange(0, 1.02, padding=0)
        self.pr_plot.setYRange(0, 1.05, padding=0)
        self.pr_plot.showGrid(x=True, y=True, alpha=0.25)
        self.pr_curve = self.pr_plot.plot([], [], pen=pg.mkPen(ACCENT, width=2))
        self.marker = pg.TargetItem(pos=(0, 0), size=16, movable=True, pen=pg.mkPen("k", width=2),
                                    brush=pg.mkBrush(255, 200, 0, 200))
        self.marker.setVisible(False)
        self.marker.sigPositionChanged.connect(self._marker_moved)
        self.pr_plot.addItem(self.marker)

        self.hist_plot = pg.PlotWidget(background="w", title="Scores of the test images")
        self.hist_plot.setLabel("bottom", "score")
        self.hist_plot.setLabel("left", "images")
        self.hist_plot.addLegend(offset=(-10, 10))
        self.hist_ok = self.hist_plot.plot([], [], stepMode="center", fillLevel=0, name="actually OK",
                                           pen=pg.mkPen(PASS_GREEN, width=1.5), brush=pg.mkBrush(30, 158, 74, 90))
        self.hist_ng = self.hist_plot.plot([], [], stepMode="center", fillLevel=0, name="actually NG",
                                           pen=pg.mkPen(REJECT_RED, width=1.5), brush=pg.mkBrush(211, 47, 47, 90))
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("k", width=2),
                                    hoverPen=pg.mkPen(ACCENT, width=3), label="threshold",
                                    labelOpts={"position": 0.92, "color": "k"})
        self.line.setVisible(False)
        self.line.sigPositionChanged.connect(lambda: self.set_threshold(self.line.value(), source="line"))
        self.hist_plot.addItem(self.line)
        self.root_layout.addLayout(row(self.pr_plot, self.hist_plot), 1)

        # operating point: threshold, confusion matrix, figures, save
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(4)
        self.spin.setRange(-1e9, 1e9)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(120)
        self.spin.valueChanged.connect(lambda v: self.set_threshold(v, source="spin"))
        self.save_button = QPushButton("Save threshold")
        self.save_button.setProperty("role", "primary")
        self.save_button.clicked.connect(self.save_threshold)
        self.saved_label = caption("")
        point = QGroupBox("Operating point")
        pl = QVBoxLayout(point)
        pl.addLayout(row(QLabel("Threshold"), self.spin, stretch_last=True))
        figures = QGridLayout()
        self.figure_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate([("precision", "Precision"), ("recall", "Recall (defects caught)"),
                                         ("false_reject_rate", "False-reject rate (good parts rejected)"),
                                         ("escapes", "Defective parts passed")]):
            value = QLabel("–")
            value.setStyleSheet("font-weight: 700; font-size: 12pt;")
            figures.addWidget(QLabel(text), i, 0)
            figures.addWidget(value, i, 1)
            self.figure_labels[key] = value
        pl.addLayout(figures)
        pl.addLayout(row(self.save_button, self.saved_label, stretch_last=True))
        self.table = ConfusionTable()
        self.root_layout.addLayout(row(point, self.table))

        self.runner = TaskRunner(self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(f * 1000)))
        self.runner.status.connect(self.status_label.setText)
        self.runner.finished.connect(lambda result: self.show_evaluation(result, self._evaluating))
        self.runner.failed.connect(lambda e: self.status_label.setText("Evaluation failed."))
        self.runner.cancelled.connect(lambda: self.status_label.setText("Evaluation cancelled."))
        self.runner.running_changed.connect(self._update_controls)
        self._evaluating: str | None = None
        self._update_controls()

    # ---- evaluation -------------------------------------------------------------
    @Slot()
    def evaluate(self) -> None:
        from studio.evaluation.evaluate import evaluate

        model_id = self.model_combo.currentData()
        if not model_id or self.runner.is_running():
            return
        project = self.project
        self._evaluating = model_id
        self.progress.setValue(0)
        self.status_label.setText(f"Scoring the test images with {model_id} …")
        self.runner.start(lambda ctx: evaluate(project, model_id, task_ctx=ctx))

    def show_evaluation(self, result: dict[str, Any], model_id: str | None = None) -> None:
        """Show an evaluation (the dict ``studio.evaluation.evaluate`` returns)."""
        self.evaluation, self.model_id = result, model_id
        scores = result.get("scores") or []
        self.y = np.array([bool(r["defective"]) for r in scores], bool)
        self.s = np.array([float(r["score"]) for r in scores], float)
        from studio.evaluation.metrics import pr_curve

        self._pr = pr_curve(self.y, self.s) if len(self.s) else None
        curve = result.get("curve") or {}
        rec, prec = curve.get("recall"), curve.get("precision")
        if rec is None and self._pr is not None:
            prec, rec = self._pr[0], self._pr[1]
        self.pr_curve.setData(np.asarray(rec if rec is not None else [], float),
                              np.asarray(prec if prec is not None else [], float))
        self._draw_histogram()
        auroc, ap = result.get("image_auroc"), result.get("average_precision")
        self.status_label.setText(f"{result.get('n', len(self.s))} test images, "
                                  f"{result.get('n_defective', int(self.y.sum()))} defective · "
                                  f"image AUROC {fmt(auroc)} · AP {fmt(ap)}")
        self._configure_spin()
        t = result.get("threshold")
        if t is None or not math.isfinite(float(t)):
            t = float(np.median(self.s)) if len(self.s) else 0.0
        self.saved_label.setText("")
        self.line.setVisible(len(self.s) > 0)
        self.marker.setVisible(len(self.s) > 0)
        self.threshold = None
        self.set_threshold(float(t), source="evaluation")
        self._update_controls()

    def _draw_histogram(self) -> None:
        if not len(self.s):
            self.hist_ok.setData([], [])
            self.hist_ng.setData([], [])
            return
        lo, hi = float(self.s.min()), float(self.s.max())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, min(40, max(8, len(self.s) // 2)) + 1)
        for item, mask in ((self.hist_ok, ~self.y), (self.hist_ng, self.y)):
            counts, _ = np.histogram(self.s[mask], bins=edges)
            item.setData(edges, counts)

    def _configure_spin(self) -> None:
        if not len(self.s):
            return
        lo, hi = float(self.s.min()), float(self.s.max())
        span = max(hi - lo, 1e-6)
        decimals = int(min(6, max(2, 3 - math.floor(math.log10(span)))))
        self.spin.blockSignals(True)
        self.spin.setDecimals(decimals)
        self.spin.setRange(lo - span, hi + span)
        self.spin.setSingleStep(span / 100)
        self.spin.blockSignals(False)

    # ---- the operating point ---------------------------------------------------------
    def set_threshold(self, t: float, *, source: str = "code") -> None:
        """Move the operating point to ``t`` and update every view of it."""
        if self._updating or not len(self.s):
            return
        t = float(t)
        self._updating = True
        try:
            self.threshold = t
            if source != "spin":
                self.spin.setValue(t)
                self.threshold = t = float(self.spin.value()) if source == "evaluation" else t
            if source != "line":
                self.line.setValue(t)
            point = confusion_for(self.y, self.s, t)
            if source != "marker":
                self._place_marker(point)
            self._show_point(point)
            self.saved_label.setText("")
        finally:
            self._updating = False

    def _place_marker(self, point: dict[str, Any]) -> None:
        r = point.get("recall")
        p = point.get("precision")
        self.marker.setPos(r if r is not None else 0.0, p if p is not None else 1.0)

    def _show_point(self, point: dict[str, Any]) -> None:
        c = point["confusion"]
        self.table.set_counts(c)
        pct = lambda v: "n/a" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        self.figure_labels["precision"].setText(pct(point.get("precision")))
        self.figure_labels["recall"].setText(pct(point.get("recall")))
        self.figure_labels["false_reject_rate"].setText(pct(point.get("false_reject_rate")))
        self.figure_labels["escapes"].setText(f"{c['fn']} of {c['fn'] + c['tp']}")

    @Slot()
    def _marker_moved(self) -> None:
        """Dragging the point on the PR curve: snap to the nearest point the curve really has."""
        if self._updating or self._pr is None or not len(self._pr[2]):
            return
        precision, recall, thresholds = self._pr
        pos = self.marker.pos()
        i = int(np.argmin((recall - pos.x()) ** 2 + (precision - pos.y()) ** 2))
        self.set_threshold(float(thresholds[i]), source="marker")
        self._updating = True
        try:
            self.marker.setPos(float(recall[i]), float(precision[i]))
        finally:
            self._updating = False

    @Slot()
    def save_threshold(self) -> None:
        from studio.evaluation.evaluate import set_threshold

        if self.model_id is None or self.threshold is None:
            return
        try:
            set_threshold(self.project, self.model_id, float(self.threshold))
        except Exception as e:  # noqa: BLE001
            error_dialog(self, e, "Could not save the threshold")
            return
        self.saved_label.setText(f"Saved {self.threshold:.{self.spin.decimals()}f} in model {self.model_id}.")
        self.changed.emit()

    # ---- page ------------------------------------------------------------------------
    def _update_controls(self, *_: Any) -> None:
        busy = self.runner.is_running()
        self.evaluate_button.setEnabled(not busy and self.model_combo.count() > 0
                                        and self.model_combo.currentData() is not None)
        self.model_combo.setEnabled(not busy)
        self.progress.setVisible(busy)
        ready = self.threshold is not None and len(self.s) > 0
        self.spin.setEnabled(ready)
        self.save_button.setEnabled(ready and self.model_id is not None and not busy)

    def refresh(self) -> None:
        keep = self.model_combo.currentData()
        try:
            cards = list_models(self.project)
        except Exception as e:  # noqa: BLE001
            cards = []
            self.banner.show_error(f"Could not list the models: {e}")
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for card in cards:
            mid = card.get("model_id")
            self.model_combo.addItem(f"{mid}   ({card.get('task', '')}, {str(card.get('created', ''))[:16]})", mid)
        if keep is not None and self.model_combo.findData(keep) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(keep))
        self.model_combo.blockSignals(False)
        if not cards:
            self.banner.show_info("No trained model yet. Train one on the Train step (Ctrl+4), then evaluate it here.")
        elif self.banner.property("role") == "banner-info":
            self.banner.clear_message()
        self._update_controls()

    def shutdown(self) -> None:
        self.runner.shutdown()
