"""The Fleet page against a real central store: the stations table, the per-station plot, the projects."""
import os
import time

from test_central import write_log

from studio.central.forwarder import Forwarder


def fill(url, tmp_path):
    hour0 = (time.time() // 3600) * 3600 - 3 * 3600
    for i, (sid, project, verdicts) in enumerate((("line-1", "demo", ["pass"] * 45 + ["reject"] * 5),
                                                  ("line-2", "demo", ["pass"] * 40 + ["reject"] * 10),
                                                  ("line-3", "caps", ["pass"] * 20 + ["fault"]))):
        for h in range(3):      # three hours each, the reject rate changing
            write_log(tmp_path / f"{sid}-{h}", verdicts[: len(verdicts) - 2 * h * (i + 1)] if h else verdicts,
                      t0=hour0 + h * 3600 + 60, step=10.0, first_part=1 + 100 * h)
        for h in range(3):
            Forwarder(tmp_path / f"{sid}-{h}", url, sid, project=project, status_file=False).sync()


def test_fleet_page_shows_every_station(qtbot, pg_url, tmp_path):
    from studio.gui.pages.fleet import FleetPage

    fill(pg_url, tmp_path)
    page = FleetPage(None, url=pg_url)
    qtbot.addWidget(page)
    page.resize(1100, 820)
    page.show()
    with qtbot.waitSignal(page.runner.finished, timeout=20_000):
        assert page.reload()
    assert page.stations.rowCount() == 3
    assert [page.stations.item(i, 0).text() for i in range(3)] == ["line-1", "line-2", "line-3"]
    assert page.stations.item(0, 1).text() == "demo" and page.stations.item(0, 5).text() == "up to date"
    parts = {page.stations.item(i, 0).text(): int(page.stations.item(i, 6).text()) for i in range(3)}
    view = {s["station_id"]: s for s in page.view["stations"]}
    assert parts == {k: v["parts"] for k, v in view.items()}
    assert page.stations.item(1, 7).text() == f"{100 * view['line-2']['reject_rate']:.1f} %"
    curves = page.plot.plotItem.listDataItems()
    assert len(curves) == 3 and all(len(c.xData) == 3 for c in curves)
    assert page.projects.rowCount() == 3
    names = [page.projects.item(i, 0).text() for i in range(3)]
    assert names[0] == "caps" and all(n.startswith("demo  (spread ") for n in names[1:])
    shot = os.environ.get("STUDIO_SCREENSHOT_DIR")
    if shot:
        page.grab().save(os.path.join(shot, "fleet.png"))


def test_fleet_page_says_when_the_store_is_away(qtbot):
    from pg_server import free_port

    from studio.gui.pages.fleet import FleetPage

    page = FleetPage(None, url=f"postgresql://studio@127.0.0.1:{free_port()}/x")
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.runner.failed, timeout=20_000):
        page.reload()
    assert "cannot reach the central store" in page.banner.text()
    assert page.banner.property("role") == "banner-error" and not page.banner.isHidden()


def test_the_main_window_opens_the_fleet_window(qtbot, demo_project):
    from studio.gui.main_window import MainWindow

    window = MainWindow(demo_project)
    qtbot.addWidget(window)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    [fleet] = [a for a in menus["View"].actions() if a.text().startswith("&Fleet")]
    fleet.trigger()
    page = window.fleet_window
    assert page.isWindow() and page.isVisible() and page.windowTitle().startswith("Fleet")
    assert "central store's address" in page.state_label.text()       # the demo's station.yaml names none
    window.close()
