"""The labeling canvas on the Label page: draw, undo, redo, save, reopen; blind labeling; review; criteria."""
import numpy as np
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.label import LabelPage

    for i in range(3):
        img = np.full((120, 160, 3), 60 + 40 * i, np.uint8)
        demo_project.dataset.add_image(img, stem=f"part{i}")
    p = LabelPage(demo_project)
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    qtbot.waitExposed(p)
    p.labeler_edit.setText("anna")
    p.refresh()
    return p


def vp(canvas, x, y):
    return canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, canvas, a, b, mid=None):
    v = canvas.viewport()
    qtbot.mousePress(v, Qt.MouseButton.LeftButton, pos=vp(canvas, *a))
    for p in (mid or []) + [b]:
        qtbot.mouseMove(v, pos=vp(canvas, *p))
    qtbot.mouseRelease(v, Qt.MouseButton.LeftButton, pos=vp(canvas, *b))


def draw_three(qtbot, page):
    c = page.canvas
    page.class_combo.setCurrentIndex(0)                                   # scratch
    page.tools.choose("box")
    drag(qtbot, c, (10, 10), (50, 30))
    page.class_combo.setCurrentIndex(1)                                   # dent
    page.tools.choose("polygon")
    for x, y in [(80, 20), (120, 25), (110, 70), (85, 60)]:
        qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=vp(c, x, y))
    qtbot.keyClick(c, Qt.Key.Key_Return)
    page.class_combo.setCurrentIndex(2)                                   # stain
    page.tools.choose("brush")
    drag(qtbot, c, (30, 90), (70, 95), mid=[(40, 92), (55, 94)])


