"""The Station page shows the plant bus: connected, then away since ... with the messages kept, when the
broker (a real mosquitto) is killed under a running station."""
from mqtt_broker import Broker
from test_plant_bus import make, with_bus


def test_the_station_page_shows_the_plant_bus_connected_then_away(qtbot, demo_project, tmp_path):
    from studio.gui.pages.station import StationPage

    broker = Broker(tmp_path / "broker")
    broker.start()
    page = StationPage(demo_project)
    qtbot.addWidget(page)
    station = make(with_bus(demo_project, broker.url), tmp_path, interval_s=0.02)
    page.attach(station)
    station.start()
    try:
        qtbot.waitUntil(lambda: "connected since" in page.bus_label.text(), timeout=10_000)
        assert broker.url in page.bus_label.text() and "messages sent" in page.bus_label.text()
        broker.kill()
        qtbot.waitUntil(lambda: "AWAY since" in page.bus_label.text(), timeout=10_000)
        qtbot.waitUntil(lambda: station.stats()["plant_bus"]["kept"] > 0, timeout=10_000)
        qtbot.waitUntil(lambda: "inspection goes on" in page.bus_label.text()
                        and " 0 messages kept" not in page.bus_label.text(), timeout=10_000)
    finally:
        page.shutdown()
        broker.stop()
    assert station.stats()["parts"] > 0


def test_the_station_page_says_nothing_of_a_bus_the_station_has_not(qtbot, demo_project):
    from studio.gui.pages.station import StationPage

    page = StationPage(demo_project)
    qtbot.addWidget(page)
    page.on_stats({"parts": 1, "passed": 1, "rejected": 0, "faults": 0, "reviewed": 0, "plant_bus": None})
    assert page.bus_label.text() == ""
