"""The station runtime with stand-in cameras and models: parts, faults, log, PLC registers, heartbeat."""
import math
import socket
import sqlite3
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from waiting import until  # noqa: F401  (other test files import it from here too)

from studio.core.errors import CameraError
from studio.plc import register_map as rm
from studio.plc.sim import SimPlc
from studio.station import Station, resolve_data_dir
from studio.station import camera_feed
from studio.station.decide import decide


# ---- stand-ins with the capture and inference interfaces ------------------
class FakeCamera:
    """Frame n is filled with n % 256; ``fail_on`` grabs raise a CameraError."""

    def __init__(self, fail_on=()):
        self.grabs = 0
        self.frame_id = 0
        self.fail_on = set(fail_on)
        self.opened = 1
        self.closed = 0

    def open(self):
        self.opened += 1

    def grab(self, timeout=2.0):
        self.grabs += 1
        if self.grabs in self.fail_on:
            raise CameraError("frame timeout (cable unplugged?)")
        self.frame_id += 1
        image = np.full((24, 32, 3), self.frame_id % 256, np.uint8)
        return SimpleNamespace(image=image, frame_id=self.frame_id, timestamp=time.time(), meta={})

    def close(self):
        self.closed += 1


def score_of(frame_value):
    return (frame_value % 5) / 4.0      # 0, .25, .5, .75, 1: with threshold .6, values 3 and 4 reject


class FakeModel:
    model_id = "20240501-anomaly"
    task = "anomaly"
    threshold = 0.6
    card = {}

    def __init__(self, raise_on=(), hang_on=(), delay_s=0.0):
        self.raise_on, self.hang_on, self.delay_s = set(raise_on), set(hang_on), delay_s
        self.calls = 0
        self.release = threading.Event()

    def predict(self, image):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.calls in self.raise_on:
            raise RuntimeError("CUDA error: an illegal memory access")
        if self.calls in self.hang_on:
            self.release.wait(10)
        score = score_of(int(image[0, 0, 0]))
        defective = score >= self.threshold
        return SimpleNamespace(score=score, defective=defective, defect_class="scratch" if defective else None,
                               class_id=1 if defective else 0, anomaly_map=None)


def expected_verdict(frame_id):
    return "reject" if score_of(frame_id) >= FakeModel.threshold else "pass"


@pytest.fixture
def project(demo_project):
    return demo_project


def make(project, tmp_path, **kw):
    kw.setdefault("model", FakeModel())
    kw.setdefault("camera", FakeCamera())
    kw.setdefault("plc", SimPlc())
    kw.setdefault("data_dir", tmp_path / "station-data")
    station = Station(project, **kw)
    events = []
    station.events.subscribe(lambda kind, payload: events.append((kind, payload)))
    return station, events


def rows(station):
    con = sqlite3.connect(station.log_path)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute("SELECT * FROM results ORDER BY part")]
    con.close()
    return out




# ---- a run --------------------------------------------------------------
def test_twenty_parts_end_to_end(project, tmp_path):
    model = FakeModel(delay_s=0.002)
    station, events = make(project, tmp_path, model=model, max_parts=20)
    assert station.run(timeout=30) is True

    logged = rows(station)
    assert [r["part"] for r in logged] == list(range(1, 21))
    assert [r["verdict"] for r in logged] == [expected_verdict(r["frame_id"]) for r in logged]
    assert all(r["verdict_code"] == rm.VERDICT_CODES[r["verdict"]] for r in logged)
    assert all(r["model_id"] == FakeModel.model_id for r in logged)
    assert all((station.data_dir / r["image_path"]).is_file() for r in logged)
    assert all(r["t_trigger"] <= r["t_captured"] <= r["t_decided"] <= r["t_actuated"] for r in logged)
    assert all(r["latency_ms"] > 0 for r in logged)

    last = logged[-1]
    regs = station.plc.registers()
    assert regs[1:5] == [20, last["verdict_code"], round(last["score"] * 1000), last["class_id"]]
    assert regs[rm.STATE] == rm.STATE_STOPPED and regs[rm.MODEL] == rm.model_short_id(FakeModel.model_id)
    assert [p.part for p in station.plc.history] == list(range(1, 21))   # each part reached the PLC once

    parts = [p["result"] for k, p in events if k == "part"]
    assert [r.part for r in parts] == list(range(1, 21))
    assert [r.verdict for r in parts] == [r["verdict"] for r in logged]
    assert parts[0].image_path == logged[0]["image_path"]
    states = [p["state"] for k, p in events if k == "state"]
    assert states == ["starting", "running", "stopped"]

    stats = station.stats()
    assert stats["parts"] == 20 == stats["passed"] + stats["rejected"] + stats["faults"]
    assert stats["rejected"] == sum(r["verdict"] == "reject" for r in logged) and stats["faults"] == 0
    assert stats["reject_rate"] == pytest.approx(stats["rejected"] / 20)
    latencies = sorted(r["latency_ms"] for r in logged)
    assert stats["latency_ms_median"] == pytest.approx(float(np.median(latencies)), abs=0.01)
    assert latencies[0] <= stats["latency_ms_p99"] <= latencies[-1] + 0.01


