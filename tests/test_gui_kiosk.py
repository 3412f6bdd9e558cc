"""The kiosk and the Station page only listen to station events (arriving on other threads)."""
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

from PySide6.QtCore import Qt  # noqa: E402


@dataclass
class FakeResult:
    part: int
    verdict: str
    score: float
    defect_class: str | None
    image: Any
    latency_ms: float = 12.5


class FakeStation:
    """What a view needs of a Station: events, start, stop, fault."""

    def __init__(self, project=None, *args, parts=(), **kwargs):
        from studio.core.events import Emitter

        self.project = project
        self.events = Emitter()
        self.fault = None
        self.started = self.stopped = 0
        self.parts = list(parts)
        self._thread = None

    def post(self, *results, state=None):
        """Emit from another thread, as the station's event thread does."""
        def run():
            for r in results:
                self.events.emit("part", result=r)
            if state:
                self.events.emit("state", state=state)
        t = threading.Thread(target=run)
        t.start()
        t.join()

    def start(self):
        self.started += 1
        self.events.emit("state", state="starting")
        self.events.emit("state", state="running")
        if self.parts:
            self._thread = threading.Thread(target=self.post, args=tuple(self.parts), kwargs={"state": "stopped"})
            self._thread.start()

    def stop(self, **asked):                 # by=, reason=: who stops it (a Station's station.stopped entry)
        self.stopped += 1
        self.stop_asked = asked
        if self._thread is not None:
            self._thread.join()


def part(n, verdict, defect=None, score=0.5):
    img = np.zeros((30, 40, 3), np.uint8)
    img[..., {"pass": 1, "reject": 0, "fault": 2}[verdict]] = 200
    return FakeResult(n, verdict, score, defect, img)


@pytest.fixture
def kiosk(qtbot):
    from studio.gui.kiosk import KioskWindow

    station = FakeStation()
    w = KioskWindow(station, owns_station=False)
    qtbot.addWidget(w)
    w.show()
    yield w, station
    w.close()


def test_kiosk_counts_and_shows_the_verdict(qtbot, kiosk):
    w, station = kiosk
    assert w.verdict.text() == "READY"
    station.post(part(1, "pass"), state="running")
    qtbot.waitUntil(lambda: w.count_labels["parts"].text() == "1", timeout=5_000)
    assert w.verdict.text() == "PASS" and "Running" in w.state_label.text()
    assert w.view.has_image() and w.view.image()[0, 0, 1] == 200
    station.post(part(2, "reject", "scratch", 0.91))
    qtbot.waitUntil(lambda: w.count_labels["parts"].text() == "2", timeout=5_000)
    assert w.verdict.text() == "REJECT" and w.defect_label.text() == "scratch"
    station.post(part(3, "fault", score=float("nan")), part(4, "pass"), part(5, "fault"))
    qtbot.waitUntil(lambda: w.count_labels["parts"].text() == "5", timeout=5_000)
    assert w.verdict.text() == "FAULT"
    assert [w.count_labels[k].text() for k in ("pass", "reject", "fault")] == ["2", "1", "2"]
    assert w.count_labels["rate"].text() == "60.0 %"
    assert w.thumbs[0].text.text() == "5  FAULT" and w.thumbs[4].text.text() == "1  PASS"
    assert w.thumbs[5].text.text() == ""
    # the station's own figures win: a view that joined late still shows the run's totals
    station.events.emit("stats", stats={"parts": 40, "passed": 30, "rejected": 8, "faults": 2,
                                        "reject_rate": 0.25, "latency_ms_median": 14.2})
    qtbot.waitUntil(lambda: w.count_labels["parts"].text() == "40", timeout=5_000)
    assert [w.count_labels[k].text() for k in ("pass", "reject", "fault", "rate")] == ["30", "8", "2", "25.0 %"]
    assert "14 ms" in w.help_label.text()
    station.events.emit("alert", message="camera lost; reconnecting", level="warning")
    qtbot.waitUntil(lambda: w.alert_label.isVisible(), timeout=5_000)
    assert "camera lost" in w.alert_label.text()


