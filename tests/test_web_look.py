"""The dashboard as a person sees it: a screenshot in headless Chromium (Debian's `chromium`), kept out of the repository."""
import fcntl
import json
import os
import re
import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest
from test_station import FakeModel
from waiting import until
from web_fixtures import fake_report, seed_history

from studio.plc.sim import SimPlc
from studio.station import Station
from studio.web import DashboardThread

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(url, out, tmp_path, size=(1280, 900)):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--screenshot={out}",
           f"--window-size={size[0]},{size[1]}", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.is_file(), done.stderr[-2000:]
    return cv2.imread(str(out), cv2.IMREAD_COLOR)


def near(image, rgb, tol=12):
    """Pixels of this colour."""
    bgr = np.array(rgb[::-1], np.int16)
    return int((np.abs(image.astype(np.int16) - bgr).max(axis=2) <= tol).sum())


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installer/setup.sh installs it)")
def test_the_overview_in_headless_chromium(demo_project, tmp_path, monkeypatch):
    import studio.monitoring.report as report_module

    real = report_module.build_report
    monkeypatch.setattr(report_module, "build_report", lambda *a, **k: fake_report(real(*a, **k)))
    data_dir = tmp_path / "data"
    seed_history(data_dir, hours=10)
    station = Station(demo_project, model=FakeModel(), plc=SimPlc(), data_dir=data_dir, interval_s=0.05)
    with DashboardThread(data_dir, port=0, project=demo_project) as web:
        station.start()
        try:
            assert until(lambda: station.stats()["parts"] >= 12, timeout=60)
            image = screenshot(web.url, tmp_path / "overview.png", tmp_path)
            gate = screenshot(web.url + "gate", tmp_path / "gate.png", tmp_path)
        finally:
            station.stop()
    assert image.shape[:2] == (900, 1280)
    assert (tmp_path / "overview.png").stat().st_size > 30_000                 # not a blank page
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 500                   # text, chart and part images
    assert near(image, (0x24, 0x29, 0x2F), 2) > 20_000                         # the header bar
    assert near(image, (0x1F, 0x6F, 0xEB)) > 300                                # the reject-rate line and dots
    assert near(image, (0xFF, 0xF6, 0xCE), 4) > 20_000                          # the control-limit band (80 % over white)
    assert near(image, (0xD1, 0x24, 0x2F)) > 50                                 # the hours outside the limits
    # the part images: the simulated camera's plates on their dark belt, in the gallery's first row
    # (a row of 'pending' placeholders has a few hundred colours: grey boxes, white, anti-aliased text)
    gallery = image[640:770, 40:740]
    colours = len(np.unique(gallery.reshape(-1, 3), axis=0))
    assert colours > 2000, f"the last parts' images are not visible ({colours} colours)"
    assert near(gate, (0xFF, 0xEB, 0xE9), 4) > 5_000                            # "The gate is not met" banner


class Browser:
    """Headless Chromium driven over its DevTools pipe (fds 3 and 4; JSON messages ending in NUL)."""

    def __init__(self, profile):
        to_chromium, self._w = os.pipe()
        self._r, from_chromium = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chromium, from_chromium)]
        for fd in (to_chromium, from_chromium):
            os.close(fd)
        line = (f"exec {CHROMIUM} --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir={profile} "
                f"--remote-debugging-pipe about:blank 3<&{high[0]} 4>&{high[1]}")
        self.proc = subprocess.Popen(["bash", "-c", line], pass_fds=high, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for fd in high:
            os.close(fd)
        self._n, self._buf = 0, b""

    def call(self, method, params=None, session=None, timeout=60.0):
        self._n += 1
        msg = {"id": self._n, "method": method, "params": params or {}, **({"sessionId": session} if session else {})}
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" not in self._buf:
                chunk = os.read(self._r, 1 << 16)
                assert chunk, "chromium closed its DevTools pipe"
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._n:
                assert "error" not in answer, answer["error"]
                return answer["result"]
        raise TimeoutError(method)

    def open(self, url):
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        return self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def value(self, session, expression):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)[
            "result"].get("value")

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        os.close(self._w)
        os.close(self._r)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installer/setup.sh installs it)")
def test_the_open_page_follows_the_station_live(demo_project, tmp_path):
    """dashboard.js in a real browser: the server-sent events arrive and the page's figures move on."""
    station = Station(demo_project, model=FakeModel(), plc=SimPlc(), data_dir=tmp_path / "data", interval_s=0.05)
    last_part = "(document.querySelector('.tile.last-part .tile-value') || {}).textContent"
    with DashboardThread(tmp_path / "data", port=0, project=demo_project) as web:
        station.start()
        browser = Browser(tmp_path / "chromium-profile")
        try:
            assert until(lambda: station.stats()["parts"] >= 5, timeout=60)
            page = browser.open(web.url)
            assert until(lambda: (browser.value(page, last_part) or "").startswith("#"), timeout=30)
            first = int(browser.value(page, last_part).lstrip("#"))
            assert until(lambda: int(browser.value(page, last_part).lstrip("#")) > first + 10, timeout=30)
            live = browser.value(page, "document.getElementById('live').textContent")
            assert re.search(r"live · \d", live), live         # refreshed by the script, with its time
            assert browser.value(page, "document.getElementById('live').className") == "live ok"
        finally:
            browser.close()
            station.stop()