def test_a_model_error_is_a_fault_and_the_station_goes_on(project, tmp_path):
    station, events = make(project, tmp_path, model=FakeModel(raise_on={5}), max_parts=20)
    assert station.run(timeout=30) is True
    logged = rows(station)
    assert len(logged) == 20
    fifth = logged[4]
    assert (fifth["verdict"], fifth["verdict_code"], fifth["score"]) == ("fault", 3, None)
    assert "CUDA error" in fifth["note"] and fifth["class_id"] == 0
    assert [r["verdict"] for r in logged[5:]] == [expected_verdict(r["frame_id"]) for r in logged[5:]]
    plc_seen = {p.part: p.verdict_code for p in station.plc.history}
    assert plc_seen[5] == rm.VERDICT_FAULT          # the PLC was told: reject it
    stats = station.stats()
    assert stats["faults"] == 1 and stats["parts"] == 20
    assert stats["reject_rate"] == pytest.approx((stats["rejected"] + 1) / 20)
    assert any(k == "alert" and "part 5 is a fault" in p["message"] and p["level"] == "error"
               for k, p in events)
    assert station.plc.registers()[1] == 20


def test_part_numbers_continue_in_the_same_data_directory(project, tmp_path):
    first, _ = make(project, tmp_path, max_parts=3)
    assert first.run(timeout=30)
    second, _ = make(project, tmp_path, max_parts=2)
    assert second.run(timeout=30)
    assert [r["part"] for r in rows(second)] == [1, 2, 3, 4, 5]    # image names stay unique
    assert second.plc.registers()[1] == 5


def test_stop_finishes_the_parts_already_taken(project, tmp_path):
    station, events = make(project, tmp_path, interval_s=0.01, model=FakeModel(delay_s=0.01))
    station.start()
    assert until(lambda: station.stats()["parts"] >= 5)
    station.stop()
    station.stop()                      # idempotent
    n = station.stats()["parts"]
    assert station.pipeline is None and station.state == "stopped"
    assert [r["part"] for r in rows(station)] == list(range(1, n + 1))     # every part taken was inspected
    assert len([1 for k, _ in events if k == "part"]) == n
    assert station.plc.registers()[rm.STATE] == rm.STATE_STOPPED
    assert station.wait(0) is False     # stopped by hand, not finished


def test_slow_inference_makes_acquisition_wait(project, tmp_path):
    camera = FakeCamera()
    station, _ = make(project, tmp_path, camera=camera, model=FakeModel(delay_s=0.03))
    station.start()
    try:
        time.sleep(0.3)
        taken, done = camera.grabs, station.stats()["parts"]
        # two queues of two, plus one part in each stage: nothing piles up, nothing is dropped
        assert taken - done <= 2 + 2 + 3, (taken, done)
    finally:
        station.stop()
    assert [r["part"] for r in rows(station)] == list(range(1, camera.grabs + 1))


def test_camera_errors_retry_without_inventing_parts(project, tmp_path, monkeypatch):
    monkeypatch.setattr(camera_feed, "RETRY_S", (0.05, 0.1))
    camera = FakeCamera(fail_on={3, 4})
    station, events = make(project, tmp_path, camera=camera, max_parts=6)
    assert station.run(timeout=30) is True
    logged = rows(station)
    assert [r["part"] for r in logged] == [1, 2, 3, 4, 5, 6]
    # the part in front of the camera when it failed is a fault; the retry during the outage gave no part
    assert [r["frame_id"] for r in logged] == [1, 2, 0, 3, 4, 5]
    assert logged[2]["verdict"] == "fault" and "camera failed" in logged[2]["note"] and logged[2]["image_path"] is None
    assert {p.part: p.verdict_code for p in station.plc.history}[3] == rm.VERDICT_FAULT
    assert camera.grabs == 7 and camera.closed >= 1 and camera.opened >= 2
    alerts = [p["message"] for k, p in events if k == "alert"]
    assert any("camera error" in a and "reopening" in a for a in alerts)
    assert any("camera is back" in a for a in alerts)
    states = [p["state"] for k, p in events if k == "state"]
    assert states == ["starting", "running", "faulted", "running", "stopped"]
    assert station.stats()["camera_errors"] == 2


