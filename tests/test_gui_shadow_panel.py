"""The shadow comparison on the Station page and the kiosk: the 2x2 table, kappa, the galleries, the loop."""
import sqlite3

import pytest
import yaml

from tests.test_station import make
from tests.test_station_shadow import ShadowModel

pytestmark = pytest.mark.gui


@pytest.fixture
def shadow_run(demo_project, tmp_path, monkeypatch):
    from studio.station import shadow

    monkeypatch.setattr(shadow, "SHADOW_NICE", 0)     # every part judged by the shadow (see test_station_shadow)
    station, _ = make(demo_project, tmp_path, max_parts=24, interval_s=0.02, shadow=ShadowModel())
    assert station.run(timeout=60)
    return station


def logged_pairs(log_path):
    con = sqlite3.connect(log_path)
    live = dict(con.execute("SELECT part, verdict FROM results WHERE shadow = 0"))
    cand = dict(con.execute("SELECT part, verdict FROM results WHERE shadow = 1"))
    paths = dict(con.execute("SELECT part, image_path FROM results WHERE shadow = 0"))
    con.close()
    return live, cand, paths


def test_the_panel_shows_the_table_kappa_and_galleries_of_the_log(qtbot, demo_project, shadow_run):
    from sklearn.metrics import cohen_kappa_score

    from studio.gui.widgets.shadow_panel import THUMBS, ShadowPanel

    live, cand, paths = logged_pairs(shadow_run.log_path)
    parts = sorted(cand)
    assert len(parts) == 24
    only_cand_reject = [p for p in parts if cand[p] != "pass" and live[p] == "pass"]
    only_cand_pass = [p for p in parts if cand[p] == "pass" and live[p] != "pass"]
    both_reject = sum(cand[p] != "pass" and live[p] != "pass" for p in parts)
    assert only_cand_reject                                  # the candidate's lower threshold disagrees on some parts

    panel = ShadowPanel(demo_project, shadow_run.data_dir)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.snap is not None, timeout=10000)     # read on the worker thread
    assert panel.isVisible()
    assert panel.cells["only_shadow_reject"].text() == str(len(only_cand_reject))
    assert panel.cells["only_live_reject"].text() == str(len(only_cand_pass))
    assert panel.cells["both_reject"].text() == str(both_reject)
    kappa = cohen_kappa_score([cand[p] != "pass" for p in parts], [live[p] != "pass" for p in parts])
    assert f"Cohen's kappa {kappa:.3f} [" in panel.figures.text()
    assert "24 parts compared" in panel.figures.text()
    assert ShadowModel.model_id in panel.title() and "live model" in panel.title()
    # the gallery: the newest candidate-only rejects, each a real thumbnail of the logged image
    shown = [lab for lab in panel.rejects.thumbs if lab.isVisible()]
    assert panel.rejects.parts == sorted(only_cand_reject, reverse=True)[:THUMBS]
    assert len(shown) == len(panel.rejects.parts)
    with_image = [p for p in panel.rejects.parts if paths[p]]
    assert with_image, "the station keeps reject images"
    for lab, p in zip(shown, panel.rejects.parts):
        assert f"part {p}:" in lab.toolTip()
        if paths[p]:
            assert lab.pixmap() is not None and not lab.pixmap().isNull() and lab.pixmap().width() <= panel.thumb
    assert panel.passes.parts == sorted(only_cand_pass, reverse=True)[:THUMBS]
    assert f"({len(only_cand_reject)})" in panel.rejects.title.text()


def test_the_loop_line_follows_the_review_queue_and_the_gate(qtbot, demo_project, shadow_run):
    from studio.gui.widgets.shadow_panel import ShadowPanel
    from studio.labels.review import review_queue
    from studio.monitoring.shadow import send_disagreements

    panel = ShadowPanel(demo_project, shadow_run.data_dir)
    qtbot.addWidget(panel)
    before = len(review_queue(demo_project))
    panel.read_now()
    line = panel.loop_label.text()
    assert f"{before} waiting for review" in line and f"in shadow: {ShadowModel.model_id}" in line
    assert "gate" not in line                              # no gate file: no gate figures
    sent = send_disagreements(demo_project, shadow_run.data_dir)["sent"]
    assert sent >= 1
    (demo_project.root / "promotion_gate.yaml").write_text(yaml.safe_dump({"min_parts": 10, "min_agreement": 0.99,
                                                                          "all_adjudicated": False}))
    panel.read_now()
    line = panel.loop_label.text()
    assert f"{before + sent} waiting for review" in line
    assert "gate not passed (min_agreement)" in line
    (demo_project.root / "promotion_gate.yaml").write_text(yaml.safe_dump({"min_parts": 10, "all_adjudicated": False}))
    panel.read_now()
    assert "gate PASSED" in panel.loop_label.text()


