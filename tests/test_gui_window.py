"""The studio window: six workflow steps in order, keyboard switching, menus, status bar."""
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QListWidget, QStackedWidget  # noqa: E402


@pytest.fixture
def window(qtbot, demo_project):
    from studio.gui.main_window import MainWindow

    w = MainWindow(demo_project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitActive(w)
    yield w
    w.close()       # stops cameras, workers and stations the pages started


# step -> (page class name, attributes every page of that step must have)
KEY_CONTROLS = [
    ("LightingPage", ["camera_edit", "audit_button", "checks_table", "history_list", "baseline_button"]),
    ("CapturePage", ["spec_edit", "connect_button", "disconnect_button", "view", "capture_button",
                     "sim_count", "sim_button"]),
    ("LabelPage", ["image_list", "view", "ok_button", "ng_button", "borderline_button", "class_combo",
                   "labeler_edit", "undo_button"]),
    ("TrainPage", ["task_combo", "start_button", "cancel_button", "progress", "status_label", "plot",
                   "models_table"]),
    ("ThresholdPage", ["model_combo", "evaluate_button", "pr_plot", "hist_plot", "marker", "line", "spin",
                       "table", "save_button"]),
    ("StationPage", ["camera_edit", "plc_edit", "start_button", "stop_button", "kiosk_button", "badge",
                     "tiles", "recent", "alerts", "view"]),
]


def test_steps_follow_the_workflow(window):
    steps = window.findChild(QListWidget, "steps")
    names = [steps.item(i).text().strip() for i in range(steps.count())]
    assert names == ["Lighting", "Capture", "Label", "Train", "Threshold", "Station"]
    assert all(not steps.item(i).icon().isNull() for i in range(steps.count()))
    assert "demo" in window.windowTitle()
    assert isinstance(window.centralWidget().findChild(QStackedWidget), QStackedWidget)


@pytest.mark.parametrize("index", range(6))
def test_every_step_shows_with_ctrl_number(qtbot, window, index):
    cls, controls = KEY_CONTROLS[index]
    other = (index + 1) % 6
    window.steps.setCurrentRow(other)
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{index + 1}"), Qt.KeyboardModifier.ControlModifier)
    page = window.current_page()
    assert type(page).__name__ == cls
    assert window.steps.currentRow() == index
    assert page.isVisible() and window.stack.currentWidget() is page
    for name in controls:
        widget = getattr(page, name)
        assert widget is not None, name
        if isinstance(widget, QAbstractButton):
            assert widget.isVisibleTo(page), name
    assert page.project is window.project


def test_status_bar_counts_images_and_labels(qtbot, window, demo_project):
    import numpy as np

    text = window.status_label.text()
    assert "demo" in text and "anomaly" in text and "0 images" in text and "0 labelled" in text
    rec = demo_project.dataset.add_image(np.full((40, 60), 128, np.uint8))
    demo_project.labels.add(rec.id, "ok", labeler="t")
    window.steps.setCurrentRow(2)           # showing a page refreshes the status bar
    assert "1 image " in window.status_label.text() + " " and "1 labelled" in window.status_label.text()


def test_file_menu_has_new_open_quit(window):
    texts = [a.text().replace("&", "") for a in window.menuBar().actions()[0].menu().actions() if a.text()]
    assert texts == ["New project (from demo template)…", "Open project…", "Quit"]


def test_switching_project_rebuilds_the_pages(qtbot, window, tmp_path):
    from studio.project import Project

    other = Project.create(tmp_path / "other", name="Line 7", template="demo")
    old_pages = list(window.pages)
    window.set_project(other)
    assert window.pages and all(p not in old_pages for p in window.pages)
    assert all(p.project is other for p in window.pages)
    assert "Line 7" in window.windowTitle() and "Line 7" in window.status_label.text()


def test_an_unopenable_project_is_a_message_not_a_traceback(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.gui import app, exception_hook, project_dialogs

    import sys
    import threading

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(exception_hook, "_installed", False)
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    monkeypatch.setattr(project_dialogs, "open_project_dialog", lambda parent=None, start=None: None)
    assert app.main(str(tmp_path / "nowhere")) == 0
    assert shown and shown[0][0] == "Cannot open the project"
    assert "is not a folder" in shown[0][1] and "Traceback" not in shown[0][1]


def test_unexpected_errors_show_a_dialog_with_details(qtbot):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from studio.gui import exception_hook
    from studio.gui.widgets import errors

    try:
        raise ZeroDivisionError("division by zero in a slot")
    except ZeroDivisionError as e:
        exception_hook.show_unexpected(type(e), e, e.__traceback__)
    box = errors._open_dialogs[-1]
    assert isinstance(box, QMessageBox)
    assert "division by zero in a slot" in box.text() and "Traceback" not in box.text()
    assert "ZeroDivisionError" in box.detailedText()
    box.close()
    QApplication.processEvents()


def test_main_opens_the_project_in_the_studio_window(qtbot, demo_project, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.gui import app, exception_hook
    from studio.gui.main_window import MainWindow

    monkeypatch.setattr(exception_hook, "_installed", True)            # keep pytest's exception hooks
    seen = {}

    def look_and_quit():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["titles"] = [w.windowTitle() for w in wins]
        seen["status"] = wins[0].status_label.text() if wins else ""
        for w in wins:
            w.close()
        QApplication.instance().quit()

    # The test quits explicitly. Closing the last window inside exec() would also make Qt quit the
    # application, which leaves later tests' event loops (qtbot.wait, waitUntil) returning at once:
    # queued signals from worker threads would then never arrive.
    QApplication.instance().setQuitOnLastWindowClosed(False)
    QTimer.singleShot(300, look_and_quit)
    assert app.main(str(demo_project.root)) == 0
    assert seen["titles"] == ["demo — Inspection Studio"]
    assert "Project: demo" in seen["status"]
