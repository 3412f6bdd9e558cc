"""Choosing the project to work on: open a folder, create one from the demo template, the first one at start."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox


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
