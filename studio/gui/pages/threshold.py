"""Step 5, Threshold: evaluate a model on the test images and choose where parts get rejected.

Every view follows one operating point (``set_threshold``): the PR and ROC
curves' markers, the histogram line, the figures with their confidence
intervals in words, per-class recall, the confusion matrix, the cost at
that point, the review band's share and the gallery of mistakes. The point
moves by dragging, by typing, or by a picker (cheapest, recall target,
false-reject target); "Save threshold" writes it, with how it was chosen,
into the model card the station reads.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFrame, QGridLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from studio.evaluation.intervals import in_words
from studio.gui.pages.base import Page, caption, row
from studio.gui.pages.confusion import ConfusionTable
from studio.gui.pages.error_gallery import MistakeDialog, MistakeGallery
from studio.gui.pages.models_table import fmt, list_models
from studio.gui.pages.threshold_choose import ChoosePanel
from studio.gui.pages.threshold_plots import CostPlot, CurvePlot, ScoreHistogram
from studio.gui.widgets import Banner, TaskRunner, error_dialog

WARNING_STYLE = ("background: #fff4e5; color: #663c00; border: 1px solid #f29900; border-radius: 4px;"
                 " padding: 7px 10px; font-weight: 600;")
FIGURES = [("recall", "Recall: defects caught"), ("precision", "Precision: rejects truly NG"),
           ("false_reject_rate", "False rejects: good parts"), ("accuracy", "Accuracy"),
           ("escapes", "Defective parts passed"), ("review", "Parts sent to review")]


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def interval_words(iv: dict | None, unknown: str) -> str:
    """What the test split can vouch for, e.g. 'at least 90.6 % (37 of 37)' (95 % Wilson)."""
    if iv is None:
        return unknown
    lo, hi = iv["wilson"]
    counted = f"({iv['k']} of {iv['n']})"
    if iv["k"] == iv["n"]:
        return f"at least {pct(lo)} {counted}"
    if iv["k"] == 0:
        return f"at most {pct(hi)} {counted}"
    return f"{100 * lo:.1f}–{pct(hi)} {counted}"


class ThresholdPage(Page):
    title = "Threshold"
    subtitle = ("Parts scoring at or above the threshold are rejected. Drag the point on a curve or the line on "
                "the histogram, type a value, or let a picker choose; then save it into the model.")

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        self.evaluation: dict[str, Any] | None = None
        self.model_id: str | None = None
        self.y = np.zeros(0, bool)
        self.s = np.zeros(0)
        self.classes: list[str | None] = []
        self.threshold: float | None = None
        self.band_upper: float | None = None
        self.chosen: dict[str, Any] = {"how": "value"}
        self.point: dict[str, Any] | None = None
        self._model_cache: tuple[str, Any] | None = None
        self._updating = False

        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(240)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setProperty("role", "primary")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.compare_button = QPushButton("Compare models…")
        self.compare_button.clicked.connect(self.open_compare)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(200)
        self.status_label = caption("")          # wraps, so a long status never widens the window
        self.root_layout.addLayout(row(QLabel("Model"), self.model_combo, self.evaluate_button, self.compare_button,
                                       self.progress, self.status_label, stretch_last=True))
        self.banner = Banner()
        self.root_layout.addWidget(self.banner)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        self.root_layout.addWidget(self.warning)

        # left: the curves (tabs) over the score histogram
        self.pr_plot = CurvePlot("Precision / recall", "recall (share of defective parts caught)",
                                 "precision (rejects truly NG)")
        self.marker = self.pr_plot.marker
        self.roc_plot = CurvePlot("ROC", "false-reject rate (share of good parts rejected)",
                                  "recall (share of defective parts caught)")
        self.cost_plot = CostPlot()
        self.plots = QTabWidget()
        self.plots.addTab(self.pr_plot, "Precision / recall")
        self.plots.addTab(self.roc_plot, "ROC")
        self.plots.addTab(self.cost_plot, "Cost")
        self.hist_plot = ScoreHistogram()
        self.line = self.hist_plot.line
        left = QVBoxLayout()
        left.addWidget(self.plots, 3)
        left.addWidget(self.hist_plot, 2)

        # right: the operating point and the ways to choose it
        self.side = QTabWidget()
        self.side.addTab(self._scrolled(self._build_point_tab()), "Operating point")
        self.choose = ChoosePanel()
        self.side.addTab(self._scrolled(self.choose), "Choose")
        self.side.setMinimumWidth(490)
        self.root_layout.addLayout(row(left, self.side), 1)

        self.gallery = MistakeGallery()
        self.gallery.set_project(project)
        self.gallery.opened.connect(self.open_mistake)
        self.root_layout.addWidget(self.gallery)

        self.pr_plot.picked.connect(lambda t: self.set_threshold(t, source="pr"))
        self.roc_plot.picked.connect(lambda t: self.set_threshold(t, source="roc"))
        self.hist_plot.moved.connect(lambda t: self.set_threshold(t, source="line"))
        self.hist_plot.band_moved.connect(self._band_line_moved)
        self.choose.cheapest.connect(self.pick_cheapest)
        self.choose.recall_target.connect(self.pick_recall_target)
        self.choose.false_reject_target.connect(self.pick_false_reject_target)
        self.choose.costs_changed.connect(self._update_cost)
        self.choose.band_changed.connect(self._band_changed)

        self.runner = TaskRunner(self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(f * 1000)))
        self.runner.status.connect(self.status_label.setText)
        self.runner.finished.connect(lambda result: self.show_evaluation(result, self._evaluating))
        self.runner.failed.connect(lambda e: self.status_label.setText("Evaluation failed."))
        self.runner.cancelled.connect(lambda: self.status_label.setText("Evaluation cancelled."))
        self.runner.running_changed.connect(self._update_controls)
        self._evaluating: str | None = None
        self._update_controls()

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        return scroll

    def _build_point_tab(self) -> QWidget:
        tab = QWidget()
        pl = QVBoxLayout(tab)
        pl.setContentsMargins(6, 6, 6, 6)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(4)
        self.spin.setRange(-1e9, 1e9)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(120)
        self.spin.valueChanged.connect(lambda v: self.set_threshold(v, source="spin"))
        self.save_button = QPushButton("Save threshold")
        self.save_button.setProperty("role", "primary")
        self.save_button.clicked.connect(self.save_threshold)
        pl.addLayout(row(QLabel("Threshold"), self.spin, self.save_button, stretch_last=True))
        self.saved_label = caption("")
        pl.addWidget(self.saved_label)
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(2, 1)
        self.figure_labels: dict[str, QLabel] = {}
        self.interval_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate(FIGURES):
            value = QLabel("–")
            value.setStyleSheet("font-weight: 700; font-size: 12pt;")
            words = caption("")
            words.setWordWrap(False)
            grid.addWidget(QLabel(text), i, 0)
            grid.addWidget(value, i, 1)
            grid.addWidget(words, i, 2)
            self.figure_labels[key] = value
            self.interval_labels[key] = words
        pl.addLayout(grid)
        pl.addWidget(caption("Grey: what the true rate is with 95 % confidence (Wilson interval), given how few "
                             "test parts there are. Hover a figure for the exact (Clopper–Pearson) range."))
        self.per_class_label = QLabel("")
        self.per_class_label.setWordWrap(True)
        pl.addWidget(self.per_class_label)
        self.table = ConfusionTable()
        pl.addWidget(self.table)
        pl.addStretch(1)
        return tab

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
        from studio.evaluation.metrics import pr_curve, roc_curve

        self.evaluation, self.model_id = result, model_id
        scores = result.get("scores") or []
        self.y = np.array([bool(r["defective"]) for r in scores], bool)
        self.s = np.array([float(r["score"]) for r in scores], float)
        self.classes = [r.get("defect_class") for r in scores]
        if len(self.s):
            precision, recall, t = pr_curve(self.y, self.s)
            self.pr_plot.set_curve(recall, precision, t)
            fpr, tpr, t = roc_curve(self.y, self.s)
            self.roc_plot.set_curve(fpr, tpr, t)
        self.hist_plot.set_scores(self.y, self.s)
        self.hist_plot.line.setVisible(len(self.s) > 0)
        auroc, ap = result.get("image_auroc"), result.get("average_precision")
        self.status_label.setText(f"{result.get('n', len(self.s))} test images, "
                                  f"{result.get('n_defective', int(self.y.sum()))} defective · "
                                  f"image AUROC {fmt(auroc)} · AP {fmt(ap)}")
        self._configure_spin()
        t = result.get("threshold")
        if t is None or not math.isfinite(float(t)):
            t = float(np.median(self.s)) if len(self.s) else 0.0
        band = result.get("review_band")
        self.band_upper = float(band["high"]) if band else None
        self.choose.set_band(self.band_upper, decimals=self.spin.decimals(), lo=self.spin.minimum(),
                             hi=self.spin.maximum())
        self.saved_label.setText("")
        self.threshold = None
        self.set_threshold(float(t), source="evaluation")
        self.chosen = dict(result.get("operating_point") or {"how": "value"})
        self._update_cost()
        self._update_controls()

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
        from studio.evaluation.operating import point_at

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
            if source in ("spin", "line", "pr", "roc", "code"):
                self.chosen = {"how": "value"}           # moved by hand
            band = (t, self.band_upper) if self.band_upper is not None and self.band_upper > t else None
            self.point = point = point_at(self.y, self.s, t, classes=self.classes, band=band,
                                          critical=sorted(self._critical()))
            if source != "pr":
                self.pr_plot.place(point["recall"], point["precision"])
            if source != "roc":
                self.roc_plot.place(point["false_reject_rate"], point["recall"])
            self.hist_plot.show_band(t, self.band_upper)
            self.cost_plot.set_threshold(t)
            self._show_point(point)
            self.saved_label.setText("")
        finally:
            self._updating = False
        self._update_cost()

    def _show_point(self, point: dict[str, Any]) -> None:
        c = point["confusion"]
        iv = point["intervals"]
        self.table.set_counts(c)
        self.figure_labels["precision"].setText(pct(point["precision"]))
        self.figure_labels["recall"].setText(pct(point["recall"]) if point["recall_known"] else "unknown")
        self.figure_labels["false_reject_rate"].setText(pct(point["false_reject_rate"]))
        self.figure_labels["accuracy"].setText(pct(point["accuracy"]))
        self.figure_labels["escapes"].setText(f"{c['fn']} of {c['fn'] + c['tp']}")
        self.interval_labels["recall"].setText(interval_words(iv["recall"], "no defective test parts"))
        self.interval_labels["precision"].setText(interval_words(iv["precision"], "nothing rejected"))
        self.interval_labels["false_reject_rate"].setText(interval_words(iv["false_reject_rate"], "no good test parts"))
        self.interval_labels["accuracy"].setText(interval_words(iv["accuracy"], ""))
        self.interval_labels["escapes"].setText("")
        for key in ("recall", "precision", "false_reject_rate", "accuracy"):
            self.figure_labels[key].setToolTip(in_words(key.replace("_", " "), iv[key]))
        band = point.get("review")
        if band:
            share = band["review_share"]["value"] if band["review_share"] else None
            self.figure_labels["review"].setText(pct(share))
            self.interval_labels["review"].setText(f"{band['review']} of {point['n']} parts: "
                                                   f"{band['review_defective']} defective, {band['review_good']} good")
            self.choose.show_band_share(f"{band['review']} of {point['n']} test parts ({pct(share)}) would go to "
                                        f"manual review; {band['rejected']} rejected, {band['passed']} passed.")
        else:
            self.figure_labels["review"].setText("none")
            self.interval_labels["review"].setText("no review band")
        critical = self._critical()
        lines = []
        for r in point["per_class"]:
            mark = " (critical)" if r["class"] in critical else ""
            lines.append(f"<b>{r['class']}</b>{mark}: {r['caught']} of {r['n']} caught, recall "
                         f"{interval_words(r['interval'], '')}")
        self.per_class_label.setText(("Recall by defect class (worst first):<br>" + "<br>".join(lines))
                                     if lines else "")
        warnings = list((self.evaluation or {}).get("split_warnings") or []) + point["warnings"]
        self.warning.setText("\n".join(warnings))
        self.warning.setVisible(bool(warnings))
        self.gallery.show_mistakes((self.evaluation or {}).get("scores") or [], point["threshold"],
                                   review=bool(band))

    def _critical(self) -> set[str]:
        try:
            return {c.name for c in self.project.criteria.classes if str(c.severity).lower() == "critical"}
        except Exception:  # noqa: BLE001
            return set()

    # ---- pickers -----------------------------------------------------------------
    def _apply(self, fn, *args, **kwargs) -> dict[str, Any] | None:
        from studio.core.errors import StudioError

        try:
            chosen = fn(*args, **kwargs)
        except StudioError as e:
            self.banner.show_error(str(e))
            return None
        self.banner.clear_message()
        self.set_threshold(chosen["threshold"], source="picker")
        self.chosen = chosen
        return chosen

    @Slot()
    def pick_cheapest(self) -> dict[str, Any] | None:
        from studio.evaluation.picker import cheapest

        return self._apply(cheapest, self.y, self.s, **self.choose.costs())

    @Slot(float, bool)
    def pick_recall_target(self, target: float, critical_only: bool = False) -> dict[str, Any] | None:
        from studio.evaluation.picker import for_recall_target

        only = sorted(self._critical()) if critical_only else None
        if critical_only and not only:
            self.banner.show_error("The acceptance criteria mark no defect class critical. Set a class's "
                                   "severity to critical, or untick 'critical defect classes only'.")
            return None
        return self._apply(for_recall_target, self.y, self.s, target, classes=self.classes, only=only)

    @Slot(float)
    def pick_false_reject_target(self, target: float) -> dict[str, Any] | None:
        from studio.evaluation.picker import for_false_reject_target

        return self._apply(for_false_reject_target, self.y, self.s, target)

    def _update_cost(self) -> None:
        from studio.core.errors import StudioError
        from studio.evaluation.picker import cost_curve

        if not len(self.s) or self.threshold is None:
            return
        costs = self.choose.costs()
        try:
            c = cost_curve(self.y, self.s, **costs)
        except StudioError as e:
            self.cost_plot.set_curve([], [], None)
            self.choose.show_cost(str(e).split("\n")[0])
            return
        k = int(np.argmin(np.round(c["cost_per_1000"], 9)))
        best = (float(c["threshold"][k]), float(c["cost_per_1000"][k]))
        self.cost_plot.set_curve(c["threshold"], c["cost_per_1000"], best)
        p = self.point or {}
        here = 1000.0 * (costs["defect_rate"] * (1 - (p.get("recall") or 0.0)) * costs["escape_cost"]
                         + (1 - costs["defect_rate"]) * (p.get("false_reject_rate") or 0.0)
                         * costs["false_reject_cost"])
        self.choose.show_cost(f"At this threshold: {here:,.2f} per 1,000 parts. Cheapest: {best[1]:,.2f} "
                              f"at threshold {best[0]:.4g}.")

    # ---- review band ----------------------------------------------------------------
    def _band_changed(self, on: bool, upper: float) -> None:
        self.band_upper = upper if on else None
        if self.threshold is not None:
            self.set_threshold(self.threshold, source="band")

    def _band_line_moved(self, upper: float) -> None:
        if self._updating or self.band_upper is None:
            return
        self.choose.set_band(upper, decimals=self.spin.decimals(), lo=self.spin.minimum(), hi=self.spin.maximum())
        self._band_changed(True, upper)

    # ---- saving, mistakes, comparing ---------------------------------------------------
    @Slot()
    def save_threshold(self) -> None:
        from studio.evaluation.choose import save

        if self.model_id is None or self.threshold is None:
            return
        chosen = {**self.chosen, "threshold": float(self.threshold)}
        if chosen.get("threshold") is not None and chosen.get("how") in (None, "trained"):
            chosen["how"] = "value"
        upper = self.band_upper if self.band_upper is not None and self.band_upper > self.threshold else None
        try:
            save(self.project, self.model_id, self.evaluation or {}, chosen, review_up_to=upper)
        except Exception as e:  # noqa: BLE001
            error_dialog(self, e, "Could not save the threshold")
            return
        band = f", review band up to {upper:.{self.spin.decimals()}f}" if upper is not None else ""
        self.saved_label.setText(f"Saved {self.threshold:.{self.spin.decimals()}f}{band} in model {self.model_id}.")
        self.changed.emit()

    def _model(self):
        if self.model_id is None:
            return None
        if self._model_cache is None or self._model_cache[0] != self.model_id:
            try:
                from studio.inference.model import InspectionModel

                self._model_cache = (self.model_id, InspectionModel.load(self.project, self.model_id))
            except Exception:  # noqa: BLE001  the dialog says there is no heat map
                return None
        return self._model_cache[1]

    def open_mistake(self, entry: dict[str, Any]) -> MistakeDialog | None:
        if self.threshold is None:
            return None
        try:
            dialog = MistakeDialog(self.project, entry, self.threshold, self._model(), self,
                                   review_up_to=self.band_upper)
        except Exception as e:  # noqa: BLE001
            error_dialog(self, e, "Could not show the image")
            return None
        dialog.show()
        self._dialog = dialog
        return dialog

    def open_compare(self):
        from studio.gui.pages.compare_view import CompareDialog

        self._compare = CompareDialog(self.project, list_models(self.project), self)
        self._compare.show()
        return self._compare

    # ---- page ------------------------------------------------------------------------
    def _update_controls(self, *_: Any) -> None:
        busy = self.runner.is_running()
        self.evaluate_button.setEnabled(not busy and self.model_combo.count() > 0
                                        and self.model_combo.currentData() is not None)
        self.compare_button.setEnabled(not busy and self.model_combo.count() > 1)
        self.model_combo.setEnabled(not busy)
        self.progress.setVisible(busy)
        ready = self.threshold is not None and len(self.s) > 0
        self.spin.setEnabled(ready)
        self.save_button.setEnabled(ready and self.model_id is not None and not busy)
        self.choose.set_enabled(ready, has_defects=bool(self.y.any()), has_good=bool((~self.y).any()))

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
