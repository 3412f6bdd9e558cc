"""Triggers and the PLC watch on a running station: hardware-trigger pauses, PLC triggers over Modbus
(server and client), the PLC heartbeat watchdog, a PLC that stops polling, a lost link."""
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from studio.core.errors import CameraError, CameraTimeout, StudioError
from studio.plc import register_map as rm
from studio.plc.base import PlcLink
from studio.plc.sim import SimPlc
from tests.modbus_plc import PlcServer, PollingPlc, free_port
from tests.test_station import expected_verdict, make, rows, until


@pytest.fixture
def project(demo_project):
    return demo_project


def station_yaml(project, **settings):
    (project.root / "station.yaml").write_text(yaml.safe_dump(settings))


def alerts(events, level=None):
    return [p["message"] for k, p in events if k == "alert" and (level is None or p["level"] == level)]


class PausingCamera:
    """A hardware-triggered camera: frame n comes at ``times[n]`` seconds after the first grab; a grab
    that sees no frame within its timeout raises CameraTimeout, as the GenICam backend does. ``ping``
    answers a feature read unless ``lost`` is set."""

    def __init__(self, times):
        self.times = list(times)
        self.t0 = None
        self.sent = 0
        self.timeouts = 0
        self.lost = False
        self.pings = 0

    def open(self):
        pass

    def ping(self):
        self.pings += 1
        if self.lost:
            raise CameraError("camera does not answer a feature read")

    def grab(self, timeout=2.0):
        if self.t0 is None:
            self.t0 = time.monotonic()
        if self.sent >= len(self.times):
            time.sleep(timeout)
            self.timeouts += 1
            raise CameraTimeout(f"no frame within {timeout:g} s")
        due = self.t0 + self.times[self.sent]
        wait = due - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            self.timeouts += 1
            raise CameraTimeout(f"no frame within {timeout:g} s")
        time.sleep(max(0.0, wait))
        self.sent += 1
        image = np.full((24, 32, 3), self.sent % 256, np.uint8)
        return SimpleNamespace(image=image, frame_id=self.sent, timestamp=time.time(), meta={})

    def close(self):
        pass


# ---- hardware trigger -------------------------------------------------------
def test_a_hardware_trigger_waits_out_long_pauses_without_a_fault(project, tmp_path):
    camera = PausingCamera([0.0, 0.05, 1.0, 1.05, 1.1, 2.0])   # pauses of 0.95 and 0.9 s, grab timeout 0.2 s
    station, events = make(project, tmp_path, camera=camera, trigger="hardware", grab_timeout_s=0.2,
                           max_parts=6, heartbeat_s=0.05)
    states = []
    station.events.subscribe(lambda kind, p: kind == "state" and states.append(p["state"]))
    assert station.run(timeout=20) is True
    assert camera.timeouts >= 6 and camera.pings == camera.timeouts     # it waited, asking the camera each time
    assert "faulted" not in states and station.fault is None
    stats = station.stats()
    assert stats["camera_errors"] == 0 and stats["trigger_pauses"] == camera.timeouts
    assert not alerts(events, "error")
    assert [a for a in alerts(events) if "camera" in a or "no part" in a or "trigger" in a] == []
    logged = rows(station)
    assert [r["frame_id"] for r in logged] == [1, 2, 3, 4, 5, 6]       # every frame exactly one part
    assert [r["part"] for r in logged] == [1, 2, 3, 4, 5, 6]
    assert [r["verdict"] for r in logged] == [expected_verdict(i) for i in range(1, 7)]


def test_the_camera_setting_trigger_hardware_implies_waiting(project, tmp_path):
    project.camera_settings["trigger"] = "hardware"
    station, _ = make(project, tmp_path, camera=PausingCamera([0.0]), max_parts=1)
    assert station.trigger == "hardware"


def test_without_a_hardware_trigger_the_same_timeout_is_a_camera_error(project, tmp_path):
    camera = PausingCamera([0.0, 0.6])
    station, events = make(project, tmp_path, camera=camera, grab_timeout_s=0.2, max_parts=2)
    assert station.trigger == "free"
    assert station.run(timeout=20) is True
    assert station.stats()["camera_errors"] >= 1
    assert any("camera error" in a for a in alerts(events, "error"))


