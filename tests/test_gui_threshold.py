"""The Threshold page: the operating point moves by spin box, histogram line and PR-curve point."""
import json

import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips

# six test images: (score, defective)
SCORES = [(0.10, False), (0.20, False), (0.35, True), (0.40, False), (0.60, True), (0.90, True)]


def evaluation(threshold=0.5):
    return {"n": 6, "n_defective": 3, "image_auroc": 0.889, "average_precision": 0.92, "threshold": threshold,
            "precision": None, "recall": None, "confusion": {},
            "curve": {"precision": [1.0, 1.0, 0.75, 0.6, 0.5], "recall": [1 / 3, 2 / 3, 2 / 3, 1.0, 1.0],
                      "thresholds": [0.9, 0.6, 0.4, 0.35, 0.2]},
            "scores": [{"image_id": f"img{i}", "score": s, "defective": d} for i, (s, d) in enumerate(SCORES)]}


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.threshold import ThresholdPage

    p = ThresholdPage(demo_project)
    qtbot.addWidget(p)
    p.show()
    p.refresh()
    yield p
    p.shutdown()


def test_confusion_matrix_follows_the_spin_box(qtbot, page):
    page.show_evaluation(evaluation(0.5), model_id=None)
    assert page.spin.value() == pytest.approx(0.5)
    # reject score >= 0.5: 0.6 and 0.9 (both NG); 0.35 (NG) escapes
    assert page.table.counts() == {"tp": 2, "fp": 0, "tn": 3, "fn": 1}
    assert page.figure_labels["precision"].text() == "100.0 %"
    assert page.figure_labels["recall"].text() == "66.7 %"
    assert page.figure_labels["false_reject_rate"].text() == "0.0 %"
    assert page.figure_labels["escapes"].text() == "1 of 3"
    page.spin.setValue(0.3)
    # reject 0.35 (NG), 0.4 (OK), 0.6, 0.9
    assert page.table.counts() == {"tp": 3, "fp": 1, "tn": 2, "fn": 0}
    assert page.threshold == pytest.approx(0.3)
    assert page.figure_labels["precision"].text() == "75.0 %"
    assert page.figure_labels["recall"].text() == "100.0 %"
    assert page.figure_labels["false_reject_rate"].text() == "33.3 %"
    assert page.line.value() == pytest.approx(0.3)          # the histogram line followed
    pos = page.marker.pos()
    assert (pos.x(), pos.y()) == pytest.approx((1.0, 0.75))  # the PR point followed
    page.spin.setValue(0.95)                                 # above every score: nothing rejected
    assert page.table.counts() == {"tp": 0, "fp": 0, "tn": 3, "fn": 3}
    assert page.figure_labels["precision"].text() == "n/a"


def test_dragging_the_line_or_the_point_moves_the_threshold(qtbot, page):
    page.show_evaluation(evaluation(0.5))
    page.line.setValue(0.15)                                # as a mouse drag does
    assert page.spin.value() == pytest.approx(0.15)
    assert page.table.counts() == {"tp": 3, "fp": 2, "tn": 1, "fn": 0}
    page.marker.setPos(0.64, 0.98)                          # near the curve point (2/3, 1.0) at t = 0.6
    assert page.threshold == pytest.approx(0.6)
    assert page.spin.value() == pytest.approx(0.6)
    assert page.table.counts() == {"tp": 2, "fp": 0, "tn": 3, "fn": 1}
    pos = page.marker.pos()
    assert (pos.x(), pos.y()) == pytest.approx((2 / 3, 1.0))   # snapped onto the curve


def test_save_threshold_writes_the_model_card(qtbot, page, demo_project):
    from studio.inference.model import CARD_FILE

    folder = demo_project.models_dir / "m1"
    folder.mkdir(parents=True)
    card = {"model_id": "m1", "task": "anomaly", "threshold": 0.5, "created": "2024-01-01T00:00:00",
            "preprocessing": {"size": 64}, "classes": []}
    (folder / CARD_FILE).write_text(json.dumps(card))
    page.refresh()
    assert page.model_combo.currentData() == "m1"
    assert page.evaluate_button.isEnabled()
    page.show_evaluation(evaluation(0.5), model_id="m1")
    page.spin.setValue(0.3)
    assert page.save_button.isEnabled()
    page.save_button.click()
    saved = json.loads((folder / CARD_FILE).read_text())
    assert saved["threshold"] == pytest.approx(0.3)
    assert "Saved" in page.saved_label.text() and "m1" in page.saved_label.text()


def test_without_models_the_page_says_what_to_do(qtbot, page):
    assert page.banner.isVisibleTo(page) and "Train" in page.banner.text()
    assert not page.evaluate_button.isEnabled() and not page.save_button.isEnabled()
