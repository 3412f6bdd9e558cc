"""Ways to choose the operating point: the cost model, a recall target, a false-reject target,
and the review band. The panel only asks; the page computes (``studio.evaluation.picker``)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from studio.evaluation.choose import SAME_SPLIT_NOTE
from studio.gui.pages.base import caption, row


def _spin(lo: float, hi: float, value: float, decimals: int, suffix: str = "", step: float = 1.0) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    box.setMinimumWidth(110)
    return box


class ChoosePanel(QWidget):
    """Emits ``cheapest()``, ``recall_target(share, critical_only)``, ``false_reject_target(share)``,
    ``costs_changed()`` and ``band_changed(enabled, upper)``."""

    cheapest = Signal()
    recall_target = Signal(float, bool)
    false_reject_target = Signal(float)
    costs_changed = Signal()
    band_changed = Signal(bool, float)
    suggest_band = Signal(float, float)     # recall target, false-reject target

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(caption(SAME_SPLIT_NOTE))

        cost = QGroupBox("Cost model")
        form = QFormLayout(cost)
        self.escape_cost = _spin(0, 1e9, 500.0, 2, step=10)
        self.false_reject_cost = _spin(0, 1e9, 5.0, 2, step=1)
        self.defect_rate = _spin(0, 100, 2.0, 2, " %", step=0.5)
        form.addRow("Cost of an escaped defect", self.escape_cost)
        form.addRow("Cost of scrapping a good part", self.false_reject_cost)
        form.addRow("Expected defect rate on the line", self.defect_rate)
        self.review_cost = _spin(0, 1e9, 0.0, 2, step=0.5)
        self.review_cost.setToolTip("0: no manual review. Above 0 the cheapest point may come with a review band.")
        form.addRow("Cost of a manual review (0: none)", self.review_cost)
        self.cheapest_button = QPushButton("Pick the cheapest point")
        self.cheapest_button.clicked.connect(self.cheapest.emit)
        self.cost_label = QLabel("–")
        self.cost_label.setWordWrap(True)
        form.addRow(self.cheapest_button)
        for box in (self.escape_cost, self.false_reject_cost, self.defect_rate, self.review_cost):
            box.valueChanged.connect(lambda *_: self.costs_changed.emit())
        outer = QVBoxLayout()
        outer.addWidget(cost)
        outer.addWidget(self.cost_label)
        lay.addLayout(outer)

        target = QGroupBox("Targets")
        tl = QVBoxLayout(target)
        self.recall_box = _spin(1, 100, 99.5, 2, " %", step=0.1)
        self.critical_only = QCheckBox("count only the defect classes the criteria mark critical")
        self.recall_button = QPushButton("Pick")
        self.recall_button.clicked.connect(
            lambda: self.recall_target.emit(self.recall_box.value() / 100.0, self.critical_only.isChecked()))
        tl.addLayout(row(QLabel("Catch at least"), self.recall_box, QLabel("of defects"), self.recall_button,
                         stretch_last=True))
        tl.addWidget(self.critical_only)
        tl.addWidget(caption("The most precise threshold (fewest good parts rejected) that catches at least "
                             "this share of the defective test parts."))
        self.evidence_label = QLabel("")
        self.evidence_label.setWordWrap(True)
        self.evidence_label.hide()
        tl.addWidget(self.evidence_label)
        self.fr_box = _spin(0, 50, 1.0, 2, " %", step=0.5)
        self.fr_button = QPushButton("Pick")
        self.fr_button.clicked.connect(lambda: self.false_reject_target.emit(self.fr_box.value() / 100.0))
        tl.addLayout(row(QLabel("Reject at most"), self.fr_box, QLabel("of good parts"), self.fr_button,
                         stretch_last=True))
        tl.addWidget(caption("The lowest threshold that rejects at most this share of the good test parts. "
                             "The way to choose when the test split has no defective parts yet."))
        lay.addWidget(target)

        band = QGroupBox("Review band")
        bl = QVBoxLayout(band)
        self.band_check = QCheckBox("Use a review band")
        self.band_upper = _spin(-1e9, 1e9, 1.0, 4)
        self.band_upper.setEnabled(False)
        bl.addWidget(self.band_check)
        bl.addLayout(row(QLabel("Review parts from the threshold up to"), self.band_upper,
                         stretch_last=True))
        self.band_label = caption("Parts in the band are neither passed nor rejected: the station reports them "
                                  "as 'review' (PLC verdict 4).")
        bl.addWidget(self.band_label)
        self.suggest_button = QPushButton("Suggest a band from the two targets")
        self.suggest_button.setToolTip("Pass automatically only below the threshold that meets the recall target; "
                                       "reject automatically only above the one that meets the false-reject "
                                       "target; review what lies between.")
        self.suggest_button.clicked.connect(
            lambda: self.suggest_band.emit(self.recall_box.value() / 100.0, self.fr_box.value() / 100.0))
        bl.addLayout(row(self.suggest_button, stretch_last=True))
        self.band_check.toggled.connect(self._band_toggled)
        self.band_upper.valueChanged.connect(lambda v: self.band_changed.emit(self.band_check.isChecked(), v))
        lay.addWidget(band)
        lay.addStretch(1)

    def _band_toggled(self, on: bool) -> None:
        self.band_upper.setEnabled(on)
        self.band_changed.emit(on, self.band_upper.value())

    def costs(self) -> dict[str, float]:
        return {"escape_cost": self.escape_cost.value(), "false_reject_cost": self.false_reject_cost.value(),
                "defect_rate": self.defect_rate.value() / 100.0}

    def review_cost_value(self) -> float | None:
        """The cost of one manual review, None when reviews are off (0)."""
        return self.review_cost.value() or None

    def band(self) -> float | None:
        return self.band_upper.value() if self.band_check.isChecked() else None

    def set_band(self, upper: float | None, *, decimals: int = 4, lo: float = -1e9, hi: float = 1e9) -> None:
        """Show a band (``None``: none) without emitting ``band_changed``."""
        for w in (self.band_check, self.band_upper):
            w.blockSignals(True)
        self.band_upper.setDecimals(decimals)
        self.band_upper.setRange(lo, hi)
        self.band_upper.setSingleStep((hi - lo) / 300 if hi > lo else 0.01)
        self.band_check.setChecked(upper is not None)
        self.band_upper.setEnabled(upper is not None)
        if upper is not None:
            self.band_upper.setValue(upper)
        for w in (self.band_check, self.band_upper):
            w.blockSignals(False)

    def set_enabled(self, ready: bool, *, has_defects: bool, has_good: bool) -> None:
        self.cheapest_button.setEnabled(ready and has_defects and has_good)
        self.recall_button.setEnabled(ready and has_defects)
        self.fr_button.setEnabled(ready and has_good)
        self.band_check.setEnabled(ready)
        self.suggest_button.setEnabled(ready and has_defects and has_good)

    def show_evidence(self, text: str) -> None:
        """What the test split can vouch for about the recall target ('' hides it)."""
        self.evidence_label.setText(text)
        self.evidence_label.setVisible(bool(text))

    def show_cost(self, text: str) -> None:
        self.cost_label.setText(text)

    def show_band_share(self, text: str) -> None:
        self.band_label.setText(text)

    def state(self) -> dict[str, Any]:
        return {**self.costs(), "recall_target": self.recall_box.value() / 100.0,
                "false_reject_target": self.fr_box.value() / 100.0, "band": self.band()}