def test_a_camera_lost_during_a_pause_is_a_camera_fault(project, tmp_path):
    camera = PausingCamera([0.0, 1.5])
    station, events = make(project, tmp_path, camera=camera, trigger="hardware", grab_timeout_s=0.1,
                           max_parts=2, heartbeat_s=0.05)
    station.start()
    try:
        assert until(lambda: camera.sent == 1 and camera.timeouts >= 1)
        camera.lost = True                          # the next feature read fails: a real loss
        assert until(lambda: station.state == "faulted")
        assert until(lambda: any("does not answer a feature read" in a for a in alerts(events, "error")))
        camera.lost = False                         # it answers again: back to running, no part invented
        assert station.wait(15) is True
    finally:
        station.stop()
    assert station.stats()["camera_errors"] >= 1 and [r["frame_id"] for r in rows(station)] == [1, 2]


def test_trigger_timeout_alerts_once_per_pause(project, tmp_path):
    station_yaml(project, trigger="hardware", trigger_timeout_s=0.6)
    camera = PausingCamera([0.0, 1.8, 1.85])
    station, events = make(project, tmp_path, camera=camera, grab_timeout_s=0.2, max_parts=3, heartbeat_s=0.05)
    assert station.trigger_timeout_s == 0.6
    assert station.run(timeout=20) is True
    no_part = [a for a in alerts(events, "warning") if "no part for" in a]
    assert len(no_part) == 1 and "trigger_timeout_s: 0.6" in no_part[0]
    assert any("parts come again" in a for a in alerts(events, "info"))
    assert station.fault is None and station.stats()["no_part_alerts"] == 1
    assert len(rows(station)) == 3


@pytest.mark.parametrize("settings, field", [
    ({"trigger": "laser"}, "trigger"),
    ({"trigger_timeout_s": "soon"}, "trigger_timeout_s"),
    ({"plc_timeout_s": -1}, "plc_timeout_s"),
    ({"plc_timeout_policy": "panic"}, "plc_timeout_policy"),
])
def test_bad_trigger_settings_say_what_to_write(project, tmp_path, settings, field):
    station_yaml(project, **settings)
    with pytest.raises(StudioError) as err:
        make(project, tmp_path)
    assert f"field '{field}'" in str(err.value) and "What to do" in str(err.value)


def test_plc_trigger_needs_a_link_that_triggers(project, tmp_path):
    class ReadOnlyLink(SimPlc):
        supports_trigger = False

    station, _ = make(project, tmp_path, plc=ReadOnlyLink(), trigger="plc")
    with pytest.raises(StudioError, match="needs a PLC link that can trigger"):
        station.start()
    assert station.state == "stopped"


# ---- PLC trigger ---------------------------------------------------------------
def test_plc_trigger_over_the_modbus_handshake(project, tmp_path):
    port = free_port()
    station, events = make(project, tmp_path, plc=None, plc_spec=f"modbus-server://127.0.0.1:{port}",
                           trigger="plc", heartbeat_s=0.05)
    station.start()
    plc = PollingPlc(port)
    try:
        time.sleep(0.3)
        assert rows(station) == []                  # no trigger, no part
        valid = 0
        for n in range(1, 6):
            assert until(lambda: plc.status()[0] == 1)          # TriggerReady
            plc.fire(f"LOT7-{n:04d}")
            st = plc.wait_result(valid)
            valid = st[rm.RESULT_VALID - rm.TRIGGER_READY]
            assert st[rm.TRIGGER_ACK - rm.TRIGGER_READY] == plc.trigger
            assert rm.part_id_text(st[rm.RESULT_PART_ID - rm.TRIGGER_READY:]) == f"LOT7-{n:04d}"
            assert st[rm.RESULT_PART_COUNTER - rm.TRIGGER_READY] == n
            assert st[rm.RESULT_VERDICT - rm.TRIGGER_READY] == rm.VERDICT_CODES[expected_verdict(n)]
            assert plc.read(1, 2) == [n, rm.VERDICT_CODES[expected_verdict(n)]]
        assert until(lambda: len(rows(station)) == 5)
        logged = rows(station)
        assert [r["part_id"] for r in logged] == [f"LOT7-{n:04d}" for n in range(1, 6)]
        assert [r["verdict"] for r in logged] == [expected_verdict(n) for n in range(1, 6)]
        assert plc.status()[rm.RESULTS_UNACKED - rm.TRIGGER_READY] == 0
        # the events reach subscribers through their own thread (station.dispatch), after the log has the row
        assert until(lambda: sum(k == "part" for k, _ in events) >= 5)
        parts = [p["result"] for k, p in events if k == "part"]
        assert [r.part_id for r in parts] == [f"LOT7-{n:04d}" for n in range(1, 6)]
    finally:
        plc.close()
        station.stop(timeout=5)
    assert station.fault is None
    assert station.plc is None or station.plc.handshake_registers()[rm.TRIGGER_READY - rm.HANDSHAKE] == 0


