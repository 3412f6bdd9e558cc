"""Start the studio: ``main(project_path)`` opens the project and shows the main window."""
from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

_installed = False
_shown = 0
MAX_ERROR_DIALOGS = 5          # an error in a timer must not bury the screen in dialogs


def show_unexpected(exc_type: type, exc: BaseException, tb: Any) -> None:
    """sys.excepthook: a plain dialog with the message, the traceback under "details"."""
    global _shown
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.__stderr__ and sys.__stderr__.write(details)
    app = QApplication.instance()
    if app is None or _shown >= MAX_ERROR_DIALOGS:
        return
    from studio.core.errors import StudioError
    from studio.gui.widgets.errors import error_dialog

    _shown += 1
    if isinstance(exc, StudioError):
        error_dialog(app.activeWindow(), exc)
        return
    error_dialog(app.activeWindow(),
                 f"Something unexpected went wrong: {exc or exc_type.__name__}\n\nYour project files are "
                 "safe (every save is atomic). If this happens again, copy the details into a bug report.",
                 "Unexpected error", details=details)


def install_excepthook() -> None:
    """Unexpected errors, in the GUI thread or any other, end up in a dialog, never silently."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.excepthook = show_unexpected

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        # another thread: hand the error to the GUI thread
        app = QApplication.instance()
        if app is not None:
            QTimer.singleShot(0, app, lambda: show_unexpected(args.exc_type, args.exc_value, args.exc_traceback))
        else:
            sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)

    threading.excepthook = thread_hook


def open_project_dialog(parent: Any = None, start: str | None = None) -> Any:
    """Ask for a project folder until one opens or the person gives up (None)."""
    from studio.project import Project

    while True:
        path = QFileDialog.getExistingDirectory(parent, "Open project folder", start or str(Path.home()))
        if not path:
            return None
        try:
            return Project.open(path)
        except Exception as e:
            from studio.gui.widgets.errors import describe

            QMessageBox.critical(parent, "Cannot open this project", describe(e)[0])
            start = path


def new_project_dialog(parent: Any = None) -> Any:
    """Create a project from the demo template in a folder the person names (None if they cancel)."""
    from studio.project import Project

    path, _ = QFileDialog.getSaveFileName(parent, "New project (demo template): folder to create",
                                          str(Path.home() / "inspection-project"))
    if not path:
        return None
    try:
        return Project.create(path, template="demo")
    except Exception as e:
        from studio.gui.widgets.errors import describe

        QMessageBox.critical(parent, "Cannot create the project", describe(e)[0])
        return None


def first_project(project_path: str | None) -> Any:
    """The project to start with: the one asked for, or one chosen in a dialog after a clear message."""
    from studio.project import Project

    if project_path:
        try:
            return Project.open(project_path)
        except Exception as e:
            from studio.gui.widgets.errors import describe

            QMessageBox.critical(None, "Cannot open the project", describe(e)[0])
            return open_project_dialog(None, str(Path(project_path).parent))
    box = QMessageBox(QMessageBox.Icon.Question, "Inspection Studio", "Open an existing project, or create "
                      "a new one from the demo template (simulated camera and bracket line)?")
    open_b = box.addButton("Open project…", QMessageBox.ButtonRole.AcceptRole)
    new_b = box.addButton("New demo project…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is open_b:
        return open_project_dialog(None)
    if box.clickedButton() is new_b:
        return new_project_dialog(None)
    return None


def main(project_path: str | None = None, kiosk: bool = False) -> int:
    """Open the studio on ``project_path``; returns the exit code (0 also when the person cancels).

    ``kiosk=True`` starts the project's station straight into the operator's full-screen view.
    """
    from studio.gui.style import STYLE_SHEET, app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Inspection Studio")
    app.setDesktopFileName("inspection-studio")       # the desktop entry: its icon in the task bar
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
    install_excepthook()
    project = first_project(project_path)
    if project is None:
        return 0
    if kiosk:
        from studio.gui.kiosk import run_kiosk
        from studio.station import Station

        try:        # an invalid station.yaml is refused here too, with its problems named
            settings = project.station_settings()
            station = Station(project, plc_spec=settings.get("plc", "sim"))
            return run_kiosk(station)
        except Exception as e:
            from studio.gui.widgets.errors import describe

            QMessageBox.critical(None, "Cannot start the station", describe(e)[0])
            return 2
    from studio.gui.main_window import MainWindow

    window = MainWindow(project)
    window.show()
    return app.exec()
