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
from PySide6.QtWidgets import (QComboBox, QFrame, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from studio.gui.pages.base import Page, caption, row
from studio.gui.pages.error_gallery import MistakeDialog, MistakeGallery
from studio.gui.pages.models_table import fmt, list_models
from studio.gui.pages.threshold_choose import ChoosePanel
from studio.gui.pages.threshold_pickers import PickerMixin
from studio.gui.pages.threshold_plots import CostPlot, CurvePlot, ScoreHistogram
from studio.gui.pages.threshold_point import OperatingPointPanel, pct
from studio.gui.widgets import Banner, TaskRunner, error_dialog

WARNING_STYLE = ("background: #fff4e5; color: #663c00; border: 1px solid #f29900; border-radius: 4px;"
                 " padding: 7px 10px; font-weight: 600;")

class ThresholdPage(PickerMixin, Page):
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
        self.freeze_button = QPushButton("Make the current test split the reference")
        self.freeze_button.setToolTip("Freeze the test split as it is now; later figures are compared with it.")
        self.freeze_button.clicked.connect(self.refreeze_split)
        self.regroup_button = QPushButton("Put every part on one side of the split")
        self.regroup_button.clicked.connect(self.regroup_split)
        self.split_row = QWidget()
        split_lay = row(self.freeze_button, self.regroup_button, stretch_last=True)
        split_lay.setContentsMargins(0, 0, 0, 0)
        self.split_row.setLayout(split_lay)
        self.split_row.hide()
        self.root_layout.addWidget(self.split_row)

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
        self.point_panel = OperatingPointPanel()
        for name in ("spin", "save_button", "saved_label", "figure_labels", "interval_labels", "per_class_label",
                     "table"):
            setattr(self, name, getattr(self.point_panel, name))
        self.spin.valueChanged.connect(lambda v: self.set_threshold(v, source="spin"))
        self.save_button.clicked.connect(self.save_threshold)
        self.side.addTab(self._scrolled(self.point_panel), "Operating point")
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
        self.choose.suggest_band.connect(self.suggest_band)

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
        self._show_band_box()
        self.saved_label.setText("")
        self.threshold = None
        self.set_threshold(float(t), source="evaluation")
        self.chosen = dict(result.get("operating_point") or {"how": "value"})
        self._show_in_model(result.get("threshold"), self.chosen, self.band_upper)
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
        self.point_panel.show_point(point, self._critical())
        band = point.get("review")
        if band:
            share = band["review_share"]["value"] if band["review_share"] else None
            self.choose.show_band_share(f"{band['review']} of {point['n']} test parts ({pct(share)}) would go to "
                                        f"manual review; {band['rejected']} rejected, {band['passed']} passed.")
        warnings = list((self.evaluation or {}).get("split_warnings") or []) + point["warnings"]
        self.warning.setText("\n".join(warnings))
        self.warning.setVisible(bool(warnings))
        split = (self.evaluation or {}).get("test_split") or {}
        changed = any(split.get(k) for k in ("added", "removed", "relabeled"))
        self.freeze_button.setVisible(changed)
        self.regroup_button.setVisible(bool(split.get("straddling_groups")))
        self.split_row.setVisible(changed or bool(split.get("straddling_groups")))
        self.gallery.show_mistakes((self.evaluation or {}).get("scores") or [], point["threshold"],
                                   review=bool(band))

    def _critical(self) -> set[str]:
        try:
            return set(self.project.criteria.critical_classes())
        except Exception:
            return set()

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
        from studio.gui.sign_in import session_for

        ok = session_for(self.project).authorize(self, "engineer", "Setting the threshold", action="threshold.set")
        if ok is None:
            self.saved_label.setText("Not saved: setting the threshold needs an engineer.")
            return
        try:
            save(self.project, self.model_id, self.evaluation or {}, chosen, review_up_to=upper,
                 actor=ok[0].name, reason=ok[1])
        except Exception as e:
            error_dialog(self, e, "Could not save the threshold")
            return
        band = f", review band up to {upper:.{self.spin.decimals()}f}" if upper is not None else ""
        self.saved_label.setText(f"Saved {self.threshold:.{self.spin.decimals()}f}{band} in model {self.model_id}.")
        self._show_in_model(self.threshold, chosen, upper)
        self.changed.emit()

    def _model(self):
        if self.model_id is None:
            return None
        if self._model_cache is None or self._model_cache[0] != self.model_id:
            try:
                from studio.inference.model import InspectionModel

                self._model_cache = (self.model_id, InspectionModel.load(self.project, self.model_id))
            except Exception:  # the dialog says there is no heat map
                return None
        return self._model_cache[1]

    def open_mistake(self, entry: dict[str, Any]) -> MistakeDialog | None:
        if self.threshold is None:
            return None
        try:
            dialog = MistakeDialog(self.project, entry, self.threshold, self._model(), self,
                                   review_up_to=self.band_upper)
        except Exception as e:
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

    def _show_in_model(self, threshold: float | None, chosen: dict[str, Any], upper: float | None) -> None:
        from studio.evaluation.choose import how_in_words

        if threshold is None or self.model_id is None:
            self.point_panel.in_model_label.setText("")
            return
        band = f", review up to {upper:.4g}" if upper is not None else ""
        self.point_panel.in_model_label.setText(f"In the model now: {float(threshold):.4g}{band}, chosen "
                                                f"{how_in_words(chosen)}.")

    # ---- the test split ----------------------------------------------------------------
    def _split_changed(self, done: str) -> None:
        from studio.dataset import splits

        report = splits.check(self.project)
        if self.evaluation is not None:
            self.evaluation["split_warnings"] = report["warnings"]
            self.evaluation["test_split"] = {**(self.evaluation.get("test_split") or {}),
                                             **{k: len(report[k]) for k in ("added", "removed", "relabeled",
                                                                            "moved_to_train", "straddling_groups",
                                                                            "duplicates")}}
        self.banner.show_info(done)
        if self.threshold is not None:
            self.set_threshold(self.threshold, source="band")

    @Slot()
    def refreeze_split(self) -> None:
        from studio.dataset import splits
        from studio.gui.sign_in import engineer_change

        audit = engineer_change(self, self.project, "Freezing the test split", "split.changed")
        if audit is None:
            return
        record = splits.freeze(self.project)
        audit(what="test split", after={"done": [f"frozen {record['n']} images"]})
        self._split_changed(f"The test split ({record['n']} images) is the reference from now on. Figures measured "
                            f"before are not comparable with figures measured from now.")

    @Slot()
    def regroup_split(self) -> None:
        from studio.dataset import splits
        from studio.gui.sign_in import engineer_change

        audit = engineer_change(self, self.project, "Regrouping the test split", "split.changed")
        if audit is None:
            return
        moved = splits.regroup(self.project)
        audit(what="test split", after={"done": [f"{moved} images moved to their part's side"]})
        self.changed.emit()
        self._split_changed(f"{moved} images moved so that every part is on one side. Evaluate again: the test "
                            f"split changed.")

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
        except Exception as e:
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