def test_kiosk_strip_keeps_the_last_eight(qtbot, kiosk):
    w, station = kiosk
    station.post(*[part(i, "pass" if i % 3 else "reject") for i in range(1, 12)])
    qtbot.waitUntil(lambda: w.count_labels["parts"].text() == "11", timeout=5_000)
    assert [t.text.text().split()[0] for t in w.thumbs] == [str(i) for i in range(11, 3, -1)]


def test_escape_leaves_full_screen_and_asks_before_stopping(qtbot, monkeypatch):
    from studio.gui.kiosk import KioskWindow

    station = FakeStation()
    w = KioskWindow(station, owns_station=True)
    qtbot.addWidget(w)
    w.showFullScreen()
    answers = [False, True]
    monkeypatch.setattr(w, "confirm_stop", lambda: answers.pop(0))
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not w.isFullScreen() and w.isVisible() and station.stopped == 0     # "no": keeps running
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not w.isVisible() and station.stopped == 1


def test_run_kiosk_starts_shows_and_stops_when_the_station_finishes(qtbot, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.gui import exception_hook, kiosk

    monkeypatch.setattr(exception_hook, "_installed", True)            # keep pytest's exception hooks
    monkeypatch.setattr(kiosk, "FINISHED_CLOSE_MS", 50)
    station = FakeStation(parts=[part(1, "pass"), part(2, "reject", "dent")])
    seen = {}
    orig = kiosk.KioskWindow.on_part

    def spy(self, result):
        orig(self, result)
        seen["full"] = self.isFullScreen()
        seen["parts"] = self.count_labels["parts"].text()

    monkeypatch.setattr(kiosk.KioskWindow, "on_part", spy)
    QTimer.singleShot(10_000, QApplication.instance().quit)   # safety net: never hang the test run
    assert kiosk.run_kiosk(station) == 0
    assert station.started == 1 and station.stopped >= 1
    assert seen == {"full": True, "parts": "2"}


def test_station_page_runs_a_station_and_shows_its_parts(qtbot, demo_project, monkeypatch):
    import studio.station
    from studio.gui.pages.station import StationPage

    made = []

    def make(project, camera_spec=None, plc_spec="sim", **kw):
        s = FakeStation(project)
        s.args = (camera_spec, plc_spec, kw)
        made.append(s)
        return s

    monkeypatch.setattr(studio.station, "Station", make)
    page = StationPage(demo_project)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    assert not page.start_button.isEnabled()                 # no trained model yet
    page.model_combo.clear()
    page.model_combo.addItem("m1", "m1")
    page._update_controls()
    assert page.camera_edit.text() == demo_project.camera_spec and page.plc_edit.text() == "sim"
    page.start_button.click()
    qtbot.waitUntil(lambda: made and made[0].started == 1 and not page.runner.is_running(), timeout=5_000)
    station = made[0]
    assert station.args[:2] == (demo_project.camera_spec, "sim") and station.args[2]["model_id"] == "m1"
    assert page.stop_button.isEnabled() and page.kiosk_button.isEnabled() and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: page.state_label.text() == "Running", timeout=5_000)
    station.post(part(1, "pass"), part(2, "reject", "stain", 0.8))
    qtbot.waitUntil(lambda: page.tiles["parts"].text() == "2", timeout=5_000)
    assert page.tiles["reject"].text() == "1" and page.tiles["rate"].text() == "50.0 %"
    assert page.badge.text() == "REJECT" and page.recent.item(0, 1).text() == "REJECT"
    assert page.recent.item(0, 3).text() == "stain" and page.recent.rowCount() == 2
    page.open_kiosk()
    assert page.kiosk is not None and page.kiosk.isFullScreen()
    assert page.kiosk.count_labels["parts"].text() == "2"     # the run so far
    station.post(part(3, "pass"))
    qtbot.waitUntil(lambda: page.kiosk.count_labels["parts"].text() == "3", timeout=5_000)
    assert page.tiles["parts"].text() == "3"
    page.stop_button.click()
    qtbot.waitUntil(lambda: station.stopped == 1 and page.station is None, timeout=5_000)
    assert page.start_button.isEnabled() and page.state_label.text() == "Stopped"
    page.shutdown()
    assert station.stopped == 1                               # the page's kiosk never stops the station
