"""Drawing tools above the canvas: pan, box, polygon, brush (with its size) and undo / redo."""
from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

TOOL_BUTTONS = [("pan", "Pan [V]"), ("box", "Box [R]"), ("polygon", "Polygon [P]"), ("brush", "Brush [D]")]


class ToolBar(QWidget):
    def __init__(self, canvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for tool, text in TOOL_BUTTONS:
            b = QPushButton(text)
            b.setCheckable(True)
            b.setFocusPolicy(b.focusPolicy().NoFocus)
            b.clicked.connect(lambda _c=False, t=tool: self.choose(t))
            self.group.addButton(b)
            self.buttons[tool] = b
            lay.addWidget(b)
        self.size_label = QLabel()
        lay.addWidget(self.size_label)
        self.status = QLabel()
        self.status.setProperty("role", "caption")
        lay.addWidget(self.status)
        self.buttons["pan"].setChecked(True)
        self._show_size()

    def choose(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.buttons[tool].setChecked(True)
        if tool == "polygon":
            self.set_status("click the corners; Enter or double-click closes")

    def brush_size(self, delta: int) -> None:
        self.canvas.brush_radius = max(1, min(80, self.canvas.brush_radius + delta))
        self._show_size()

    def _show_size(self) -> None:
        self.size_label.setText(f"brush {self.canvas.brush_radius * 2} px")

    def set_status(self, text: str) -> None:
        self.status.setText(text)
