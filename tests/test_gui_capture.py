"""The Capture page: live view off the GUI thread, Space saves the frame, simulated parts in the background."""
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import Qt  # noqa: E402


@pytest.fixture
def capture_page(qtbot, demo_project):
    from studio.gui.pages.capture import CapturePage

    page = CapturePage(demo_project)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitActive(page)
    page.refresh()
    yield page
    page.shutdown()
    assert page.worker is None and not page.sim_runner.is_running()


def test_space_captures_the_live_frame_into_the_project(qtbot, capture_page, demo_project):
    page = capture_page
    page.spec_edit.setText("sim:seed=3,width=160,height=120")
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.current_frame is not None, timeout=10_000)
    assert page.view.has_image() and page.capture_button.isEnabled()
    assert "Simulated" in page.camera_label.text()
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(demo_project.dataset) == 1, timeout=5_000)
    rec = demo_project.dataset.records()[0]
    img = demo_project.dataset.load(rec)
    assert img.shape == (120, 160, 3)
    assert rec.source == "capture" and rec.meta["camera"] == "sim:seed=3,width=160,height=120"
    assert isinstance(rec.meta["frame_id"], int) and rec.meta["camera_info"]["width"] == 160
    assert page.count_label.text() == "1"
    frames_before = page.worker.frames
    qtbot.waitUntil(lambda: page.worker.frames > frames_before + 2, timeout=5_000)   # still live
    qtbot.mouseClick(page.disconnect_button, Qt.MouseButton.LeftButton)
    assert page.worker is None and not page.capture_button.isEnabled()


def test_camera_errors_show_a_red_banner_not_a_crash(qtbot, capture_page):
    from studio.gui.widgets import errors

    page = capture_page
    page.spec_edit.setText("nosuchcam:1")
    page.connect_camera()
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=5_000)
    assert page.banner.property("role") == "banner-error"
    assert "unknown camera 'nosuchcam'" in page.banner.text()
    assert page.worker is None
    assert page.error_box is not None and "unknown camera" in page.error_box.text()
    page.error_box.close()
    assert errors.describe(RuntimeError("x"))[1] is not None     # non-studio errors keep their traceback


def test_add_simulated_parts_runs_in_the_background_and_continues_the_sequence(qtbot, capture_page,
                                                                                demo_project):
    page = capture_page
    assert page.sim_box.isVisibleTo(page)
    page.sim_count.setValue(4)
    assert page.sim_button.text() == "Add 4 simulated parts"
    qtbot.mouseClick(page.sim_button, Qt.MouseButton.LeftButton)
    assert page.sim_runner.is_running() or len(demo_project.dataset) == 4
    qtbot.waitUntil(lambda: not page.sim_runner.is_running(), timeout=20_000)
    assert len(demo_project.dataset) == 4
    assert page.sim_status.text() == "Added 4 labelled parts."
    labels = demo_project.labels.current()
    assert len(labels) == 4 and {l.labeler for l in labels.values()} == {"simulator"}
    page.add_simulated()
    qtbot.waitUntil(lambda: not page.sim_runner.is_running(), timeout=20_000)
    indices = sorted(r.meta["index"] for r in demo_project.dataset)
    assert indices == list(range(8))                       # the second batch went on, no part twice
    assert page.count_label.text() == "8"


def test_cancel_stops_adding_simulated_parts(qtbot, capture_page, demo_project):
    page = capture_page
    page.sim_count.setValue(5000)
    page.add_simulated()
    qtbot.waitUntil(lambda: page.sim_progress.value() > 0, timeout=10_000)
    assert page.sim_cancel.isVisible()
    qtbot.mouseClick(page.sim_cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.sim_runner.is_running(), timeout=10_000)
    n = len(demo_project.dataset)
    assert 0 < n < 5000
    assert page.sim_status.text() == f"Cancelled after adding {n} parts."
    assert not page.sim_cancel.isVisible()


def test_no_simulated_parts_for_a_real_camera(qtbot, capture_page):
    capture_page.spec_edit.setText("opencv:0")
    assert not capture_page.sim_box.isVisibleTo(capture_page)
