"""The kiosk shows the PLC's part id next to the station's part number (PLC trigger)."""
import numpy as np

import pytestqt  # noqa: F401  a core dependency: a broken install fails, never skips
import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.station.part import PartResult  # noqa: E402
from tests.test_gui_kiosk import FakeStation  # noqa: E402


def result(part, part_id=""):
    return PartResult(part=part, frame_id=part, part_id=part_id, verdict="pass", verdict_code=1, score=0.1,
                      image=np.zeros((30, 40, 3), np.uint8))


def test_the_kiosk_shows_the_part_id(qtbot):
    from studio.gui.kiosk import KioskWindow

    station = FakeStation()
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    try:
        station.post(result(41, "LOT7-0041"), state="running")
        qtbot.waitUntil(lambda: "LOT7-0041" in w.part_label.text(), timeout=5_000)
        assert w.part_label.text() == "Part 41  ·  ID LOT7-0041"
        station.post(result(42))                    # a part without a PLC id: just its number
        qtbot.waitUntil(lambda: w.part_label.text() == "Part 42", timeout=5_000)
        from PySide6.QtCore import Qt

        assert w.part_label.textFormat() == Qt.TextFormat.PlainText    # an id like "<b>x" is shown as typed
    finally:
        w.close()


def test_the_station_page_shows_the_part_id(qtbot, demo_project):
    from studio.gui.pages.station import StationPage

    page = StationPage(demo_project)
    qtbot.addWidget(page)
    page.on_part(result(7, "LOT7-0007"))
    assert "ID LOT7-0007" in page.part_label.text()
    assert page.recent.item(0, 0).text() == "7 (LOT7-0007)"
    page.on_part(result(8))
    assert page.part_label.text().startswith("Part 8") and "ID" not in page.part_label.text()
    assert page.recent.item(0, 0).text() == "8"
