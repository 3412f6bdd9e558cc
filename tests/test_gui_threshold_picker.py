"""The Threshold page's pickers, intervals in words, warnings, review band, ROC, mistakes and compare."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.evaluation.intervals import wilson  # noqa: E402
from studio.evaluation.picker import cheapest, for_false_reject_target, for_recall_target  # noqa: E402

SCORES = [(0.10, False), (0.20, False), (0.35, True), (0.40, False), (0.60, True), (0.90, True)]


def evaluation(scores=SCORES, threshold=0.5, **extra):
    return {"n": len(scores), "n_defective": sum(d for _, d in scores), "image_auroc": None,
            "average_precision": None, "threshold": threshold,
            "scores": [{"image_id": f"img{i}", "score": s, "defective": d, "defect_class": "dent" if d else None}
                       for i, (s, d) in enumerate(scores)], **extra}


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.threshold import ThresholdPage

    p = ThresholdPage(demo_project)
    qtbot.addWidget(p)
    p.resize(1060, 780)
    p.show()
    p.refresh()
    yield p
    p.shutdown()


def test_figures_come_with_their_intervals_in_words(page):
    page.show_evaluation(evaluation(threshold=0.5))
    lo, hi = wilson(2, 3)
    assert page.figure_labels["recall"].text() == "66.7 %"
    assert page.interval_labels["recall"].text() == f"{100 * lo:.1f}–{100 * hi:.1f} % (2 of 3)"
    assert page.interval_labels["precision"].text() == f"at least {100 * wilson(2, 2)[0]:.1f} % (2 of 2)"
    assert page.interval_labels["false_reject_rate"].text() == f"at most {100 * wilson(0, 3)[1]:.1f} % (0 of 3)"
    assert page.figure_labels["accuracy"].text() == "83.3 %"
    assert "Clopper–Pearson" in page.figure_labels["recall"].toolTip()
    assert "dent" in page.per_class_label.text() and "2 of 3 caught" in page.per_class_label.text()


def test_pickers_move_the_point_to_the_hand_computed_thresholds(page):
    page.show_evaluation(evaluation())
    y = np.array([d for _, d in SCORES])
    s = np.array([v for v, _ in SCORES])
    page.choose.escape_cost.setValue(100)
    page.choose.false_reject_cost.setValue(10)
    page.choose.defect_rate.setValue(10)                           # percent
    page.choose.cheapest_button.click()
    best = cheapest(y, s, 100, 10, 0.10)
    assert page.threshold == pytest.approx(best["threshold"]) and page.chosen["how"] == "cost"
    assert "Cheapest" in page.choose.cost_label.text() and f"{best['cost_per_1000']:,.2f}" in \
        page.choose.cost_label.text()
    page.choose.recall_box.setValue(100)
    page.choose.recall_button.click()
    assert page.threshold == pytest.approx(for_recall_target(y, s, 1.0)["threshold"])
    assert page.table.counts()["fn"] == 0 and page.chosen["how"] == "recall_target"
    page.choose.fr_box.setValue(0)
    page.choose.fr_button.click()
    assert page.threshold == pytest.approx(for_false_reject_target(y, s, 0.0)["threshold"])
    assert page.table.counts()["fp"] == 0
    page.spin.setValue(0.3)                                        # by hand again
    assert page.chosen == {"how": "value"}


def test_roc_point_drag(page):
    page.show_evaluation(evaluation())
    page.roc_plot.marker.setPos(0.02, 0.64)                        # near (FRR 0, recall 2/3): t = 0.6
    assert page.threshold == pytest.approx(0.6)
    assert page.table.counts() == {"tp": 2, "fp": 0, "tn": 3, "fn": 1}
    pos = page.marker.pos()                                         # the PR marker followed
    assert (pos.x(), pos.y()) == pytest.approx((2 / 3, 1.0))


def test_no_defective_test_parts(page):
    good = [(v, False) for v in (0.1, 0.2, 0.3, 0.4)]
    page.show_evaluation(evaluation(good, threshold=0.25))
    assert page.figure_labels["recall"].text() == "unknown"
    assert page.warning.isVisibleTo(page) and "Recall is unknown" in page.warning.text()
    assert not page.choose.cheapest_button.isEnabled() and not page.choose.recall_button.isEnabled()
    page.choose.fr_box.setValue(0)
    page.choose.fr_button.click()
    assert page.threshold == pytest.approx(0.45) and page.table.counts()["fp"] == 0


def test_the_accuracy_trap_is_shown(page):
    scores = [(0.01 * i, False) for i in range(38)] + [(0.9, True), (0.2, True)]
    page.show_evaluation(evaluation(scores, threshold=0.5))        # accuracy 39/40, recall 1/2
    assert page.warning.isVisibleTo(page) and "Accuracy looks high" in page.warning.text()
    page.spin.setValue(0.15)                                        # catches both: the trap is gone
    assert "Accuracy looks high" not in page.warning.text()


def test_review_band_and_save(qtbot, page, demo_project):
    folder = demo_project.models_dir / "m1"
    folder.mkdir(parents=True)
    card = {"model_id": "m1", "task": "anomaly", "threshold": 0.5, "created": "2024-01-01T00:00:00",
            "preprocessing": {"size": 64}, "classes": []}
    (folder / "card.json").write_text(json.dumps(card))
    page.refresh()
    page.show_evaluation(evaluation(threshold=0.3), model_id="m1")
    page.choose.band_check.setChecked(True)
    page.choose.band_upper.setValue(0.5)                           # review .35 (NG) and .4 (OK)
    assert page.figure_labels["review"].text() == "33.3 %"
    assert page.point_panel.name_labels["false_reject_rate"].text() == "Good parts not passed"
    assert page.table.horizontalHeaderItem(1).text() == "REJECT or REVIEW"
    assert "2 of 6 test parts" in page.choose.band_label.text()
    assert page.hist_plot.band.isVisible() and page.hist_plot.band.getRegion() == pytest.approx((0.3, 0.5))
    page.save_button.click()
    saved = json.loads((folder / "card.json").read_text())
    assert saved["threshold"] == pytest.approx(0.3) and saved["review_band"] == {"low": 0.3, "high": 0.5}
    assert saved["operating_point"]["at_choice"]["review_band"]["review"] == 2
    assert "review band" in page.saved_label.text()
    assert "In the model now: 0.3, review up to 0.5, chosen by hand" in page.point_panel.in_model_label.text()


def test_mistake_gallery_and_heat_map(qtbot, tmp_path):
    import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips
    import torch  # noqa: F401  a core dependency: a broken install fails, never skips
    sys.path.insert(0, str(Path(__file__).parent))
    from test_training_support import make_project, write_fake_model

    from studio.evaluation.evaluate import evaluate
    from studio.gui.pages.threshold import ThresholdPage

    project = make_project(tmp_path / "p", good_train=2, good_test=3, bad_train=1, bad_test=2)
    bad = [r.id for r in project.dataset.records("test") if r.id.startswith("bad")]
    project.labels.add(project.dataset.records("test")[0].id, "ng", "stain")   # a good plate labeled NG
    write_fake_model(project, "m1", "anomaly", threshold=100.0)
    write_fake_model(project, "m2", "anomaly", threshold=-1e9, created="2026-02-01T00:00:00")
    page = ThresholdPage(project)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    page.show_evaluation(evaluate(project, "m1"), model_id="m1")
    fa, fr = page.gallery.counts()
    assert (fa, fr) == (3, 0)                                       # nothing rejected: every NG part escapes
    entry = page.gallery.false_accepts.item(0).data(256)
    assert entry["defective"] and not entry["image_id"] in bad      # most confidently wrong first: the plain plate
    dialog = page.open_mistake(entry)
    assert dialog.heat is not None and dialog.heat_check.isChecked()
    assert dialog.view.image().shape[:2] == dialog.plain.shape[:2]
    dialog.close()

    assert page.compare_button.isEnabled()
    compare = page.open_compare()
    compare.first.setCurrentIndex(compare.first.findData("m1"))
    compare.second.setCurrentIndex(compare.second.findData("m2"))
    with qtbot.waitSignal(compare.runner.finished, timeout=60_000):
        compare.button.click()
    assert compare.table.item(3, 0).text().startswith("0.0 %")     # m1 catches nothing
    assert compare.table.item(3, 1).text().startswith("100.0 %")   # m2 rejects everything
    assert "McNemar" in compare.verdict.text()
    compare.close()
    page.shutdown()


def test_heat_map_lands_on_the_region_the_model_saw():
    from studio.gui.pages.error_gallery import draw_boxes, heat_overlay

    image = np.full((40, 60), 128, np.uint8)
    amap = np.zeros((4, 4), np.float32)
    amap[0, 0] = 2.0                                               # hot corner, at the threshold
    out = heat_overlay(image, amap, threshold=2.0, roi=[20, 10, 20, 20])
    assert out.shape == (40, 60, 3)
    assert (out[:10] == 128).all() and (out[:, :20] == 128).all()   # outside the ROI: untouched
    corner, far = out[11, 21], out[28, 38]
    assert corner[0] > corner[2] and far[2] > far[0]                # red where hot, blue where normal
    boxed = draw_boxes(np.zeros((50, 50, 3), np.uint8), [{"class": "dent", "score": 0.9, "x": 5, "y": 8,
                                                         "w": 20, "h": 10}])
    assert tuple(boxed[8, 15]) == (230, 30, 30) and boxed[15, 15].sum() == 0   # outline only


def test_band_suggested_from_two_targets_and_recall_evidence(page):
    page.show_evaluation(evaluation())
    page.choose.recall_box.setValue(100)
    page.choose.fr_box.setValue(0)
    page.choose.suggest_button.click()
    # recall 100 % needs t <= .275 (halfway .35/.2); no false rejects needs t >= .5 (halfway .6/.4)
    assert page.threshold == pytest.approx(0.275) and page.band_upper == pytest.approx(0.5)
    assert page.choose.band_check.isChecked() and page.choose.band_upper.value() == pytest.approx(0.5)
    assert "2 of 6 test parts" in page.choose.band_label.text()
    assert page.chosen["how"] == "review_band_targets"
    page.choose.recall_button.click()                             # 3 of 3 caught cannot show 100 %
    assert not page.choose.evidence_label.isHidden()          # shown on the Choose tab
    assert "no test split can show 100 % recall" in page.choose.evidence_label.text()


def test_split_changes_are_shown_and_can_be_accepted(page, demo_project):
    from studio.dataset import splits

    rng = np.random.default_rng(0)
    for i in range(3):
        demo_project.dataset.add_image(rng.integers(0, 255, (16, 16), dtype=np.uint8), stem=f"t{i}", split="test",
                                       meta={"group": f"P{i}"})
    splits.freeze(demo_project)
    demo_project.dataset.add_image(rng.integers(0, 255, (16, 16), dtype=np.uint8), stem="late", split="test",
                                   meta={"group": "Q"})
    report = splits.check(demo_project)
    ev = evaluation(split_warnings=report["warnings"], test_split={"added": len(report["added"])})
    page.show_evaluation(ev)
    assert "The test split changed" in page.warning.text()
    assert page.split_row.isVisibleTo(page) and page.freeze_button.isVisibleTo(page)
    assert not page.regroup_button.isVisibleTo(page)
    page.freeze_button.click()
    assert "The test split changed" not in page.warning.text() and not page.split_row.isVisibleTo(page)
    assert splits.read_frozen(demo_project.root)["n"] == 4


def test_cheapest_with_a_review_cost_sets_the_band(page):
    from studio.evaluation.band import cheapest_band

    page.show_evaluation(evaluation())
    y = np.array([d for _, d in SCORES])
    s = np.array([v for v, _ in SCORES])
    page.choose.escape_cost.setValue(100)
    page.choose.false_reject_cost.setValue(10)
    page.choose.defect_rate.setValue(10)
    page.choose.review_cost.setValue(0.5)
    page.choose.cheapest_button.click()
    best = cheapest_band(y, s, 100, 10, 0.10, 0.5)
    assert best["review_up_to"] is not None                       # reviewing the overlap pays off here
    assert page.threshold == pytest.approx(best["threshold"]) and page.band_upper == pytest.approx(best["review_up_to"])
    assert page.choose.band_check.isChecked() and page.chosen["review_cost"] == 0.5
    assert f"At this threshold and band: {best['cost_per_1000']:,.2f}" in page.choose.cost_label.text()
