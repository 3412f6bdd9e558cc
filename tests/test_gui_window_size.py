"""The main window keeps its size as the pages change: pages fit it (or scroll), never push it."""
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.gui.main_window import STEPS, MainWindow  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, demo_project):
    w = MainWindow(demo_project)
    qtbot.addWidget(w)
    yield w
    w.shutdown_pages()


def _visit_all(qtbot, w):
    sizes = []
    for i in list(range(len(STEPS))) + [2, 4, 1]:
        w.steps.setCurrentRow(i)
        qtbot.wait(10)
        sizes.append((STEPS[i][2], w.width(), w.height()))
    return sizes


@pytest.mark.parametrize("width,height", [(1280, 820), (1100, 700)])
def test_the_window_width_is_constant_across_pages(qtbot, window, width, height):
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    sizes = _visit_all(qtbot, window)
    assert {(w, h) for _, w, h in sizes} == {(width, height)}, sizes
    # and the window asks for no more than a small screen has, whatever page it shows
    assert window.minimumSizeHint().width() < 1000


def test_at_the_default_size_every_page_fits_without_scrolling(qtbot, window):
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    for i, (_, _, name) in enumerate(STEPS):
        window.steps.setCurrentRow(i)
        qtbot.wait(10)
        assert not window.scroll.horizontalScrollBar().isVisible(), name
        assert window.pages[i].width() <= window.scroll.viewport().width(), name


def test_a_page_wider_than_a_small_window_scrolls_instead(qtbot, window):
    window.resize(1000, 680)
    window.show()
    qtbot.waitExposed(window)
    window.steps.setCurrentRow(2)              # Label: the widest page
    qtbot.wait(10)
    page = window.current_page()
    assert window.width() == 1000
    assert page.width() >= page.minimumSizeHint().width() > window.scroll.viewport().width()
    assert window.scroll.horizontalScrollBar().isVisible()


def test_the_threshold_pages_confusion_matrix_fits_at_the_default_size(qtbot, window):
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    window.steps.setCurrentRow(4)
    qtbot.wait(20)
    page = window.current_page()
    table = page.table
    scroll = page.side.currentWidget()              # the operating point's own scroll area
    bottom = table.mapTo(scroll.viewport(), table.rect().bottomLeft()).y()
    assert table.isVisible() and bottom <= scroll.viewport().height(), (bottom, scroll.viewport().height())
    assert not scroll.verticalScrollBar().isVisible()


def test_with_images_loaded_the_label_page_still_fits_at_the_default_size(qtbot, demo_project):
    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera

    with open_camera(demo_project.camera_spec, demo_project.camera_settings) as cam:
        capture_to_project(demo_project, cam, 3, label_truth=True)
    w = MainWindow(demo_project)
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    for i in range(len(STEPS)):
        w.steps.setCurrentRow(i)
        qtbot.wait(10)
        assert w.width() == 1280
        assert not w.scroll.horizontalScrollBar().isVisible(), STEPS[i][2]
    w.shutdown_pages()
