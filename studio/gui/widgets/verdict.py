"""The big coloured PASS / REJECT / FAULT badge, and a small counter tile."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from studio.gui.style import VERDICT_COLOURS

VERDICT_TEXT = {"pass": "PASS", "reject": "REJECT", "fault": "FAULT", "review": "REVIEW"}


class VerdictBadge(QLabel):
    def __init__(self, parent: QWidget | None = None, *, point_size: int = 36, idle_text: str = "—"):
        super().__init__(parent)
        self.point_size = point_size
        self.idle_text = idle_text
        self.verdict: str | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setObjectName("verdictBadge")
        self.set_verdict(None)

    def set_verdict(self, verdict: str | None) -> None:
        self.verdict = verdict
        colour = VERDICT_COLOURS.get(verdict or "", "#4b5563")
        self.setText(VERDICT_TEXT.get(verdict or "", self.idle_text))
        pad = max(4, self.point_size // 4)
        self.setStyleSheet(f"QLabel#verdictBadge {{ background: {colour}; color: white; font-weight: 800;"
                           f" font-size: {self.point_size}pt; border-radius: 8px; padding: {pad}px {pad * 2}px; }}")


class CounterTile(QFrame):
    """A caption over a big number, e.g. "Rejected" / "12"."""

    def __init__(self, caption: str, parent: QWidget | None = None, *, point_size: int = 20,
                 colour: str | None = None, caption_size: int = 9):
        super().__init__(parent)
        self.setObjectName("counterTile")
        self.setStyleSheet("QFrame#counterTile { border: 1px solid #d1d5db; border-radius: 6px; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setStyleSheet(f"color: #6b7280; font-size: {caption_size}pt; border: none;")
        self.value = QLabel("0")
        self.value.setStyleSheet(f"font-size: {point_size}pt; font-weight: 700; border: none;"
                                 + (f" color: {colour};" if colour else ""))
        lay.addWidget(self.caption)
        lay.addWidget(self.value)

    def set_value(self, value: object) -> None:
        self.value.setText(str(value))

    def text(self) -> str:
        return self.value.text()