# ---- heartbeat --------------------------------------------------------------
def heartbeat_moves(plc, seconds):
    before = plc.registers()[rm.HEARTBEAT]
    time.sleep(seconds)
    return plc.registers()[rm.HEARTBEAT] != before


def test_heartbeat_advances_while_running_and_stops_with_the_station(project, tmp_path):
    station, _ = make(project, tmp_path, interval_s=0.02, heartbeat_s=0.05)
    station.start()
    try:
        assert until(lambda: station.plc.registers()[rm.HEARTBEAT] >= 4, timeout=3)
        assert station.plc.registers()[rm.STATE] == rm.STATE_RUNNING
    finally:
        station.stop()
    assert station.plc.registers()[rm.HEARTBEAT] == 1 + station.heartbeat.beats     # one beat at start
    assert not heartbeat_moves(station.plc, 0.25)
    assert station.plc.registers()[rm.STATE] == rm.STATE_STOPPED


def test_heartbeat_stops_after_max_parts(project, tmp_path):
    station, _ = make(project, tmp_path, max_parts=3, heartbeat_s=0.05)
    station.start()
    try:
        assert station.wait(10) is True
        assert station.state == "stopped" and station.plc.registers()[rm.STATE] == rm.STATE_STOPPED
        assert not heartbeat_moves(station.plc, 0.25)       # the PLC link is still up, but silent
        assert station.plc.registers()[1] == 3
    finally:
        station.stop()


def test_a_hung_model_faults_the_station_and_freezes_the_heartbeat(project, tmp_path):
    model = FakeModel(hang_on={3})
    # recover_s=0: a hang is final at once (tests/test_station_faults.py has the recovery)
    station, events = make(project, tmp_path, model=model, interval_s=0.01, heartbeat_s=0.05, hang_s=0.3,
                           recover_s=0)
    station.start()
    try:
        assert until(lambda: station.plc.registers()[rm.HEARTBEAT] >= 1)
        assert until(lambda: station.state == "faulted", timeout=5)
        assert station.plc.registers()[rm.STATE] == rm.STATE_FAULTED
        assert "inference has been busy with part 3" in station.fault
        assert not heartbeat_moves(station.plc, 0.3)
        assert station.wait(1) is False
        assert any(k == "alert" and "stuck" in p["message"] for k, p in events)
    finally:
        model.release.set()
        station.stop()
    assert station.plc.registers()[rm.STATE] == rm.STATE_FAULTED     # the post-mortem still shows why
    # the part the model hung on is a fault, for the PLC and in the log; nothing after it was published
    assert [(r["part"], r["verdict"]) for r in rows(station)][2:] == [(3, "fault")]
    assert [r["part"] for r in rows(station)] == [1, 2, 3] and "busy with part 3" in rows(station)[2]["note"]
    assert station.plc.history[-1].part == 3 and station.plc.history[-1].verdict_code == rm.VERDICT_FAULT
    assert station.plc.registers()[1:3] == [3, rm.VERDICT_FAULT]
    assert any(k == "alert" and p["key"] == "model" and "model 20240501-anomaly" in p["message"]
               for k, p in events)


class FlakyPlc(SimPlc):
    def __init__(self, fail_on_part):
        super().__init__()
        self.fail_on_part = fail_on_part

    def publish(self, part, verdict_code, score, class_id, **kw):
        if part == self.fail_on_part:
            raise ConnectionError("PLC link lost")
        super().publish(part, verdict_code, score, class_id, **kw)


def test_a_failed_plc_write_faults_the_station(project, tmp_path):
    plc = FlakyPlc(fail_on_part=4)
    station, events = make(project, tmp_path, plc=plc, interval_s=0.01, heartbeat_s=0.05)
    station.start()
    try:
        assert until(lambda: station.state == "faulted")
        assert station.wait(2) is False
        assert not heartbeat_moves(plc, 0.25)
        assert plc.registers()[rm.STATE] == rm.STATE_FAULTED and plc.registers()[1] == 3
    finally:
        station.stop()
    fourth = [r for r in rows(station) if r["part"] == 4][0]
    assert fourth["verdict"] == "fault" and "PLC write failed" in fourth["note"]    # never logged as a pass
    assert station.stats()["fault"].startswith("the PLC write failed for part 4")


