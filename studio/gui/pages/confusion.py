"""The confusion matrix at an operating point: actual OK / NG against predicted pass / reject."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

# (row, column) -> (count key, what it means)
CELLS = {(0, 0): ("tn", "good parts passed"), (0, 1): ("fp", "good parts rejected (false rejects)"),
         (1, 0): ("fn", "defective parts passed (escapes)"), (1, 1): ("tp", "defective parts rejected")}


def confusion_for(y: Any, s: Any, t: float) -> dict[str, Any]:
    """precision, recall, confusion{tp,fp,tn,fn} when every part scoring >= t is rejected."""
    try:
        from studio.evaluation.evaluate import operating_point

        out = dict(operating_point(y, s, t))
    except ImportError:
        from studio.evaluation.metrics import confusion_at, precision_recall_at

        p, r = precision_recall_at(y, s, t)
        out = {"precision": p, "recall": r, "confusion": confusion_at(y, s, t)}
    c = out["confusion"]
    good = c["tn"] + c["fp"]
    out["false_reject_rate"] = c["fp"] / good if good else None
    return out


class ConfusionTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(2, 2, parent)
        self.setHorizontalHeaderLabels(["Predicted PASS", "Predicted REJECT"])
        self.setVerticalHeaderLabels(["Actually OK", "Actually NG"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setFixedHeight(130)
        font = QFont()
        font.setPointSize(16)
        font.setBold(True)
        for (r, c), (key, what) in CELLS.items():
            item = QTableWidgetItem("–")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setFont(font)
            item.setToolTip(what)
            correct = r == c
            item.setBackground(QBrush(QColor("#e6f4ea" if correct else "#fce8e6")))
            self.setItem(r, c, item)

    def set_band(self, band: bool) -> None:
        """With a review band the right-hand column holds the parts not passed: rejected or reviewed."""
        self.setHorizontalHeaderLabels(["Predicted PASS", "REJECT or REVIEW" if band else "Predicted REJECT"])

    def set_counts(self, confusion: dict[str, int] | None) -> None:
        for (r, c), (key, _) in CELLS.items():
            self.item(r, c).setText("–" if confusion is None else str(int(confusion[key])))

    def counts(self) -> dict[str, int]:
        """What the table shows (for tests and screen readers)."""
        return {key: int(self.item(r, c).text()) for (r, c), (key, _) in CELLS.items()}
