"""The dashboard as a person sees it: a screenshot in headless Chromium (Debian's `chromium`), kept out of the repository."""
import shutil
import subprocess

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
