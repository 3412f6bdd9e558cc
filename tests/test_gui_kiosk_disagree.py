"""At the kiosk, the operator overrules the station on the part shown; it reaches the review queue."""
import pytest
from PySide6.QtCore import Qt

from studio.labels.review import review_queue
from tests.test_station import make, rows

pytestmark = pytest.mark.gui


def test_w_sends_the_shown_part_to_review(qtbot, demo_project, tmp_path, monkeypatch):
    from studio.gui.kiosk import KioskWindow
    from studio.gui.widgets import disagree

    station, _ = make(demo_project, tmp_path, max_parts=6)
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    assert not w.wrong_button.isEnabled()          # nothing shown yet: nothing to overrule
    assert station.run(timeout=30)
    qtbot.waitUntil(lambda: w.last_part is not None and w.last_part[0] == 6, timeout=5000)
    part, verdict = w.last_part
    assert verdict == {r["part"]: r["verdict"] for r in rows(station)}[part]

    def answer(dialog):
        (dialog.ok if verdict != "pass" else dialog.ng).setChecked(True)
        dialog.operator.setText("maria")
        return 1
    monkeypatch.setattr(disagree.DisagreeDialog, "exec", answer)
    qtbot.keyClick(w, Qt.Key.Key_W)

    queue = review_queue(demo_project)
    assert len(queue) == 1 and "operator:maria" in queue[0].labels
    assert demo_project.dataset.get(queue[0].image_id).meta["station_part"] == part
    assert "sent to review" in w.alert_label.text()

    qtbot.keyClick(w, Qt.Key.Key_W)                # the same part again: a message, nothing added
    qtbot.waitUntil(lambda: w.findChild(object, "errorDialog") is not None, timeout=2000)
    assert len(demo_project.dataset) == 1
