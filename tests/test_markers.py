"""The markers conftest.py applies: gui, data and slow follow what a test uses."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import conftest  # noqa: E402


class Item:
    """What pytest_collection_modifyitems reads of a collected test."""

    def __init__(self, nodeid, fixturenames=(), function=None, fspath=__file__):
        self.nodeid, self.fixturenames, self.function, self.fspath = nodeid, list(fixturenames), function, fspath
        self.marks = set()

    def add_marker(self, mark):
        self.marks.add(mark.name)


def plain():
    return 1


def opens_a_window():
    from studio.gui.main_window import MainWindow  # noqa: F401

    return 1


def marks(*items):
    conftest.pytest_collection_modifyitems(None, list(items))
    return [item.marks for item in items]


@pytest.mark.filterwarnings("ignore:conftest SLOW_TESTS names")   # the other listed tests are not in this sample
def test_markers_follow_fixtures_imports_and_the_slow_list(tmp_path):
    qt_module = tmp_path / "test_qt.py"
    qt_module.write_text("import pytest\nfrom PySide6.QtCore import Qt\n\ndef test_x():\n    pass\n")
    assert marks(
        Item("tests/test_markers.py::plain", function=plain),
        Item("tests/test_markers.py::qt", ["qtbot"], function=plain),
        Item("tests/test_markers.py::body", function=opens_a_window),
        Item("tests/test_qt.py::test_x", function=plain, fspath=qt_module),
        Item("tests/test_markers.py::data", ["shared_data", "tmp_path"], function=plain),
        Item("tests/test_end_to_end.py::test_anything", function=plain),
        Item("tests/test_bakeoff.py::test_side_by_side_table", function=plain),
        Item("tests/test_training_anomaly.py::test_card[1]", ["trained"], function=plain),
    ) == [set(), {"gui"}, {"gui"}, {"gui"}, {"data"}, {"slow"}, {"slow"}, {"slow"}]


@pytest.mark.filterwarnings("ignore:conftest SLOW_TESTS names")
def test_a_renamed_slow_test_is_reported():
    with pytest.warns(pytest.PytestWarning, match="test_side_by_side_table, which is not collected"):
        marks(Item("tests/test_bakeoff.py::test_renamed", function=plain))


def test_this_run_marks_a_qtbot_test_gui(qtbot, request):
    assert request.node.get_closest_marker("gui") is not None
    assert request.node.get_closest_marker("slow") is None


@pytest.mark.filterwarnings("ignore:conftest SLOW_TESTS names")
def test_a_slow_entry_with_a_parameter_marks_that_parameter_only():
    name = "tests/test_access_cli.py::test_signed_out_and_operator_are_refused_each_engineer_action"
    assert f"{name}[train]" in conftest.SLOW_TESTS and f"{name}[threshold]" not in conftest.SLOW_TESTS
    assert marks(Item(f"{name}[train]", function=plain), Item(f"{name}[threshold]", function=plain)) == [
        {"slow"}, set()]
