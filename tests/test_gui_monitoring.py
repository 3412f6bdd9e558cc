"""The monitoring views: the alerts panel acknowledges into the real result log; the charts show a real run."""
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).parent))
from test_station import FakeCamera, FakeModel  # noqa: E402

from studio.results.log import ResultLog  # noqa: E402


def test_acknowledge_sets_who_and_when_and_the_panel_shows_it(qtbot, tmp_path):
    from studio.gui.widgets.alerts_panel import AlertsPanel
    from studio.results import acknowledge

    path = tmp_path / "results.sqlite"
    log = ResultLog(path)
    log.alert("reject_rate", "warning", "reject rate spike: 12 % over the last 50 parts",
              {"direction": "up", "reject_rate": 0.12})
    log.alert("camera", "error", "camera lost")
    assert log.flush(5)
    panel = AlertsPanel(path, who=lambda: "Ana")
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    assert panel.table.rowCount() == 2 and panel.summary.text() == "Alerts: 2 open"
    assert panel.table.item(1, 1).text() == "reject_rate"
    panel.table.selectRow(1)                        # the older one: the spike
    before = time.time()
    with qtbot.waitSignal(panel.acknowledged, timeout=2000) as sig:
        qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    assert sig.args[1] == "Ana"
    con = sqlite3.connect(path)
    rows = con.execute("SELECT kind, acked_by, acked_at FROM alerts ORDER BY id").fetchall()
    con.close()
    assert rows[0][:2] == ("reject_rate", "Ana") and before - 1 <= rows[0][2] <= time.time() + 1
    assert rows[1][1:] == (None, None)
    assert panel.table.item(1, 3).text() == "✓ Ana" and panel.table.item(0, 3).text() == "open"
    assert panel.summary.text() == "Alerts: 1 open"
    # a second acknowledgement keeps the first one; a wrong id is a clear refusal
    again = acknowledge(path, sig.args[0], "Bo")
    assert again["acked_by"] == "Ana"
    from studio.core.errors import StudioError

    with pytest.raises(StudioError, match="no alert 99"):
        acknowledge(path, 99, "Bo")
    with pytest.raises(StudioError, match="acknowledged by someone"):
        acknowledge(path, 1, " ")
    log.close()


def test_kiosk_and_station_page_show_the_monitor_of_a_real_run(qtbot, demo_project, tmp_path):
    import yaml

    from studio.gui.kiosk import KioskWindow
    from studio.gui.pages.station import StationPage
    from studio.plc.sim import SimPlc
    from studio.station import Station

    (Path(demo_project.root) / "station.yaml").write_text(yaml.safe_dump(
        {"monitoring": {"expected_reject_rate": 0.4, "window_parts": 20}}))
    station = Station(demo_project, model=FakeModel(), camera=FakeCamera(), plc=SimPlc(),
                      data_dir=tmp_path / "data", max_parts=60)
    kiosk = KioskWindow(station, owns_station=False)
    qtbot.addWidget(kiosk)
    kiosk.show()
    kiosk.resize(1280, 800)
    assert station.run(timeout=30) is True
    kiosk.monitor_panel.refresh()
    kiosk.alerts_panel.refresh()
    chart = kiosk.monitor_panel.rate_chart
    assert sum(h["parts"] for h in chart.hours) == 60
    assert chart.hours[-1]["upper"] is not None and chart.upper.getData()[1] is not None
    assert "last 20" in chart.plotItem.titleLabel.text
    hist = kiosk.monitor_panel.last["histogram"]
    assert hist["live_n"] == 60 and sum(hist["live"]) == pytest.approx(1.0)
    assert "no reference" in kiosk.monitor_panel.histogram.plotItem.titleLabel.text   # FakeModel has no card
    kiosk.resize(1280, 800)                         # the charts and alerts fit a 1280x800 panel
    qtbot.wait(20)
    assert kiosk.minimumSizeHint().height() <= 800 and kiosk.height() == 800
    assert kiosk.monitor_row.isVisible() and kiosk.monitor_row.height() >= 110

    page = StationPage(demo_project)
    qtbot.addWidget(page)
    page.attach(station)
    assert page.alerts_panel.log_path == station.log_path
    assert page.monitor_panel.last is not None and page.monitor_panel.last["parts"] == 60
    assert page.monitor_panel.map_view is not None and page.monitor_panel.map_view.isHidden()   # no map: hidden
    page.detach()
