"""One reject rate everywhere: kiosk, Station page, station stats and the result-log reader agree on the same parts."""
import threading
import time

import numpy as np
import pytest

from studio.results import rates
from studio.station.part import PartResult
from studio.station.stats import StationStats

VERDICTS = ["pass", "reject", "review", "pass", "fault", "review", "reject", "pass"]
CODES = {"pass": 1, "reject": 2, "fault": 3, "review": 4}


def parts():
    now = time.time()
    return [PartResult(part=i + 1, frame_id=i + 1, verdict=v, verdict_code=CODES[v], score=0.5,
                       image=np.zeros((6, 8, 3), np.uint8), t_trigger=now, t_captured=now, t_decided=now,
                       t_actuated=now, latency_ms=5.0) for i, v in enumerate(VERDICTS)]


def test_the_definition():
    c = rates.tally(VERDICTS + ["garbage"])
    assert c == {"parts": 9, "pass": 3, "reject": 2, "fault": 2, "review": 2}
    assert rates.reject_rate(c) == pytest.approx(4 / 9)          # faults count, reviews do not
    assert rates.review_rate(c) == pytest.approx(2 / 9)
    assert rates.reject_rate(rates.empty()) == 0.0
    assert [r.rejected for r in parts()] == [v in ("reject", "fault") for v in VERDICTS]


def test_stats_and_the_result_log_reader_agree(tmp_path):
    from studio.results import ResultLog

    stats = StationStats()
    log = ResultLog(tmp_path / "results.sqlite", on_error=lambda m: None)
    try:
        for r in parts():
            stats.record(r)
            log.append(r)
        assert log.flush(10)
        snap = stats.snapshot()
        figures = log.reader.figures()
        hourly = log.reject_rate_per_hour(hours=1)
    finally:
        log.close()
    expect = rates.tally(VERDICTS)
    assert rates.from_stats(snap) == expect
    assert {k: figures[k] for k in expect} == expect
    assert snap["reject_rate"] == pytest.approx(3 / 8) == figures["reject_rate"]
    assert snap["review_rate"] == pytest.approx(2 / 8) == figures["review_rate"]
    assert len(hourly) == 1 and hourly[0]["rejected"] == 3 and hourly[0]["review"] == 2
    assert hourly[0]["rate"] == pytest.approx(3 / 8)


def test_kiosk_and_station_page_agree_with_the_stats(qtbot, demo_project):
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    from studio.core.events import Emitter
    from studio.gui.kiosk import KioskWindow
    from studio.gui.pages.station import StationPage

    class Station:
        def __init__(self):
            self.events, self.fault, self.project = Emitter(), None, demo_project

        def stop(self):
            pass

    station = Station()
    kiosk = KioskWindow(station, owns_station=False)
    page = StationPage(demo_project)
    qtbot.addWidget(kiosk)
    qtbot.addWidget(page)
    page.attach(station)
    stats = StationStats()

    def post():
        for r in parts():
            stats.record(r)
            station.events.emit("part", result=r)

    t = threading.Thread(target=post)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: kiosk.count_labels["parts"].text() == "8" and page.tiles["parts"].text() == "8",
                    timeout=5_000)
    keys = ("parts", "pass", "reject", "fault", "review", "rate")
    shown_kiosk = [kiosk.count_labels[k].text() for k in keys]
    shown_page = [page.tiles[k].text() for k in keys]
    expect = rates.from_stats(stats.snapshot())
    assert shown_kiosk == shown_page == [str(expect[k]) for k in keys[:-1]] + ["37.5 %"]
    # and from the station's own figures (a view that joined late)
    station.events.emit("stats", stats={**stats.snapshot(), "parts": 16, "passed": 6, "rejected": 4,
                                        "faults": 2, "reviewed": 4})
    qtbot.waitUntil(lambda: kiosk.count_labels["parts"].text() == "16" and page.tiles["parts"].text() == "16",
                    timeout=5_000)
    assert [kiosk.count_labels[k].text() for k in keys] == [page.tiles[k].text() for k in keys] \
        == ["16", "6", "4", "2", "4", "37.5 %"]
    page.detach()
    kiosk.close()


def test_run_kiosk_exits_3_after_a_fault(qtbot, monkeypatch):
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.core.events import Emitter
    from studio.gui import exception_hook, kiosk

    monkeypatch.setattr(exception_hook, "_installed", True)
    monkeypatch.setattr(kiosk, "FINISHED_CLOSE_MS", 50)

    class Faulting:
        project = None

        def __init__(self):
            self.events, self.fault = Emitter(), None

        def start(self):
            def run():
                self.events.emit("state", state="running")
                self.fault = "the inference stage crashed"
                self.events.emit("state", state="faulted")
                self.events.emit("state", state="stopped")
            threading.Thread(target=run).start()

        def stop(self):
            pass

    QTimer.singleShot(10_000, QApplication.instance().quit)
    assert kiosk.run_kiosk(Faulting()) == 3
