"""The operator says the station was wrong about a part: one dialog, two big answers.

What the operator chose goes through ``studio.station.feedback.send_back``:
the part's image joins the project and waits in the reference labeler's
review queue.
"""
from __future__ import annotations

import getpass
from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QRadioButton, QVBoxLayout, QWidget)

from studio.gui.widgets.verdict import VERDICT_TEXT


class DisagreeDialog(QDialog):
    def __init__(self, part: int, station_verdict: str, classes: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Wrong verdict on part {part}?")
        self.setObjectName("disagreeDialog")
        self.setMinimumWidth(480)
        self.setStyleSheet("QLabel, QRadioButton { font-size: 13pt; }")
        said = VERDICT_TEXT.get(station_verdict, station_verdict.upper())
        intro = QLabel(f"The station said <b>{said}</b> for part {part}.<br>What is this part really?")
        self.ok = QRadioButton("Good part (OK)")
        self.ng = QRadioButton("Defective (NG):")
        self.defect = QComboBox()
        self.defect.addItems(classes)
        (self.ng if station_verdict == "pass" else self.ok).setChecked(True)
        self.defect.setEnabled(self.ng.isChecked())
        self.ng.toggled.connect(self.defect.setEnabled)
        self.operator = QLineEdit(_user())
        self.note = QLineEdit()
        self.note.setPlaceholderText("what you saw (optional)")
        form = QFormLayout()
        form.addRow(self.ok)
        form.addRow(self.ng, self.defect)
        form.addRow("Operator", self.operator)
        form.addRow("Note", self.note)
        hint = QLabel("The image goes to the engineer's review queue; the reference decision trains the next model.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #6b7280; font-size: 10pt;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send to review")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(hint)
        lay.addWidget(buttons)

    def answer(self) -> dict[str, Any]:
        ng = self.ng.isChecked()
        return {"verdict": "ng" if ng else "ok", "defect_class": self.defect.currentText() if ng else None,
                "operator": self.operator.text().strip() or _user(), "note": self.note.text().strip()}


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (service account): still a name
        return "operator"
