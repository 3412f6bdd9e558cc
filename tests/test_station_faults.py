"""Faults made for real while the station runs: each gives a fault verdict for the part in flight,
an alert that names its cause (``key``), a recovery without anyone's help, and loses nothing logged.

The viky GenICam camera destroyed mid-run, the model file replaced by garbage under a running
station, the wall clock stepped back an hour. The model is a real ONNX graph loaded by the real
loader (``benchmarks/soak.py``'s darkness model: no training), the log a real SQLite file.
"""
import importlib.util
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from waiting import until

from studio.core.errors import ModelError
from studio.plc import register_map as rm
from studio.plc.sim import SimPlc
from studio.station import Station, camera_feed, faults
from studio.station.clock import StationClock, SteppableClock

import onnx  # noqa: F401  a core dependency: a broken install fails, never skips
import onnxruntime  # noqa: F401  a core dependency: a broken install fails, never skips

REPO = Path(__file__).resolve().parents[1]
SIM = "sim:seed=3,defect_rate=0.3,width=128,height=96"


@pytest.fixture(scope="module")
def soak():
    spec = importlib.util.spec_from_file_location("soak", REPO / "benchmarks" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("soak", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(soak, tmp_path):
    return soak.plain_project(tmp_path / "line")


def start(project, tmp_path, **kw):
    kw.setdefault("plc", SimPlc())
    kw.setdefault("data_dir", tmp_path / "data")
    station = Station(project, kw.pop("camera_spec", SIM), **kw)
    events = []
    station.events.subscribe(lambda kind, payload: events.append((kind, payload)))
    station.start()
    return station, events




def rows(station):
    con = sqlite3.connect(station.log_path)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute("SELECT * FROM results ORDER BY part")]
    con.close()
    return out


def alerts(events, key=None):
    return [p for k, p in events if k == "alert" and (key is None or p.get("key") == key)]


def assert_nothing_lost(station):
    logged = rows(station)
    assert [r["part"] for r in logged] == list(range(1, len(logged) + 1))
    assert [p.part for p in station.plc.history] == [r["part"] for r in logged]       # the PLC saw each once
    assert [p.verdict_code for p in station.plc.history] == [r["verdict_code"] for r in logged]
    return logged


# ---- camera pulled mid-run ------------------------------------------------------------------
def pull_the_camera(station, tries=20):
    """Destroy the viky device under the running stream. On a loaded machine the station may be
    reopening the camera after a frame timeout of its own at that instant (then harvesters has no
    device to destroy): try again on the camera it opened."""
    for _ in range(tries):
        camera = station.feed.camera
        try:
            camera._acquirer.destroy()
            return
        except Exception:
            time.sleep(0.1)
    raise AssertionError("could not pull the viky camera")


def test_viky_destroyed_mid_run_faults_the_part_in_flight_and_the_station_reopens_it(project, tmp_path,
                                                                                       monkeypatch):
    import harvesters.core  # noqa: F401  a core dependency: a broken install fails, never skips
    if importlib.util.find_spec("genicam") is None or not (
            Path(importlib.util.find_spec("genicam").origin).parent / "viky.cti").is_file():
        pytest.skip("the genicam wheel has no viky.cti here")
    monkeypatch.setattr(camera_feed, "RETRY_S", (0.2, 0.4))
    station, events = start(project, tmp_path, camera_spec="genicam:viky#1", heartbeat_s=0.05)
    try:
        assert until(lambda: station.stats()["parts"] >= 5), station.stats()
        # the device goes away under the stream, while the acquisition thread waits for its next frame
        pull_the_camera(station)
        assert until(lambda: station.feed.missed >= 1, timeout=5)
        before = station.stats()["parts"]
        assert until(lambda: station.stats()["parts"] >= before + 5, timeout=15), "parts did not continue"
        assert station.state == "running" and station.fault is None
        assert station.plc.registers()[rm.STATE] == rm.STATE_RUNNING
        beats = station.plc.registers()[rm.HEARTBEAT]
        assert until(lambda: station.plc.registers()[rm.HEARTBEAT] != beats, timeout=2)     # alive again
    finally:
        station.stop()
    logged = assert_nothing_lost(station)
    fault_rows = [r for r in logged if r["verdict"] == "fault"]
    # one fault per outage, the part in flight; none invented during it (a loaded machine may add a
    # frame timeout of its own: that is another outage with its own part)
    assert len(fault_rows) == station.feed.missed == station.stats()["camera_missed"] >= 1
    assert all("camera failed" in r["note"] for r in fault_rows)
    missed = fault_rows[0]
    assert missed["verdict_code"] == rm.VERDICT_FAULT and missed["image_path"] is None
    assert "camera failed" in missed["note"] and missed["frame_id"] == 0
    assert {p.part: p.verdict_code for p in station.plc.history}[missed["part"]] == rm.VERDICT_FAULT
    # parts went on after the outage (a loaded machine's own later timeout may fault one more of them)
    assert len([r for r in logged if r["part"] > missed["part"]]) >= 5
    after = [r for r in logged if r["part"] > missed["part"] and r["verdict"] != "fault"]
    assert len(after) >= 3 and all(r["image_path"] and r["verdict"] in ("pass", "reject") for r in after)
    assert all((station.data_dir / r["image_path"]).is_file() for r in after)
    camera_alerts = [a["message"] for a in alerts(events, "camera")]
    assert camera_alerts and "the part in front of it is a fault" in camera_alerts[0]
    assert any("camera is back" in a["message"] for a in alerts(events))
    states = [p["state"] for k, p in events if k == "state"]
    assert states[:4] == ["starting", "running", "faulted", "running"] and states[-1] == "stopped"


# ---- model file replaced under a running station -------------------------------------------
def test_export_writes_the_model_digest_and_the_loader_checks_it(project):
    import hashlib

    from studio.inference import InspectionModel
    from studio.inference.model import list_models

    card = list_models(project)[0]
    folder = project.models_dir / card["model_id"]
    assert card["onnx_sha256"] == hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    assert InspectionModel.load(project).model_id == card["model_id"]


def test_a_model_file_replaced_while_running_keeps_running_and_a_reload_refuses_it(soak, project, tmp_path):
    from studio.inference.model import list_models

    model_id = list_models(project)[0]["model_id"]
    onnx_path = project.models_dir / model_id / "model.onnx"
    station, events = start(project, tmp_path, interval_s=0.005)
    try:
        assert until(lambda: station.stats()["parts"] >= 5)
        onnx_path.write_bytes(b"\x00garbage, not a protobuf" * 100)
        n = station.stats()["parts"]
        assert until(lambda: station.stats()["parts"] >= n + 10)
        assert station.stats()["faults"] == 0           # the loaded model goes on judging parts

        with pytest.raises(ModelError) as err:
            station.reload_model()
        assert model_id in str(err.value) and "replaced or damaged" in str(err.value)
        assert until(lambda: alerts(events, "model"), timeout=3)        # events reach views asynchronously
        refused = alerts(events, "model")
        assert refused and model_id in refused[-1]["message"] and "keeps running" in refused[-1]["message"]
        assert station.model_id == model_id and station.state == "running"
        n = station.stats()["parts"]
        assert until(lambda: station.stats()["parts"] >= n + 5)
        assert station.stats()["faults"] == 0
    finally:
        station.stop()
    logged = assert_nothing_lost(station)
    assert {r["verdict"] for r in logged} <= {"pass", "reject"}

    # a restart refuses it too, naming the model; nothing starts
    again = Station(project, SIM, plc=SimPlc(), data_dir=tmp_path / "data")
    with pytest.raises(ModelError, match=model_id):
        again.start()
    assert again.state == "stopped" and again.pipeline is None
    assert len(rows(again)) == len(logged)             # the log is untouched

    # another valid model put in its place is refused as well: only the digest can tell
    other = soak.darkness_onnx().replace(b"darkness", b"darkneSS")
    onnx_path.write_bytes(other)
    with pytest.raises(ModelError, match="not the one its card was written for"):
        Station(project, SIM, plc=SimPlc(), data_dir=tmp_path / "data").start()


def test_a_reload_takes_a_good_model_from_the_next_part(project, tmp_path):
    station, events = start(project, tmp_path, interval_s=0.005)
    try:
        assert until(lambda: station.stats()["parts"] >= 3)
        assert station.reload_model() == station.model_id
        n = station.stats()["parts"]
        assert until(lambda: station.stats()["parts"] >= n + 3)
    finally:
        station.stop()
    assert_nothing_lost(station)
    assert any("loaded" in a["message"] for a in alerts(events))


def test_a_card_without_a_digest_still_refuses_garbage_by_name(project):
    import json

    from studio.inference import InspectionModel
    from studio.inference.model import list_models

    model_id = list_models(project)[0]["model_id"]
    folder = project.models_dir / model_id
    card = json.loads((folder / "card.json").read_text())
    del card["onnx_sha256"]                             # a card from before digests
    (folder / "card.json").write_text(json.dumps(card))
    (folder / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelError, match=f"cannot load the model {model_id}"):
        InspectionModel.load(project)


# ---- the clock steps back -------------------------------------------------------------------
class SteppingModel:
    """The real model; while it judges part ``at``, NTP steps the wall clock by ``seconds``."""

    def __init__(self, model, wall, at, seconds):
        self.model, self.wall, self.at, self.seconds = model, wall, at, seconds
        self.model_id, self.threshold, self.card = model.model_id, model.threshold, model.card
        self.calls = 0

    def predict(self, image):
        self.calls += 1
        if self.calls == self.at:
            self.wall.step(self.seconds)
        return self.model.predict(image)


def test_the_wall_clock_stepping_back_breaks_nothing(project, tmp_path):
    from studio.inference import InspectionModel
    from studio.results.reader import ResultReader

    wall = SteppableClock()
    model = SteppingModel(InspectionModel.load(project), wall, at=10, seconds=-3600.0)
    station, events = start(project, tmp_path, model=model, clock=StationClock(wall=wall), max_parts=30,
                            interval_s=0.005)
    assert station.wait(30) is True
    station.stop()
    logged = assert_nothing_lost(station)
    assert len(logged) == 30
    stepped = alerts(events, "station")
    assert len(stepped) == 1 and "stepped back by 3600.0 s" in stepped[0]["message"]
    # durations come from the monotonic clock: positive, small, in order within each part
    assert all(0 < r["latency_ms"] < 5000 for r in logged)
    assert all(r["t_trigger"] <= r["t_captured"] <= r["t_decided"] <= r["t_actuated"] for r in logged)
    assert logged[9]["t_actuated"] - logged[9]["t_trigger"] < 5     # the part judged during the step
    later = [r for r in logged if r["part"] > 10 + 2 + 2]   # acquisition runs up to two queues of two ahead
    assert all(r["t_trigger"] < logged[0]["t_trigger"] - 3000 for r in later)      # the log tells the truth
    # no image overwritten: one file per part, each named after its part
    paths = [r["image_path"] for r in logged]
    assert len(set(paths)) == 30 and all((station.data_dir / p).is_file() for p in paths)
    assert all(f"part-{r['part']:06d}" in r["image_path"] for r in logged)
    # figures stay sane: the per-hour reject rates count every part once, rates in 0..1
    reader = ResultReader(station.log_path)
    hours = reader.reject_rate_per_hour(24, now=wall())
    reader.close()
    assert sum(h["parts"] for h in hours) == 30 and all(0.0 <= h["rate"] <= 1.0 for h in hours)
    stats = station.stats()
    assert stats["parts"] == 30 and 0.0 <= stats["reject_rate"] <= 1.0 and stats["latency_ms_median"] > 0


def test_the_clock_reports_steps_both_ways():
    wall, seen = SteppableClock(), []
    clock = StationClock(wall=wall, on_step=seen.append)
    clock.wall()
    wall.step(-5.0)
    clock.wall()
    wall.step(0.2)                  # NTP slews small differences: not a step
    clock.wall()
    wall.step(120.0)
    clock.check()
    assert [round(s) for s in seen] == [-5, 120] and clock.steps == seen


# ---- the fault table ------------------------------------------------------------------------
def test_the_fault_table_in_the_architecture_is_the_one_in_the_code():
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert faults.markdown_table() in text
    kinds = {"camera", "model", "plc", "log", "station"}
    assert all(any(f"`{k}`" in f.alarm for f in faults.FAULTS) for k in kinds)
    assert faults.stage_kind("inference") == "model" and faults.stage_kind("acquisition") == "camera"
    assert np.isnan(faults.in_flight_fault(3, "hung", model_id="m", t_trigger=1.0).score)


# ---- model hang: the station comes back when the model answers ------------------------------
class HangingModel:
    """The real model; on call ``at`` it hangs until released (a stuck GPU call that comes back)."""

    def __init__(self, model, at):
        import threading

        self.model, self.at = model, at
        self.model_id, self.threshold, self.card = model.model_id, model.threshold, model.card
        self.release = threading.Event()
        self.calls = 0

    def predict(self, image):
        self.calls += 1
        if self.calls == self.at:
            self.release.wait(20)
        return self.model.predict(image)


def test_a_model_hang_faults_the_part_and_the_station_recovers_when_the_model_answers(project, tmp_path):
    from studio.inference import InspectionModel

    model = HangingModel(InspectionModel.load(project), at=4)
    station, events = start(project, tmp_path, model=model, interval_s=0.005, heartbeat_s=0.05, hang_s=0.3,
                            max_parts=12)
    try:
        assert until(lambda: station.state == "faulted", timeout=10)
        assert station.plc.registers()[rm.STATE] == rm.STATE_FAULTED
        # the hung part is rejected as soon as the parts before it are through
        assert until(lambda: station.plc.registers()[1:3] == [4, rm.VERDICT_FAULT], timeout=2)
        assert station.wait(0.3) is False                                # waiting for the model, not ended
        model.release.set()                                              # the model answers again
        assert station.wait(20) is True, station.stats()                 # ... and the 12 parts get done
    finally:
        model.release.set()
        station.stop()
    logged = assert_nothing_lost(station)
    assert [r["part"] for r in logged] == list(range(1, 13))
    assert [r["part"] for r in logged if r["verdict"] == "fault"] == [4]
    assert "busy with part 4" in logged[3]["note"] and model.model_id in logged[3]["note"]
    stuck = [a["message"] for a in alerts(events, "model")]
    assert stuck and "part 4" in stuck[0] and model.model_id in stuck[0]
    assert any("answers again" in a["message"] for a in alerts(events, "model-back"))
    assert station.recoveries == station.stats()["recoveries"] == 1 and station.stats()["parts"] == 12
    states = [p["state"] for k, p in events if k == "state"]
    assert states == ["starting", "running", "faulted", "running", "stopped"]


def test_a_model_that_never_answers_again_leaves_the_station_stopped(project, tmp_path):
    from studio.inference import InspectionModel

    model = HangingModel(InspectionModel.load(project), at=3)
    station, events = start(project, tmp_path, model=model, interval_s=0.005, heartbeat_s=0.05, hang_s=0.3,
                            recover_s=0.5)
    try:
        assert station.wait(10) is False and station.state == "faulted"
        assert station._ended.is_set()                  # final: `station run` exits with its fault code
        # the alert reaches subscribers through the event pump's thread: a moment after the end
        assert until(lambda: any("did not answer within 0.5 s" in a["message"] for a in alerts(events, "model")))
    finally:
        model.release.set()
        station.stop()
    assert station.plc.registers()[rm.STATE] == rm.STATE_FAULTED
    logged = assert_nothing_lost(station)
    assert logged[-1]["part"] == 3 and logged[-1]["verdict"] == "fault"


def test_a_hardware_triggered_camera_failing_gives_no_part():
    """On a hardware trigger a grab waits for a part: its failure says nothing about a part in flight."""
    import threading
    from types import SimpleNamespace

    from studio.core.errors import CameraError
    from studio.station.camera_feed import CameraFeed, MissedFrame

    class Camera:
        def __init__(self, mode):
            self.mode, self.grabs = mode, 0

        def open(self):
            pass

        def close(self):
            pass

        def grab(self, timeout):
            self.grabs += 1
            if self.grabs == 1:
                raise CameraError("no frame within 2 s")
            return SimpleNamespace(image=np.zeros((4, 4), np.uint8), frame_id=self.grabs, meta={})

    for mode, first in (("free", MissedFrame), ("hardware", SimpleNamespace)):
        feed = CameraFeed("x", camera=Camera(mode), retry_s=(0.01,))
        got = feed.grab(threading.Event())
        assert isinstance(got, first), mode
        assert feed.errors == 1 and feed.missed == (1 if mode == "free" else 0)