def test_stop_while_waiting_for_a_plc_trigger_is_prompt(project, tmp_path):
    station, _ = make(project, tmp_path, trigger="plc")
    station.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    station.stop(timeout=5)
    assert time.monotonic() - t0 < 2.0 and station.fault is None and rows(station) == []


def test_plc_trigger_through_a_plc_that_is_a_modbus_server(project, tmp_path):
    plc = PlcServer().start()
    base = 200
    station, events = make(project, tmp_path, plc=None, trigger="plc", heartbeat_s=0.05,
                           plc_spec=f"modbus-client://127.0.0.1:{plc.port}?unit=1&base={base}")
    station.start()
    try:
        assert until(lambda: plc.read(base + rm.TRIGGER_READY, 1) == [1])
        plc.write(base + rm.PART_ID_IN, rm.part_id_words("C-1"))
        plc.write(base + rm.TRIGGER, [1])
        assert until(lambda: plc.read(base + rm.RESULT_VALID, 1) == [1])
        assert rm.part_id_text(plc.read(base + rm.RESULT_PART_ID, 8)) == "C-1"
        assert plc.read(base + rm.TRIGGER_ACK, 1) == [1] and plc.read(base + 1, 1) == [1]
        assert until(lambda: [r["part_id"] for r in rows(station)] == ["C-1"])
        # the PLC goes away: a lost-link alert, and the station goes on
        plc.stop()
        assert until(lambda: any("lost link to the PLC" in a for a in alerts(events, "error")))
        assert station.state == "running" and station.stats()["plc_link"].startswith("lost link")
    finally:
        station.stop(timeout=5)
        plc.stop()


# ---- the PLC watch --------------------------------------------------------------
def test_without_plc_timeout_the_station_says_it_cannot_tell(project, tmp_path):
    station, events = make(project, tmp_path, max_parts=2)
    assert station.run(timeout=20) is True
    assert any("cannot tell whether the PLC listens" in a for a in alerts(events, "warning"))
    assert station.stats()["plc_listening"] is None
    assert "PLC heartbeat not watched" in station.describe()


def test_a_plc_heartbeat_that_stops_is_an_alert_and_comes_back(project, tmp_path):
    station_yaml(project, plc_timeout_s=0.6)
    plc = SimPlc()
    station, events = make(project, tmp_path, plc=plc, interval_s=0.05, heartbeat_s=0.05)
    stop_beating = threading.Event()

    def plc_program():
        beat = 0
        while not stop_beating.wait(0.05):
            beat += 1
            plc.plc_write(rm.PLC_HEARTBEAT, [beat])

    beater = threading.Thread(target=plc_program, daemon=True)
    station.start()
    beater.start()
    try:
        time.sleep(1.0)
        assert station.stats()["plc_listening"] is True
        assert not [a for a in alerts(events) if "PLC heartbeat" in a]
        stop_beating.set()
        assert until(lambda: station.stats()["plc_listening"] is False)
        # alerts reach subscribers on the station's event thread, after the figures change
        assert until(lambda: any("PLC heartbeat has not changed" in a and "plc_timeout_s: 0.6" in a
                                 for a in alerts(events, "error")))
        assert station.state == "running" and station.fault is None      # policy alert: inspection goes on
        plc.plc_write(rm.PLC_HEARTBEAT, [999])
        assert until(lambda: station.stats()["plc_listening"] is True)
        assert until(lambda: any("PLC heartbeat moves again" in a for a in alerts(events, "info")))
        assert station.stats()["plc_timeouts"] == 1
    finally:
        stop_beating.set()
        station.stop()