def test_a_slow_plc_write_is_a_deadline_alert(project, tmp_path):
    class SlowPlc(SimPlc):
        def publish(self, *args, **kw):
            time.sleep(0.03)
            super().publish(*args, **kw)

    station, events = make(project, tmp_path, plc=SlowPlc(), max_parts=2, deadline_ms=10)
    assert station.run(timeout=30) is True
    assert station.stats()["deadline_misses"] == 2
    alerts = [p["message"] for k, p in events if k == "alert"]
    assert any("over the 10 ms deadline" in a for a in alerts)
    assert len([a for a in alerts if "deadline" in a]) == 1     # repeated alerts are held back


# ---- decisions --------------------------------------------------------------
def prediction(score, defective=False, class_id=0, defect_class=None):
    return SimpleNamespace(score=score, defective=defective, class_id=class_id, defect_class=defect_class)


class Scripted:
    def __init__(self, answer, threshold=0.5):
        self.answer, self.threshold = answer, threshold

    def predict(self, image):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_decide_is_fail_safe():
    assert decide(Scripted(prediction(0.2)), None).verdict == "pass"
    d = decide(Scripted(prediction(0.5, class_id=2, defect_class="dent")), None)
    assert (d.verdict, d.verdict_code, d.class_id, d.defect_class) == ("reject", 2, 2, "dent")
    assert decide(Scripted(prediction(0.1, defective=True, class_id=4)), None).class_id == 4
    # the model says "not defective" but the score is over the card's threshold: the threshold wins
    assert decide(Scripted(prediction(0.9, defective=False)), None).verdict == "reject"
    assert decide(Scripted(prediction(0.4), threshold=None), None).verdict == "pass"
    for bad in (prediction(math.nan), prediction(None), SimpleNamespace(), ValueError("no input")):
        d = decide(Scripted(bad), None)
        assert (d.verdict, d.verdict_code, d.class_id) == ("fault", 3, 0) and d.error
    # a pass never carries a defect class, whatever the model filled in
    d = decide(Scripted(prediction(0.1, class_id=3, defect_class="stain")), None)
    assert (d.verdict, d.class_id, d.defect_class) == ("pass", 0, None)


# ---- data directory ---------------------------------------------------------
def test_data_directory_rule(project, tmp_path, monkeypatch):
    monkeypatch.delenv("STUDIO_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir(project) == tmp_path / "home/.local/share/inspection-studio" / project.root.name
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(project) == tmp_path / "env"
    (project.root / "station.yaml").write_text("data_dir: ../line3-results\nplc: sim\n")
    assert resolve_data_dir(project) == project.root / "../line3-results"
    assert resolve_data_dir(project, tmp_path / "given") == tmp_path / "given"
    station = Station(project, model=FakeModel(), camera=FakeCamera())
    assert station.log_path == project.root / "../line3-results/results.sqlite"
    assert not str(station.log_path.resolve()).startswith(str(project.root))     # not inside the project


# ---- Modbus, end to end --------------------------------------------------
def test_a_plc_polling_modbus_sees_the_last_part(project, tmp_path):
    from pymodbus.client import ModbusTcpClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    station, _ = make(project, tmp_path, plc=None, plc_spec=f"modbus-server://127.0.0.1:{port}",
                      max_parts=5, heartbeat_s=0.05)
    station.start()
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
    try:
        assert station.wait(10) is True
        assert client.connect()
        regs = client.read_holding_registers(0, count=12).registers
        last = rows(station)[-1]
        assert regs[1:5] == [5, last["verdict_code"], round(last["score"] * 1000), last["class_id"]]
        assert regs[0] >= 1 and regs[rm.STATE] == rm.STATE_STOPPED
    finally:
        client.close()
        station.stop()
    with socket.socket() as s:          # the station gave the port back
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_a_failed_start_says_why_and_leaves_nothing_open(project, tmp_path):
    from studio.core.errors import StudioError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    station, events = make(project, tmp_path, camera=None, camera_spec="no-such-camera:0", plc=None,
                           plc_spec=f"modbus-server://127.0.0.1:{port}")
    with pytest.raises(StudioError, match="no-such-camera"):
        station.start()
    assert station.state == "stopped" and station.pipeline is None
    assert [p["state"] for k, p in events if k == "state"] == ["starting", "stopped"]
    with socket.socket() as s:          # the PLC server opened before the camera was closed again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
