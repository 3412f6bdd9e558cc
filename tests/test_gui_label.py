"""Labelling by keyboard on the Label page: every decision lands in the append-only label log."""
import numpy as np
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import Qt  # noqa: E402


@pytest.fixture
def labelling(qtbot, demo_project):
    from studio.gui.main_window import MainWindow

    ids = []
    for i in range(3):
        img = np.full((60, 80, 3), 40 * (i + 1), np.uint8)
        ids.append(demo_project.dataset.add_image(img, stem=f"part{i}").id)
    w = MainWindow(demo_project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitActive(w)
    qtbot.keyClick(w, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    page = w.current_page()
    assert type(page).__name__ == "LabelPage"
    page.labeler_edit.setText("anna")
    page.image_list.setFocus()
    yield w, page, ids
    w.close()


def press(qtbot, page, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(page.image_list, key, modifier)


def test_keys_label_ok_ng_with_class_and_borderline(qtbot, labelling, demo_project):
    w, page, ids = labelling
    assert page.current_id == ids[0]
    assert page.view.has_image()
    press(qtbot, page, Qt.Key.Key_O)
    assert page.current_id == ids[1]                       # auto-advance
    press(qtbot, page, Qt.Key.Key_2)                       # class 2 of the criteria = dent, NG
    assert page.current_id == ids[2]
    press(qtbot, page, Qt.Key.Key_B)
    labels = demo_project.labels
    classes = demo_project.criteria.class_names()
    a, b, c = (labels.get(i) for i in ids)
    assert (a.verdict, a.defect_class) == ("ok", None)
    assert (b.verdict, b.defect_class) == ("ng", classes[1]) and classes[1] == "dent"
    assert c.verdict == "borderline"
    assert {l.labeler for l in (a, b, c)} == {"anna"}
    assert {l.criteria_version for l in (a, b, c)} == {demo_project.criteria.version}
    assert page.count_labels["ok"].text() == "1" and page.count_labels["ng"].text() == "1"
    assert page.count_labels["borderline"].text() == "1" and page.count_labels["unlabelled"].text() == "0"
    assert "3 images" in w.status_label.text() and "3 labelled" in w.status_label.text()
    # the file on disk has the three decisions (another process reading the project sees them)
    from studio.labels.store import LabelStore

    assert [l.verdict for l in LabelStore(demo_project.root).history()] == ["ok", "ng", "borderline"]


def test_n_uses_the_chosen_class_and_undo_relabels(qtbot, labelling, demo_project):
    w, page, ids = labelling
    page.class_combo.setCurrentIndex(0)                    # scratch
    press(qtbot, page, Qt.Key.Key_N)
    assert demo_project.labels.get(ids[0]).defect_class == "scratch"
    press(qtbot, page, Qt.Key.Key_Left)                    # back to the first image
    assert page.current_id == ids[0]
    press(qtbot, page, Qt.Key.Key_O)
    assert demo_project.labels.get(ids[0]).verdict == "ok"
    press(qtbot, page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.current_id == ids[0]
    restored = demo_project.labels.get(ids[0])
    assert (restored.verdict, restored.defect_class) == ("ng", "scratch")
    assert [l.verdict for l in demo_project.labels.history(ids[0])] == ["ng", "ok", "ng"]   # append-only
    press(qtbot, page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # the first label: nothing before
    assert len(demo_project.labels.history(ids[0])) == 3
    assert "no label before" in page.message.text()


def test_j_k_and_arrows_move_without_labelling(qtbot, labelling, demo_project):
    w, page, ids = labelling
    press(qtbot, page, Qt.Key.Key_J)
    assert page.current_id == ids[1]
    press(qtbot, page, Qt.Key.Key_Right)
    assert page.current_id == ids[2]
    press(qtbot, page, Qt.Key.Key_Right)                   # stays on the last image
    assert page.current_id == ids[2]
    press(qtbot, page, Qt.Key.Key_K)
    assert page.current_id == ids[1]
    assert demo_project.labels.history() == []


def test_typing_the_labeller_name_does_not_label(qtbot, labelling, demo_project):
    w, page, ids = labelling
    page.labeler_edit.setFocus()
    qtbot.keyClicks(page.labeler_edit, "bob")
    assert page.labeler_edit.text() == "annabob"
    assert demo_project.labels.history() == []
