"""What every step page has: the project, ``refresh()`` when shown, ``shutdown()`` when closed."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget


class Page(QWidget):
    title = "Step"
    subtitle = ""
    changed = Signal()              # the project's images, labels or models changed

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.root_layout = QVBoxLayout(self)
        self.root_layout.setContentsMargins(18, 14, 18, 14)
        self.root_layout.setSpacing(10)
        head = QVBoxLayout()
        head.setSpacing(2)
        t = QLabel(self.title)
        t.setProperty("role", "title")
        head.addWidget(t)
        if self.subtitle:
            s = QLabel(self.subtitle)
            s.setProperty("role", "subtitle")
            s.setWordWrap(True)
            head.addWidget(s)
        self.root_layout.addLayout(head)

    def refresh(self) -> None:
        """Re-read what the page shows from the project (called whenever the page is shown)."""

    def shutdown(self) -> None:
        """Stop cameras, workers and stations the page started (window closing or project switch)."""


def row(*widgets: Any, stretch_last: bool = False, spacing: int = 8) -> QHBoxLayout:
    lay = QHBoxLayout()
    lay.setSpacing(spacing)
    for w in widgets:
        if w is None:
            lay.addStretch(1)
        elif isinstance(w, int):
            lay.addSpacing(w)
        elif hasattr(w, "addWidget") and not isinstance(w, QWidget):
            lay.addLayout(w)
        else:
            lay.addWidget(w)
    if stretch_last:
        lay.addStretch(1)
    return lay


def caption(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setProperty("role", "caption")
    lab.setWordWrap(True)
    return lab
