"""The station's lighting watch: cheap measures every Nth frame, an alert when they leave the baseline's band."""
import time
from types import SimpleNamespace

import numpy as np
import pytest

from studio.capture.sim import SimCamera
from studio.lighting import store
from studio.lighting.drift import LightingWatch, cheap_measures, cheap_summary, watch_for
from studio.lighting.limits import DEFAULTS
from studio.lighting.run import audit_project


def frames(spec, n, start=0):
    cam = SimCamera(spec)
    return [cam.render(start + i)[0] for i in range(n)]


def test_cheap_measures_track_exposure_and_focus_and_are_cheap_at_5mp():
    clean = cheap_measures(frames("seed=1", 1)[0])
    dark = cheap_measures(frames("seed=1,exposure=0.6", 1)[0])
    soft = cheap_measures(frames("seed=1,blur=3", 1)[0])
    assert dark["mean"] == pytest.approx(0.6 * clean["mean"], rel=0.05)
    assert soft["sharpness"] < 0.8 * clean["sharpness"]
    # a 5 MP frame is measured too (how fast: benchmarks/lighting_throughput.py, "station drift measures")
    big = np.zeros((2048, 2448, 3), np.uint8)
    measured = cheap_measures(big)
    assert measured["mean"] == 0 and np.isfinite(measured["sharpness"])


def test_watch_alerts_once_on_drift_and_once_when_back():
    alerts = []
    ref = cheap_summary(frames("seed=2", 4), None)
    watch = LightingWatch(ref, {**DEFAULTS["drift"], "every_n": 2, "window": 3},
                          alert=lambda m, level="warning": alerts.append((level, m)))
    for img in frames("seed=2", 8):
        watch(img)
    assert alerts == [] and watch.state()["ok"] and watch.measured == 4     # every 2nd of 8 frames
    for img in frames("seed=2,exposure=0.6", 12, start=8):                  # the lamp dims by 40%
        watch(img)
    assert len(alerts) == 1 and alerts[0][0] == "warning"
    assert "brightness -40% from the baseline" in alerts[0][1] and "lamp" in alerts[0][1]
    assert not watch.state()["ok"] and watch.state()["alerts"] == 1
    for img in frames("seed=2", 10, start=20):
        watch(img)
    assert alerts[-1] == ("info", "lighting is back within the baseline's band") and len(alerts) == 2


def test_one_odd_part_is_not_a_lighting_problem():
    alerts = []
    ref = cheap_summary(frames("seed=2", 4), None)
    watch = LightingWatch(ref, {**DEFAULTS["drift"], "every_n": 1, "window": 5}, alert=lambda *a: alerts.append(a))
    imgs = frames("seed=2", 10)
    imgs[5] = frames("seed=2,exposure=3", 1, start=5)[0]                   # one glaring part
    for img in imgs:
        watch(img)
    assert alerts == []


def test_watch_for_needs_a_baseline(demo_project):
    assert watch_for(demo_project, alert=print) is None
    audit_project(demo_project, "sim:seed=3,still=1", 3)
    store.save_baseline(demo_project)
    watch = watch_for(demo_project, alert=print)
    assert watch is not None and watch.reference["mean"] > 50


class SwitchingCamera:
    """The sim line; after ``dim_after`` frames the lamp loses 40% of its light."""

    def __init__(self, dim_after):
        self.clean, self.dim = SimCamera("seed=3"), SimCamera("seed=3,exposure=0.6")
        self.n, self.dim_after = 0, dim_after

    def open(self):
        pass

    def close(self):
        pass

    def grab(self, timeout=2.0):
        self.n += 1
        cam = self.dim if self.n > self.dim_after else self.clean
        return SimpleNamespace(image=cam.render(self.n)[0], frame_id=self.n, timestamp=time.time(), meta={})


class PassModel:
    model_id = "20240501-anomaly"
    task = "anomaly"
    threshold = 0.5
    card = {}

    def predict(self, image):
        return SimpleNamespace(score=0.1, defective=False, defect_class=None, class_id=0, anomaly_map=None)


def test_station_raises_a_lighting_drift_alert(demo_project, tmp_path):
    from studio.plc.sim import SimPlc
    from studio.station import Station

    audit_project(demo_project, "sim:seed=3", 5)
    store.save_baseline(demo_project)
    station = Station(demo_project, camera=SwitchingCamera(dim_after=20), model=PassModel(), plc=SimPlc(),
                      data_dir=tmp_path / "data", max_parts=60)
    events = []
    station.events.subscribe(lambda kind, payload: events.append((kind, payload)))
    assert station.run(timeout=60) is True
    alerts = [p for k, p in events if k == "alert" and "lighting drift" in p["message"]]
    assert len(alerts) == 1 and alerts[0]["level"] == "warning" and "brightness" in alerts[0]["message"]
    lighting = station.stats()["lighting"]
    assert lighting["ok"] is False and lighting["alerts"] == 1 and lighting["measured"] == 12   # every 5th of 60
    assert station.stats()["parts"] == 60 and station.stats()["faults"] == 0


def test_station_without_baseline_has_no_watch(demo_project, tmp_path):
    from studio.plc.sim import SimPlc
    from studio.station import Station

    station = Station(demo_project, camera=SwitchingCamera(dim_after=2), model=PassModel(), plc=SimPlc(),
                      data_dir=tmp_path / "data", max_parts=5)
    assert station.run(timeout=30) is True
    assert station.stats()["lighting"] is None
