"""Live view on the Capture page: analysis off the GUI thread, histogram, overlays, stats, camera features."""
import numpy as np
import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import pyqtgraph  # noqa: F401  a core dependency: a broken install fails, never skips

from studio.lighting.live import analyse  # noqa: E402


@pytest.fixture
def page(qtbot, demo_project):
    from studio.gui.pages.capture import CapturePage

    p = CapturePage(demo_project)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    yield p
    p.shutdown()


def test_overlays_mark_clipping_and_sharp_edges():
    img = np.full((60, 80, 3), 120, np.uint8)
    img[:, :10] = 255                                  # a blown-out strip
    img[:, 70:] = 0                                    # a crushed strip
    img[20:40, 30:50] = 200                            # a sharp-edged square
    a = analyse(img, clipping=True, peaking=True)
    d = a["display"]
    assert (d[:, :8] == (255, 0, 0)).all() and (d[5:55, 73:] == (0, 80, 255)).all()
    assert (d[25:35, 29] == (0, 255, 0)).all() or (d[25:35, 30] == (0, 255, 0)).all()   # the square's edge
    assert (d[45:55, 40] == (120, 120, 120)).all()                                      # flat: untouched
    assert a["clipped_bright"] == pytest.approx(10 / 80, abs=0.01) and a["histogram"].sum() == 60 * 80
    assert (analyse(img, clipping=False, peaking=False)["display"][:, :10] == 255).all()   # no overlays
    big = analyse(np.zeros((2048, 2448, 3), np.uint8))
    assert big["display"].shape == (1024, 1224, 3) and big["scale"] == 0.5      # a whole factor: fast


def test_live_view_shows_histogram_stats_and_overlays(qtbot, page):
    page.spec_edit.setText("sim:seed=3,width=200,height=150,exposure=2")
    page.connect_camera()
    qtbot.waitUntil(lambda: page.current_frame is not None and page.worker.frames > 3, timeout=10_000)
    xs, ys = page.histogram.curve.getData()
    assert len(xs) == 256 and ys.max() > 0
    assert "white" in page.histogram.text.toPlainText()
    assert "fps" in page.stats_label.text() and "frame" in page.stats_label.text()
    shown = page.view.image()
    assert (shown == (255, 0, 0)).all(axis=2).any()             # over-exposed face painted red
    page.clipping_check.setChecked(False)
    page.peaking_check.setChecked(True)
    assert page.worker.clipping is False and page.worker.peaking is True
    n = page.worker.frames
    qtbot.waitUntil(lambda: page.worker.frames > n + 2, timeout=5_000)
    qtbot.wait(100)
    shown = page.view.image()
    assert not (shown == (255, 0, 0)).all(axis=2).any() and (shown == (0, 255, 0)).all(axis=2).any()
    assert not page.controls.available()                        # the simulator has no camera features


def test_genicam_features_grey_out_and_changes_are_kept_in_the_project(qtbot, page, demo_project):
    import harvesters.core  # noqa: F401  a core dependency: a broken install fails, never skips
    demo_project.settings["camera"] = {"spec": "genicam:viky", "settings": {}}
    demo_project.save()
    page.spec_edit.setText("genicam:viky")
    page.connect_camera()
    qtbot.waitUntil(lambda: "Width" in page.controls.available(), timeout=10_000)
    assert set(page.controls.available()) == {"AcquisitionFrameRate", "PixelFormat", "Width", "Height"}
    assert "free-run" in page.camera_label.text()                  # viky has no software trigger
    assert not page.controls.widgets["ExposureTime"].isEnabled()
    assert "no such feature" in page.controls.widgets["Gain"].toolTip()
    page.controls.widgets["AcquisitionFrameRate"].setValue(30.0)
    qtbot.waitUntil(lambda: "AcquisitionFrameRate" in page.banner.text(), timeout=5_000)
    assert demo_project.camera_settings["AcquisitionFrameRate"] == 30.0
    from studio.project import Project

    assert Project.open(demo_project.root).camera_settings["AcquisitionFrameRate"] == 30.0   # saved
    qtbot.waitUntil(lambda: "dropped" in page.stats_label.text(), timeout=5_000)


def test_zoom_and_pan(qtbot):
    from studio.gui.widgets import ImageView

    v = ImageView(zoomable=True)
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.set_image(np.zeros((300, 400), np.uint8))
    v.pan(50, 0)
    assert v.centre == (0.5, 0.5)                               # nothing to pan at zoom 1
    v._zoom = 4.0
    v.pan(100, 0)
    assert v.centre[0] < 0.5 and v.centre[1] == 0.5
    v.pan(-100000, 0)
    assert v.centre[0] == 1.0                                   # stays on the image


class FlakyCamera:
    """A simulated camera whose cable is 'pulled' for a while after its 5th frame."""

    outage = {"grabs_left": 5, "failed_opens": 0}

    def __new__(cls, argument="", settings=None):
        from studio.capture.sim import SimCamera
        from studio.core.errors import CameraError

        class Flaky(SimCamera):
            def grab(self, timeout=2.0):
                st = cls.outage
                st["grabs_left"] -= 1
                if st["grabs_left"] == 0:
                    raise CameraError("cable pulled")
                return super().grab(timeout)

            def open(self):
                st = cls.outage
                if st["grabs_left"] <= 0 and st["failed_opens"] < 2:     # down for two retries
                    st["failed_opens"] += 1
                    raise CameraError("no camera found")
                super().open()

        return Flaky("width=120,height=90", settings)


def test_a_lost_camera_is_reported_and_the_live_view_resumes(qtbot, page):
    from studio.capture.camera import CAMERAS

    FlakyCamera.outage.update(grabs_left=5, failed_opens=0)
    CAMERAS.register("flaky", f"{__name__}:FlakyCamera")
    try:
        page.spec_edit.setText("flaky:")
        page.connect_camera()
        page.worker.retry_s = 0.1
        qtbot.waitUntil(lambda: "Camera lost" in page.banner.text(), timeout=10_000)
        lost_at = page.worker.frames
        qtbot.waitUntil(lambda: "Camera back" in page.banner.text(), timeout=10_000)
        qtbot.waitUntil(lambda: page.worker.frames > lost_at + 2, timeout=10_000)    # live again
        assert page.current_frame.meta["epoch"] == 1
        assert page.worker.stats()["reconnects"] == 1 and FlakyCamera.outage["failed_opens"] == 2
    finally:
        CAMERAS._targets.pop("flaky", None)
