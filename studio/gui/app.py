"""Start the studio: ``main(project_path)`` opens the project and shows the main window.

The exception hook is ``studio.gui.exception_hook``, the project dialogs
``studio.gui.project_dialogs``; the ``studio`` command reaches ``main``
through ``studio.app`` (``studio.cli.front_ends``, name ``studio``).
"""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from studio.gui import project_dialogs
from studio.gui.exception_hook import install_excepthook
from studio.gui.gc_policy import collect_on_gui_thread


def main(project_path: str | None = None) -> int:
    """Open the studio on ``project_path``; returns the exit code (0 also when the person cancels)."""
    from studio.gui.style import STYLE_SHEET, app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Inspection Studio")
    app.setDesktopFileName("inspection-studio")       # the desktop entry: its icon in the task bar
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
    install_excepthook()
    collect_on_gui_thread(app)
    project = project_dialogs.first_project(project_path)
    if project is None:
        return 0
    from studio.gui.main_window import MainWindow

    window = MainWindow(project)
    window.show()
    return app.exec()
