"""The operating point in figures: threshold box, save button, precision / recall / false-reject
rate / accuracy with what the test split can vouch for (95 % Wilson), recall per defect class,
the review band's share and the confusion matrix."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.evaluation.intervals import in_words
from studio.gui.pages.base import caption, row
from studio.gui.pages.confusion import ConfusionTable

FIGURES = [("recall", "Recall: defects caught"), ("precision", "Precision: rejects truly NG"),
           ("false_reject_rate", "False rejects: good parts"), ("accuracy", "Accuracy"),
           ("escapes", "Defective parts passed"), ("review", "Parts sent to review")]
# with a review band "rejected" means "not passed": rejected or sent to review
BAND_NAMES = {"recall": "Defects not passed", "precision": "Not passed, truly NG",
              "false_reject_rate": "Good parts not passed"}


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


class _LineWhenSet(QLabel):
    """A caption that takes no room while it says nothing (so the confusion matrix fits the page)."""

    def __init__(self, role: str = "caption"):
        super().__init__("")
        if role:
            self.setProperty("role", role)
        self.setWordWrap(True)
        self.setVisible(False)

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(text)
        self.setVisible(bool(text))


class OperatingPointPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pl = QVBoxLayout(self)
        pl.setContentsMargins(6, 6, 6, 6)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(4)
        self.spin.setRange(-1e9, 1e9)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(120)
        self.save_button = QPushButton("Save threshold")
        self.save_button.setProperty("role", "primary")
        pl.addLayout(row(QLabel("Threshold"), self.spin, self.save_button, stretch_last=True))
        pl.setSpacing(4)
        self.saved_label = _LineWhenSet()
        pl.addWidget(self.saved_label)
        self.in_model_label = _LineWhenSet()
        pl.addWidget(self.in_model_label)
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(2, 1)
        self.figure_labels: dict[str, QLabel] = {}
        self.interval_labels: dict[str, QLabel] = {}
        self.name_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate(FIGURES):
            value = QLabel("–")
            value.setStyleSheet("font-weight: 700; font-size: 12pt;")
            words = caption("")
            words.setWordWrap(False)
            self.name_labels[key] = QLabel(text)
            grid.addWidget(self.name_labels[key], i, 0)
            grid.addWidget(value, i, 1)
            grid.addWidget(words, i, 2)
            self.figure_labels[key] = value
            self.interval_labels[key] = words
        pl.addLayout(grid)
        pl.addWidget(caption("Grey: what the true rate is with 95 % confidence (Wilson interval), given how few "
                             "test parts there are. Hover a figure for the exact (Clopper–Pearson) range."))
        self.per_class_label = _LineWhenSet(role="")
        pl.addWidget(self.per_class_label)
        self.table = ConfusionTable()
        pl.addWidget(self.table)
        pl.addStretch(1)

    def show_point(self, point: dict[str, Any], critical: set[str]) -> None:
        """Every figure of ``operating.point_at``'s result."""
        c, iv = point["confusion"], point["intervals"]
        fig, words = self.figure_labels, self.interval_labels
        self.table.set_counts(c)
        fig["precision"].setText(pct(point["precision"]))
        fig["recall"].setText(pct(point["recall"]) if point["recall_known"] else "unknown")
        fig["false_reject_rate"].setText(pct(point["false_reject_rate"]))
        fig["accuracy"].setText(pct(point["accuracy"]))
        fig["escapes"].setText(f"{c['fn']} of {c['fn'] + c['tp']}")
        words["recall"].setText(interval_words(iv["recall"], "no defective test parts"))
        words["precision"].setText(interval_words(iv["precision"], "nothing rejected"))
        words["false_reject_rate"].setText(interval_words(iv["false_reject_rate"], "no good test parts"))
        words["accuracy"].setText(interval_words(iv["accuracy"], ""))
        words["escapes"].setText("")
        for key in ("recall", "precision", "false_reject_rate", "accuracy"):
            fig[key].setToolTip(in_words(key.replace("_", " "), iv[key]))
        band = point.get("review")
        self.table.set_band(bool(band))
        for key, text in FIGURES:
            self.name_labels[key].setText(BAND_NAMES.get(key, text) if band else text)
        if band:
            share = band["review_share"]["value"] if band["review_share"] else None
            fig["review"].setText(pct(share))
            words["review"].setText(f"{band['review']} of {point['n']}: {band['review_defective']} NG, "
                                    f"{band['review_good']} OK")
        else:
            fig["review"].setText("none")
            words["review"].setText("no review band")
        lines = []
        for r in point["per_class"]:
            mark = " (critical)" if r["class"] in critical else ""
            lines.append(f"<b>{r['class']}</b>{mark}: {r['caught']} of {r['n']} caught, recall "
                         f"{interval_words(r['interval'], '')}")
        self.per_class_label.setText(("Recall by defect class (worst first):<br>" + "<br>".join(lines))
                                     if lines else "")
