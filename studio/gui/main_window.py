"""The studio's one window: the workflow's steps on the left, the current step on the right."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QStackedWidget,
                               QWidget)

from studio.gui.style import ACCENT

# (page module, class) in workflow order
STEPS = [("lighting", "LightingPage", "Lighting"), ("capture", "CapturePage", "Capture"),
         ("label", "LabelPage", "Label"), ("train", "TrainPage", "Train"),
         ("threshold", "ThresholdPage", "Threshold"), ("station", "StationPage", "Station")]


def step_icon(n: int, colour: str = ACCENT) -> QIcon:
    """A filled circle with the step number."""
    pix = QPixmap(56, 56)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(2, 2, 52, 52)
    p.setPen(QColor("white"))
    f = QFont()
    f.setPixelSize(30)
    f.setBold(True)
    p.setFont(f)
    p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, str(n))
    p.end()
    return QIcon(pix)


class MainWindow(QMainWindow):
    def __init__(self, project: Any):
        super().__init__()
        self.project: Any = None
        self.pages: list[Any] = []
        self.steps = QListWidget()
        self.steps.setObjectName("steps")
        self.steps.setIconSize(QSize(28, 28))
        self.steps.setFixedWidth(190)
        for i, (_, _, name) in enumerate(STEPS, start=1):
            item = QListWidgetItem(step_icon(i), f" {name}")
            item.setToolTip(f"Step {i}: {name}   (Ctrl+{i})")
            self.steps.addItem(item)
        self.stack = QStackedWidget()
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.steps)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.steps.currentRowChanged.connect(self.show_step)
        for i in range(len(STEPS)):
            sc = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self)
            sc.activated.connect(lambda i=i: self.steps.setCurrentRow(i))

        menu = self.menuBar().addMenu("&File")
        self.new_action = QAction("&New project (from demo template)…", self)
        self.new_action.triggered.connect(self.new_project)
        self.open_action = QAction("&Open project…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.open_project)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        for a in (self.new_action, self.open_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.quit_action)

        self.status_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.resize(1280, 820)
        self.set_project(project)

    # ---- project ------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Show ``project``: the pages are rebuilt for it (the old ones stop their work first)."""
        import importlib

        self.shutdown_pages()
        self.project = project
        for module, cls, _ in STEPS:
            page_cls = getattr(importlib.import_module(f"studio.gui.pages.{module}"), cls)
            page = page_cls(project)
            page.changed.connect(self.update_status)
            self.pages.append(page)
            self.stack.addWidget(page)
        self.setWindowTitle(f"{project.name} — Inspection Studio")
        start = 1 if len(project.dataset) == 0 else 2
        if self.steps.currentRow() == start:
            self.show_step(start)
        self.steps.setCurrentRow(start)
        self.update_status()

    def shutdown_pages(self) -> None:
        for page in self.pages:
            try:
                page.shutdown()
            finally:
                self.stack.removeWidget(page)
                page.deleteLater()
        self.pages = []

    @Slot()
    def new_project(self) -> None:
        from studio.gui.app import new_project_dialog

        project = new_project_dialog(self)
        if project is not None:
            self.set_project(project)

    @Slot()
    def open_project(self) -> None:
        from studio.gui.app import open_project_dialog

        project = open_project_dialog(self, str(self.project.root.parent) if self.project else None)
        if project is not None:
            self.set_project(project)

    # ---- steps -----------------------------------------------------------------
    @Slot(int)
    def show_step(self, index: int) -> None:
        if not 0 <= index < len(self.pages):
            return
        page = self.pages[index]
        self.stack.setCurrentWidget(page)
        try:
            page.refresh()
        except Exception as e:  # a page that cannot refresh says why
            from studio.gui.widgets.errors import error_dialog

            error_dialog(self, e, f"{STEPS[index][2]}: could not load")
        self.update_status()

    def current_page(self) -> Any:
        return self.stack.currentWidget()

    @Slot()
    def update_status(self) -> None:
        p = self.project
        if p is None:
            return
        n = len(p.dataset)
        ids = {r.id for r in p.dataset}
        labelled = sum(1 for image_id in p.labels.current() if image_id in ids)
        self.status_label.setText(f"Project: {p.name}    ·    Task: {p.task}    ·    "
                                  f"{n} image{'s' if n != 1 else ''}    ·    {labelled} labelled")

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown_pages()
        super().closeEvent(event)