def test_draw_undo_redo_save_reopen_identical(qtbot, page, demo_project):
    from studio.gui.pages.label import LabelPage
    from studio.labels.shapes import load_mask
    from studio.project import Project

    c = page.canvas
    image_id = page.current_id
    draw_three(qtbot, page)
    drawn = c.shapes()
    assert [s["type"] for s in drawn] == ["box", "polygon", "mask"]
    assert [s["class"] for s in drawn] == ["scratch", "dent", "stain"]
    box = drawn[0]
    assert box["x"] == pytest.approx(10, abs=1.5) and box["w"] == pytest.approx(40, abs=2)
    assert len(drawn[1]["points"]) == 4 and drawn[2]["array"][92, 50] and not drawn[2]["array"][10, 150]
    # undo all three (Ctrl+Z on the page), redo all three (Ctrl+Shift+Z / Ctrl+Y)
    for n in (2, 1, 0):
        qtbot.keyClick(page.image_list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert len(c.shapes()) == n
    assert demo_project.labels.history() == []                          # undoing drawings labels nothing
    qtbot.keyClick(page.image_list, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(page.image_list, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(page.image_list, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    redone = c.shapes()
    assert [s["type"] for s in redone] == ["box", "polygon", "mask"]
    assert redone[0] == drawn[0] and redone[1] == drawn[1]
    assert np.array_equal(redone[2]["array"], drawn[2]["array"])
    qtbot.keyClick(page.image_list, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = demo_project.labels.view("anna")[image_id]
    assert saved.verdict == "ng" and len(saved.shapes) == 3 and not c.is_dirty()
    assert saved.shapes[2]["file"].startswith("label_masks/")
    # reopen: a new page on the project read from disk shows the very same shapes
    again = LabelPage(Project.open(demo_project.root))
    qtbot.addWidget(again)
    again.labeler_edit.setText("anna")
    again.refresh()
    again.select(image_id)
    back = again.canvas.shapes()
    assert back[0] == drawn[0] and back[1] == drawn[1] and back[2]["class"] == "stain"
    assert np.array_equal(back[2]["array"], drawn[2]["array"])
    assert np.array_equal(load_mask(demo_project.root, saved.shapes[2]["file"]), drawn[2]["array"])


def test_right_button_erases_the_brush(qtbot, page):
    c = page.canvas
    page.class_combo.setCurrentIndex(2)
    page.tools.choose("brush")
    drag(qtbot, c, (30, 90), (70, 90), mid=[(50, 90)])
    assert c.shapes()[0]["array"][90, 50]
    v = c.viewport()
    qtbot.mousePress(v, Qt.MouseButton.RightButton, pos=vp(c, 50, 90))
    qtbot.mouseRelease(v, Qt.MouseButton.RightButton, pos=vp(c, 50, 90))
    m = c.shapes()[0]["array"]
    assert not m[90, 50] and m[90, 32]
    qtbot.keyClick(page.image_list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert c.shapes()[0]["array"][90, 50]


def test_zoom_and_pan(qtbot, page):
    c = page.canvas
    z = c.zoom()
    qtbot.keyClick(page.image_list, Qt.Key.Key_Plus)
    assert c.zoom() == pytest.approx(z * 1.25)
    qtbot.keyClick(page.image_list, Qt.Key.Key_F)
    assert c.zoom() == pytest.approx(z, rel=0.01)
    c.zoom_by(4)
    h = c.horizontalScrollBar().value()
    v = c.viewport()
    qtbot.mousePress(v, Qt.MouseButton.MiddleButton, pos=vp(c, 80, 60))
    qtbot.mouseMove(v, pos=vp(c, 80, 60) + QPoint(-60, 0))
    qtbot.mouseRelease(v, Qt.MouseButton.MiddleButton)
    assert c.horizontalScrollBar().value() != h


def test_blind_labeler_never_sees_another_labelers_label(qtbot, page, demo_project):
    image_id = page.current_id
    page.class_combo.setCurrentIndex(0)
    page.tools.choose("box")
    drag(qtbot, page.canvas, (10, 10), (50, 30))
    qtbot.keyClick(page.image_list, Qt.Key.Key_N)                         # anna: NG scratch with a box
    page.labeler_edit.setText("ben")
    page._labeler_changed()
    page.select(image_id)
    assert page.canvas.shapes() == []                                    # anna's box is not shown
    assert "unlabelled" in page.image_list.item(page.ids.index(image_id)).text()
    assert page.count_labels["unlabelled"].text() == "3"
    assert "unlabelled" in page.current_label.text()
    qtbot.keyClick(page.image_list, Qt.Key.Key_O)                         # ben: OK -> a dispute
    assert demo_project.labels.resolve()[image_id].status == "disputed"
    assert page.tabs.tabText(1) == "Review queue (1)"


def test_review_tab_decision_becomes_the_training_label(qtbot, page, demo_project):
    ids = page.ids
    demo_project.labels.add(ids[0], "ng", "scratch", labeler="anna")
    demo_project.labels.add(ids[0], "ng", "dent", labeler="ben")
    demo_project.labels.add(ids[1], "borderline", labeler="anna")
    page.tabs.setCurrentWidget(page.review)
    r = page.review
    assert r.queue.count() == 2 and r.items[0].image_id == ids[0]
    assert "anna" in r.answers.text() and "ben" in r.answers.text()
    assert "History:" in r.answers.text() and "ben labeled dent" in r.answers.text()
    r.verdict.setCurrentIndex(r.verdict.findData("ng"))
    r.defect.setCurrentIndex(r.defect.findData("dent"))
    r.rationale.setText("depression 1.3 mm wide: dent rule")
    r.example.setCurrentIndex(r.example.findData("reject"))
    v0 = demo_project.criteria.version
    qtbot.mouseClick(r.decide_button, Qt.MouseButton.LeftButton)
    label = demo_project.labels.current()[ids[0]]
    assert (label.kind, label.defect_class, label.labeler) == ("reference", "dent", "anna")
    assert demo_project.criteria.version == v0 + 1
    assert demo_project.criteria.get("dent").examples[0]["image_id"] == ids[0]
    assert r.queue.count() == 1
    page.tabs.setCurrentWidget(page.agreement)
    assert "images wait" in page.agreement.summary.text()
    assert page.agreement.pairs.rowCount() == 1
    assert "start with anomaly" in page.agreement.recommendation.text()


def test_criteria_editor_saves_a_new_version(qtbot, page, demo_project, tmp_path):
    page.tabs.setCurrentWidget(page.criteria_editor)
    ed = page.criteria_editor
    ed.class_list.setCurrentRow(0)
    ed.measure.setCurrentText("length")
    ed.limit.setValue(2.0)
    ed.surface.setText("A")
    ed.pixel.setValue(0.05)
    assert "longer than 2 mm on surface A" in ed.preview.text() and "40 px" in ed.preview.text()
    v0 = demo_project.criteria.version
    ed.reason.setText("tightened after complaint 4711")
    ed.save()
    doc = demo_project.criteria
    assert doc.version == v0 + 1 and doc.get("scratch").limit == 2.0 and doc.history[-1]["author"] == "anna"
    assert ed.history.item(0).text().startswith(f"v{v0 + 1}")
    out = ed.print_html(str(tmp_path / "c.html"))
    assert "scratch longer than 2 mm" in open(out).read()
    import re

    pdf = open(ed.print_pdf(str(tmp_path / "c.pdf")), "rb").read()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == len(doc.classes)      # one page per class
    page.tabs.setCurrentWidget(page.label_tab)
    page.class_combo.setCurrentIndex(0)
    assert "2 mm" in page.criteria_panel.rule.text()
    qtbot.mouseClick(page.criteria_panel.add_buttons["accept"], Qt.MouseButton.LeftButton)
    ex = demo_project.criteria.get("scratch").examples
    assert ex[-1]["image_id"] == page.current_id and ex[-1]["kind"] == "accept" and ex[-1]["added_by"] == "anna"
    assert demo_project.criteria.version == v0 + 2


def test_plan_form_sets_labelers_reference_and_overlap(qtbot, page, demo_project):
    from studio.labels.assignment import LabelingPlan

    page.tabs.setCurrentWidget(page.agreement)
    f = page.agreement.plan
    f.labelers.setText("anna, ben")
    f.reference.setText("eva")
    f.overlap.setValue(100)
    f.save()
    plan = LabelingPlan.load(demo_project.root)
    assert (plan.labelers, plan.reference, plan.overlap, plan.copies) == (["anna", "ben"], "eva", 1.0, 2)
    assert "3 of 3 images go to several labelers" in f.info.text()


def test_a_drawn_box_is_measured_against_the_rule(qtbot, page, demo_project):
    from studio.criteria.versions import edit

    def change(doc):
        c = doc.get("scratch")
        c.measure, c.limit = "length", 2.0
        doc.pixel_size_mm = 0.05

    edit(demo_project, "eva", "scratch limit in mm", change)
    page.refresh()
    page.class_combo.setCurrentIndex(0)
    page.tools.choose("box")
    drag(qtbot, page.canvas, (10, 10), (60, 14))                     # about 50 px = 2.5 mm long
    text = page.measure_label.text()
    assert text.startswith("scratch length 2.") and text.endswith("(limit 2 mm): reject")
    qtbot.keyClick(page.image_list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    drag(qtbot, page.canvas, (10, 10), (40, 14))                     # about 30 px = 1.5 mm
    assert page.measure_label.text().endswith(": accept")


def test_review_queue_is_closed_to_labelers_once_a_reference_is_named(qtbot, page, demo_project):
    from studio.labels.assignment import LabelingPlan

    LabelingPlan(labelers=["anna", "ben"], reference="eva").save(demo_project.root)
    demo_project.labels.add(page.ids[0], "ng", "scratch", labeler="anna")
    demo_project.labels.add(page.ids[0], "ng", "dent", labeler="ben")
    page.tabs.setCurrentWidget(page.review)
    r = page.review
    assert r.queue.count() == 0 and "eva" in r.answers.text() and "ben" not in r.answers.text()
    assert not r.decide_button.isEnabled()
    page.blind_check.setChecked(False)
    page.refresh()
    assert page.blind_check.isChecked() and not page.blind_check.isEnabled()      # anna is in the plan
    page.labeler_edit.setText("eva")
    r.refresh()
    assert r.queue.count() == 1 and "ben" in r.answers.text()
