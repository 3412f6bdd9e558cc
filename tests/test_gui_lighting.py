"""The Lighting page: runs the audit off the GUI thread, shows checks and advice, history, baseline."""
import pytest
import yaml

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.lighting import store  # noqa: E402

CLEAN = "sim:seed=3,still=1,defect=dent"


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.lighting import LightingPage

    p = LightingPage(demo_project)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    yield p
    p.shutdown()


def run(qtbot, page, spec, frames=3):
    page.camera_edit.setText(spec)
    page.frames_spin.setValue(frames)
    page.audit_button.click()
    assert page.runner.is_running() and not page.audit_button.isEnabled()   # the GUI thread is free
    qtbot.waitUntil(lambda: not page.runner.is_running(), timeout=30_000)
    assert page.status_label.text().startswith("Audit 2"), page.status_label.text()


def test_failing_audit_shows_red_check_and_advice_and_no_baseline(qtbot, page, demo_project):
    assert page.verdict_label.text() == "No audit yet" and page.history_list.count() == 0
    run(qtbot, page, CLEAN + ",glare=1")
    assert page.verdict_label.text().startswith("FAIL")
    rows = {page.checks_table.item(r, 0).text(): page.checks_table.item(r, 1).text()
            for r in range(page.checks_table.rowCount())}
    assert rows["Glare"] == "FAIL" and rows["Exposure"] == "PASS" and len(rows) == 7
    assert "dome" in page.advice_label.text()
    assert page.view.has_image() and page.field_view.has_image()
    assert len(page.hist_curve.getData()[0]) == 256
    assert page.history_list.count() == 1 and "FAIL" in page.history_list.item(0).text()
    assert not page.baseline_button.isEnabled()
    assert page.report_button.isEnabled()


def test_passing_audit_saved_as_baseline_and_history_browsable(qtbot, page, demo_project):
    run(qtbot, page, CLEAN + ",noise=9")
    run(qtbot, page, CLEAN)
    assert page.verdict_label.text().startswith("PASS")
    assert page.baseline_button.isEnabled()
    page.baseline_button.click()
    base = store.load_baseline(demo_project)
    assert base["audit_id"] == page.shown["audit_id"]
    assert not page.baseline_button.isEnabled() and "baseline" in page.banner.text()
    assert "baseline" in page.history_list.item(0).text() and page.history_list.count() == 2
    # click the older, failing audit: the page shows it again, from the project's files
    old = page.history_list.item(1)
    page._history_clicked(old)
    assert page.verdict_label.text().startswith("FAIL") and "Noise" in page.advice_label.text()
    assert page.view.has_image() and len(page.hist_curve.getData()[0]) == 256


def test_bad_camera_spec_shows_an_error_not_a_crash(qtbot, page, monkeypatch):
    shown = []
    monkeypatch.setattr("studio.gui.widgets.errors.error_dialog", lambda parent, err: shown.append(str(err)))
    page.camera_edit.setText("nosuch:1")
    with qtbot.waitSignal(page.runner.failed, timeout=10_000):
        page.audit_button.click()
    assert shown and "unknown camera" in shown[0]
    assert page.audit_button.isEnabled()


def test_limits_dialog_saves_only_the_changes_and_names_bad_input(qtbot, page, demo_project):
    from studio.lighting import limits as L

    dialog = page.edit_limits()
    qtbot.addWidget(dialog)
    t = dialog.table
    row = next(r for r in range(t.rowCount()) if (t.item(r, 0).text(), t.item(r, 1).text()) == ("noise", "sigma_max"))
    t.item(row, 2).setText("lots")
    dialog.save()
    assert "noise.sigma_max" in dialog.error.text() and dialog.isVisible()
    t.item(row, 2).setText("4.5")
    dialog.save()
    assert not dialog.isVisible() and "Limits saved" in page.banner.text()
    assert L.load(demo_project)["noise"]["sigma_max"] == 4.5
    # only the changed limit is written (with the file's layout version)
    assert yaml.safe_load((demo_project.audits_dir / "limits.yaml").read_text()) == {
        "schema_version": 1, "noise": {"sigma_max": 4.5}}
