"""The studio's one window: the workflow's steps on the left, the current step on the right."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Slot
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QProgressBar, QScrollArea, QSizePolicy, QStackedWidget, QWidget)

from studio.gui.style import ACCENT, app_icon

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


class PageArea(QScrollArea):
    """Holds the pages: the current page fills the window and scrolls only where the window is smaller
    than the page's minimum; a page never widens the window."""

    def __init__(self, stack: QStackedWidget):
        super().__init__()
        self.setObjectName("page-scroll")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(False)
        self.setWidget(stack)
        stack.installEventFilter(self)                # a page whose content grows asks for a new layout

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit()
        return False

    def fit(self) -> None:
        w = self.widget()
        if w is None:
            return
        need = w.minimumSizeHint().expandedTo(w.minimumSize())
        view = self.maximumViewportSize()             # the viewport without scroll bars
        width = max(view.width(), need.width())
        if width > view.width():                      # a horizontal bar takes height
            view.setHeight(view.height() - self.horizontalScrollBar().sizeHint().height())
        height = max(view.height(), need.height())
        if height > view.height() and width <= view.width():
            width = max(view.width() - self.verticalScrollBar().sizeHint().width(), need.width())
        w.resize(width, height)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 150)


class MainWindow(QMainWindow):
    def __init__(self, project: Any):
        super().__init__()
        self.setWindowIcon(app_icon())
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
        # Pages fit the window, never push it: the stack sits in a scroll area (a page wider or taller
        # than the window scrolls), and only the current page's size counts (the others are Ignored).
        self.scroll = PageArea(self.stack)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.steps)
        lay.addWidget(self.scroll, 1)
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
        self.fleet_action = QAction("&Fleet (central store)…", self)     # studio.gui.pages.fleet
        self.fleet_action.triggered.connect(self.open_fleet)
        self.menuBar().addMenu("&View").addAction(self.fleet_action)

        self.status_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        # the demo filling itself on first open (studio.training.demo), in the background
        self.fill_label = QLabel()
        self.fill_bar = QProgressBar()
        self.fill_bar.setRange(0, 1000)
        self.fill_bar.setMaximumWidth(220)
        self.statusBar().addPermanentWidget(self.fill_label)
        self.statusBar().addPermanentWidget(self.fill_bar)
        self.fill_label.hide()
        self.fill_bar.hide()
        from studio.gui.sign_in import SignInStatus

        self.sign_in_status = SignInStatus()        # who is signed in (studio.gui.sign_in)
        self.statusBar().addPermanentWidget(self.sign_in_status)
        from studio.gui.widgets.task_runner import TaskRunner

        self.fill_runner = TaskRunner(self)
        self.fill_runner.progress.connect(lambda f: self.fill_bar.setValue(int(f * 1000)))
        self.fill_runner.status.connect(lambda t: self.fill_label.setText(f"Preparing the demo: {t} …"))
        self.fill_runner.finished.connect(self._demo_filled)
        self.fill_runner.failed.connect(lambda e: self._demo_filled(None, failed=e))
        self.fill_runner.cancelled.connect(lambda: self._demo_filled(None))
        self.resize(1280, 820)
        self.set_project(project)

    # ---- project ------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Show ``project``: the pages are rebuilt for it (the old ones stop their work first)."""
        import importlib

        self.shutdown_pages()
        self.project = project
        from studio.gui.sign_in import session_for

        self.sign_in_status.set_session(session_for(project))
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
        self.fill_demo_if_new()

    def fill_demo_if_new(self) -> bool:
        """A demo opened for the first time fills itself in the background; True when that started."""
        from studio.training.demo import fill_demo, needs_fill

        if self.fill_runner.is_running() or not needs_fill(self.project):
            return False
        project = self.project
        self.fill_bar.setValue(0)
        self.fill_label.setText("Preparing the demo: simulated parts, lighting baseline, a small model …")
        self.fill_label.show()
        self.fill_bar.show()
        return self.fill_runner.start(lambda ctx: fill_demo(project, ctx))

    def _demo_filled(self, result: Any, failed: Any = None) -> None:
        self.fill_bar.hide()
        if result is None:
            self.fill_label.setText("The demo was not prepared" + (f": {failed}" if failed else "") + ".")
        else:
            made = f"{result.get('parts', 0)} labelled parts"
            if result.get("baseline"):
                made += ", a lighting baseline"
            if result.get("model_id"):
                made += f", model {result['model_id']}"
            self.fill_label.setText(f"Demo ready: {made}.")
        self.show_step(self.steps.currentRow())
        self.update_status()

    def shutdown_pages(self) -> None:
        if getattr(self, "fill_runner", None) is not None and self.fill_runner.is_running():
            self.fill_runner.cancel()
            self.fill_runner.wait(30_000)
        for page in self.pages:
            try:
                page.shutdown()
            finally:
                self.stack.removeWidget(page)
                page.deleteLater()
        self.pages = []

    @Slot()
    def new_project(self) -> None:
        from studio.gui.project_dialogs import new_project_dialog

        project = new_project_dialog(self)
        if project is not None:
            self.set_project(project)

    @Slot()
    def open_project(self) -> None:
        from studio.gui.project_dialogs import open_project_dialog

        project = open_project_dialog(self, str(self.project.root.parent) if self.project else None)
        if project is not None:
            self.set_project(project)

    @Slot()
    def open_fleet(self) -> None:
        from studio.gui.pages.fleet import open_fleet_window

        self.fleet_window = open_fleet_window(self, self.project)

    # ---- steps -----------------------------------------------------------------
    @Slot(int)
    def show_step(self, index: int) -> None:
        if not 0 <= index < len(self.pages):
            return
        page = self.pages[index]
        if self.steps.currentRow() != index:      # shown from code: the step list says where we are
            self.steps.blockSignals(True)
            self.steps.setCurrentRow(index)
            self.steps.blockSignals(False)
        for other in self.pages:
            policy = QSizePolicy.Policy.Preferred if other is page else QSizePolicy.Policy.Ignored
            other.setSizePolicy(policy, policy)
        self.stack.setCurrentWidget(page)
        self.scroll.fit()
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
        if getattr(self, "fleet_window", None) is not None:
            self.fleet_window.shutdown()
        self.shutdown_pages()
        super().closeEvent(event)
