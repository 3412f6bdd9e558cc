"""Shadow mode at the kiosk: the inspector keys the existing inspection's verdict for the part shown.

Visible only while the station runs in shadow mode (``station.trial.watching``).
**P** records *pass*, **R** records *reject* for the part on screen, as the
incumbent's verdict (``IncumbentInbox.from_kiosk``: the result log's
``incumbent`` table, source ``kiosk``, with the inspector's login). A second key
press for the same part replaces the first (the latest counts).
"""
from __future__ import annotations

import getpass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

KEYS = {Qt.Key.Key_P: "pass", Qt.Key.Key_R: "reject"}


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "inspector"


class IncumbentKeys(QWidget):
    def __init__(self, station: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.station = station
        self.inspector = _login()
        self.part: int | None = None
        self.recorded: dict[int, str] = {}
        self.pass_button = QPushButton("Inspector: PASS  [P]")
        self.reject_button = QPushButton("Inspector: REJECT  [R]")
        self.pass_button.clicked.connect(lambda: self.press("pass"))
        self.reject_button.clicked.connect(lambda: self.press("reject"))
        self.label = QLabel("Shadow mode: the station only watches; key your own verdict")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.pass_button)
        lay.addWidget(self.reject_button)
        lay.addWidget(self.label, 1)
        trial = getattr(station, "trial", None)
        # shadow mode: the inspector keys a verdict without seeing the model's (the kiosk hides it), so the
        # comparison measures two independent judgements, as a planned labeler labels blind
        self.blind = bool(getattr(trial, "watching", False))
        self.setVisible(self.blind)
        self._enable()

    def _enable(self) -> None:
        for b in (self.pass_button, self.reject_button):
            b.setEnabled(self.part is not None)

    def set_part(self, part: Any) -> None:
        """The part now on screen."""
        self.part = part if isinstance(part, int) else None
        self._enable()

    def press(self, verdict: str) -> bool:
        trial = getattr(self.station, "trial", None)
        inbox = getattr(trial, "incumbent", None)
        if self.part is None or inbox is None or not self.isVisible():
            return False
        inbox.from_kiosk(self.part, verdict, self.inspector)
        self.recorded[self.part] = verdict
        self.label.setText(f"part {self.part}: {self.inspector} says {verdict.upper()}")
        return True

    def handle_key(self, key: Any) -> bool:
        """The kiosk's key press: True when it was a P or R this widget took."""
        verdict = KEYS.get(key)
        return verdict is not None and self.press(verdict)