def test_hidden_without_shadow_rows_or_incumbent_verdicts(qtbot, demo_project, tmp_path):
    from studio.gui.widgets.shadow_panel import ShadowPanel

    station, _ = make(demo_project, tmp_path, max_parts=5, interval_s=0.01)
    assert station.run(timeout=30)
    panel = ShadowPanel(demo_project, station.data_dir)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.read_now()["shadow"] is None
    assert not panel.isVisible()
    panel.set_data_dir(tmp_path / "nowhere")               # no log at all: hidden, no error
    qtbot.waitUntil(lambda: not panel.pending(), timeout=10000)
    assert not panel.isVisible()


def test_the_station_page_and_the_kiosk_show_it_while_one_runs(qtbot, demo_project, shadow_run):
    from studio.gui.kiosk import KioskWindow
    from studio.gui.pages.station import StationPage

    page = StationPage(demo_project)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.attach(shadow_run)
    page.shadow_panel.read_now()
    assert page.shadow_panel.isVisible() and page.shadow_panel.cells["both_pass"].text() != ""
    # the gate panel is fed from the same read (off the GUI thread), figures of the attached station's log
    (demo_project.root / "promotion_gate.yaml").write_text(yaml.safe_dump({"min_parts": 10, "all_adjudicated": False}))
    page.shadow_panel.read_now()
    assert page.gate_panel.isVisible()
    assert page.gate_panel.summary.text() == f"{ShadowModel.model_id}: PASSED — may be promoted"
    assert "min_parts: needs 10, has 24" in page.gate_panel.lines.text()
    (demo_project.root / "promotion_gate.yaml").unlink()
    page.gate_panel.refresh()                   # fed a moment ago: no read of its own on the GUI thread
    assert page.gate_panel.isVisible()
    page.shadow_panel.read_now()                # the next read: no gate file, no gate panel
    assert not page.gate_panel.isVisible()
    page.detach()
    kiosk = KioskWindow(shadow_run, owns_station=False)
    qtbot.addWidget(kiosk)
    kiosk.show()
    qtbot.waitUntil(lambda: kiosk.shadow_panel.isVisible(), timeout=10000)
    assert f"in shadow: {ShadowModel.model_id}" in kiosk.shadow_panel.loop_label.text()
    assert "only candidate rejects" in kiosk.shadow_panel.figures.text()   # compact: the table in words


def test_a_panel_closed_while_it_reads_and_a_slow_read_waits(qtbot, demo_project, shadow_run):
    import time

    from PySide6.QtWidgets import QApplication

    from studio.gui.widgets.shadow_panel import ShadowPanel

    panel = ShadowPanel(demo_project, shadow_run.data_dir)      # its first read is running on the worker
    worker_done = lambda: not panel._busy                      # noqa: E731  (the Python object outlives Qt's)
    panel.deleteLater()
    QApplication.processEvents()
    qtbot.waitUntil(worker_done, timeout=10000)
    for _ in range(5):                                         # the worker left its result; nothing crashes
        QApplication.processEvents()
        time.sleep(0.05)
    other = ShadowPanel(demo_project, shadow_run.data_dir)
    qtbot.addWidget(other)
    qtbot.waitUntil(lambda: not other.pending(), timeout=10000)
    assert other.last_read_s is not None and other._next_at >= time.monotonic() - 1
    other._next_at = time.monotonic() + 60                     # as after a read of a long pilot's log
    other.refresh()
    assert not other.pending()                                  # too soon: no read
    other.refresh(force=True)
    assert other.pending()
    qtbot.waitUntil(lambda: not other.pending(), timeout=10000)
