"""Step 1, Lighting: what the lighting audit will check (text only until that release)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from studio.gui.pages.base import Page

CHECKS = [
    ("Exposure", "Too dark or blown out? Share of clipped pixels and where the histogram sits."),
    ("Uniformity", "Is the part lit evenly? Brightness fall-off from one side or the corners."),
    ("Focus", "Is the part sharp? Edge sharpness on the part, frame to frame."),
    ("Noise", "Sensor noise in flat areas: too much gain hides small defects."),
    ("Stability", "Does brightness flicker between frames (mains lighting, ageing lamps)?"),
    ("Glare", "Specular hot spots on shiny metal that look like defects or hide them."),
]


class LightingPage(Page):
    title = "Lighting"
    subtitle = "Good images start with good light. Check it before you capture a data set."

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(project, parent)
        panel = QFrame()
        panel.setObjectName("comingPanel")
        panel.setStyleSheet("QFrame#comingPanel { background: #f8fafc; border: 1px solid #d1d5db;"
                            " border-radius: 8px; }")
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.setSpacing(12)
        self.coming = QLabel("Lighting audit — coming in the lighting-audit release")
        self.coming.setStyleSheet("font-size: 14pt; font-weight: 600;")
        lay.addWidget(self.coming)
        intro = QLabel("The audit will grab a short burst of frames from the line camera and grade the "
                       "lighting on six checks, each with a pass / warning / fail and what to adjust:")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(8)
        self.check_labels: list[QLabel] = []
        for i, (name, what) in enumerate(CHECKS):
            n = QLabel(name)
            n.setStyleSheet("font-weight: 600;")
            d = QLabel(what)
            d.setWordWrap(True)
            grid.addWidget(n, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(d, i, 1)
            self.check_labels.append(n)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        nxt = QLabel("For now: look at the live view on the <b>Capture</b> step (Ctrl+2) — the part "
                     "should be evenly lit, sharp, and free of bright reflections.")
        nxt.setWordWrap(True)
        nxt.setStyleSheet("color: #1a3d7c;")
        lay.addWidget(nxt)
        self.root_layout.addWidget(panel)
        self.root_layout.addStretch(1)
