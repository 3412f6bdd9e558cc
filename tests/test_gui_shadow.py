"""Shadow mode in the GUI: the inspector keys the incumbent's verdict at the kiosk; the gate on the Station page."""
import sqlite3

import pytest
import yaml
from PySide6.QtCore import Qt

from tests.test_station import make

pytestmark = pytest.mark.gui


def test_p_and_r_record_the_inspectors_verdict_in_shadow_mode(qtbot, demo_project, tmp_path):
    from studio.gui.kiosk import KioskWindow

    station, _ = make(demo_project, tmp_path, max_parts=400, interval_s=0.05, mode="shadow")
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    assert w.incumbent_keys.isVisible()
    station.start()
    try:
        qtbot.waitUntil(lambda: w.incumbent_keys.part is not None, timeout=10000)
        first = w.incumbent_keys.part
        # blind: the inspector never sees the model's verdict, its defect class or its counts
        assert w.verdict.verdict is None and w.verdict.text() == "P / R"
        assert w.defect_label.text() == "" and not w.wrong_button.isEnabled()
        assert w.count_labels["rate"].text() == "—" and int(w.count_labels["parts"].text()) >= 1
        assert all(t.verdict is None for t in w.thumbs)
        qtbot.keyClick(w, Qt.Key.Key_R)
        qtbot.waitUntil(lambda: w.incumbent_keys.part != first, timeout=10000)
        second = w.incumbent_keys.part
        qtbot.keyClick(w, Qt.Key.Key_P)
        assert w.incumbent_keys.recorded == {first: "reject", second: "pass"}
    finally:
        station.stop()
    con = sqlite3.connect(station.log_path)
    got = con.execute("SELECT part, verdict, source FROM incumbent ORDER BY id").fetchall()
    con.close()
    assert got == [(first, "reject", "kiosk"), (second, "pass", "kiosk")]


def test_the_keys_are_hidden_and_inert_in_live_mode(qtbot, demo_project, tmp_path):
    from studio.gui.kiosk import KioskWindow

    station, _ = make(demo_project, tmp_path, max_parts=3)
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    assert not w.incumbent_keys.isVisible() and not w.incumbent_keys.blind
    station.start()
    try:
        qtbot.waitUntil(lambda: w.verdict.verdict is not None, timeout=10000)     # live: the verdict is shown
    finally:
        station.stop()
    w.incumbent_keys.set_part(1)
    assert w.incumbent_keys.handle_key(Qt.Key.Key_P) is False


def test_the_station_page_shows_the_gate(qtbot, demo_project, tmp_path):
    from studio.gui.widgets.gate_panel import GatePanel

    panel = GatePanel(demo_project, tmp_path / "nowhere")
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh()
    assert not panel.isVisible()                  # no gate file: nothing to show
    (demo_project.root / "promotion_gate.yaml").write_text(yaml.safe_dump({"min_parts": 10, "min_agreement": 0.9}))
    panel.refresh()
    assert panel.isVisible() and "not passed" in panel.summary.text()
    assert "min_parts: needs 10, has 0" in panel.lines.text()


def test_one_click_sends_the_disagreements_to_review(qtbot, demo_project, tmp_path):
    from studio.gui.widgets.gate_panel import GatePanel
    from studio.labels.review import review_queue
    from tests.test_station_shadow import ShadowModel

    station, _ = make(demo_project, tmp_path, max_parts=15, interval_s=0.02, shadow=ShadowModel())
    assert station.run(timeout=60)
    (demo_project.root / "promotion_gate.yaml").write_text(yaml.safe_dump({"min_parts": 10}))
    panel = GatePanel(demo_project, station.data_dir)
    qtbot.addWidget(panel)
    panel.show()
    out = panel.send_to_review()
    assert out["sent"] >= 1 and out["sent"] == out["disagreements"]
    assert len([i for i in review_queue(demo_project)]) == out["sent"]
    assert "sent to review" in panel.summary.text()