def test_a_plc_that_never_beats_halts_the_station_by_policy(project, tmp_path):
    station_yaml(project, plc_timeout_s=0.3, plc_timeout_policy="halt")
    plc = SimPlc()
    station, events = make(project, tmp_path, plc=plc, interval_s=0.05, heartbeat_s=0.05)
    station.start()
    try:
        assert until(lambda: station.state == "faulted")
        assert "has not written its heartbeat" in station.fault and "halts" in station.fault
        assert plc.registers()[rm.STATE] == rm.STATE_FAULTED
        beats = plc.registers()[rm.HEARTBEAT]
        time.sleep(0.2)
        assert plc.registers()[rm.HEARTBEAT] == beats        # frozen: the PLC side sees the halt
    finally:
        station.stop()


def test_a_plc_that_stops_polling_is_noticed(project, tmp_path):
    station_yaml(project, plc_timeout_s=0.8)
    port = free_port()
    station, events = make(project, tmp_path, plc=None, plc_spec=f"modbus-server://127.0.0.1:{port}",
                           interval_s=0.05, heartbeat_s=0.05)
    station.start()
    plc = PollingPlc(port)
    try:
        for _ in range(10):
            plc.read(0, 5)
            plc.heartbeat()
            time.sleep(0.03)
        assert not [a for a in alerts(events) if "polled" in a]
        plc.close()                                  # the PLC stops polling (and beating)
        assert until(lambda: any("no PLC has polled" in a for a in alerts(events, "warning")))
        assert until(lambda: any("PLC heartbeat has not changed" in a for a in alerts(events, "error")))
    finally:
        station.stop()


def test_a_link_without_a_plc_heartbeat_reads_as_never_written(project, tmp_path):
    assert PlcLink.plc_heartbeat_age(SimPlc()) is None


def test_a_genicam_camera_answers_a_feature_read_until_it_is_gone():
    """The real feature read behind "is the camera still there?" (viky: the virtual GenICam producer)."""
    import harvesters.core  # noqa: F401  a core dependency: a broken install fails, never skips
    import importlib.util
    from pathlib import Path

    from studio.capture.camera import open_camera

    spec = importlib.util.find_spec("genicam")
    if spec is None or not (Path(spec.origin).parent / "viky.cti").is_file():
        pytest.skip("the genicam wheel has no viky.cti here")
    cam = open_camera("genicam:viky#1")
    try:
        cam.grab(timeout=3)
        cam.ping()                                  # alive: answers
        cam._acquirer.destroy()                     # the device goes away
        with pytest.raises(CameraError, match="does not answer a feature read"):
            cam.ping()
    finally:
        cam.close()


def test_trigger_hardware_arms_a_genicam_cameras_trigger_input(project, tmp_path):
    """station.yaml's trigger: hardware reaches the GenICam camera (viky has no trigger input: said clearly)."""
    import harvesters.core  # noqa: F401  a core dependency: a broken install fails, never skips
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("genicam")
    if spec is None or not (Path(spec.origin).parent / "viky.cti").is_file():
        pytest.skip("the genicam wheel has no viky.cti here")
    station_yaml(project, trigger="hardware")
    station, _ = make(project, tmp_path, camera=None, camera_spec="genicam:viky")
    with pytest.raises(CameraError, match="no trigger input"):
        station.start()
    assert station.state == "stopped"


def test_a_result_log_from_before_part_ids_gets_the_column(tmp_path):
    import sqlite3

    from studio.results import schema
    from studio.results.log import ResultLog
    from studio.station.part import PartResult

    path = tmp_path / "results.sqlite"
    old = sqlite3.connect(path)
    old.executescript(schema._RESULTS_V1)          # the schema before part ids (version 1)
    old.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    old.execute("INSERT INTO results (part, verdict) VALUES (1, 'pass')")
    old.commit()
    old.close()
    log = ResultLog(path)
    log.append(PartResult(part=2, frame_id=2, part_id="LOT-2", verdict="pass", verdict_code=1, score=0.1))
    assert log.flush(10)
    log.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT part, part_id FROM results ORDER BY part").fetchall() == [(1, ""), (2, "LOT-2")]
    con.close()
