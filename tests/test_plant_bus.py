"""The plant bus: the station's live events on a real MQTT broker (mosquitto), seen by a real subscriber."""
import sqlite3
import time

import pytest
import yaml
from mqtt_broker import Broker, Cable, Listener
from test_station import FakeCamera, FakeModel
from waiting import until

from studio.core.errors import StudioError
from studio.plant_bus import BusSettings, PlantBus, problem
from studio.plc.sim import SimPlc
from studio.station import Station

ROOT = "plant/line1/station1"


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def cable(broker):
    """A relay between the station and the broker; closed after the test's last look at the broker, so that
    the station's clean goodbye has passed through it (closed early, the broker would see a lost connection
    and publish the will)."""
    c = Cable(broker)
    yield c
    c.close()


@pytest.fixture
def listener(broker):
    sub = Listener(broker, ROOT)
    yield sub
    sub.close()


def with_bus(project, url, **mqtt):
    (project.root / "station.yaml").write_text(yaml.safe_dump(
        {"station_id": "station1", "mqtt": {"url": url, "topic_root": ROOT, "qos": 1, **mqtt}}))
    return project


def make(project, tmp_path, **kw):
    kw.setdefault("model", FakeModel())
    kw.setdefault("camera", FakeCamera())
    kw.setdefault("plc", SimPlc())
    kw.setdefault("data_dir", tmp_path / "station-data")
    return Station(project, **kw)


def logged(station):
    con = sqlite3.connect(station.log_path)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute("SELECT * FROM results ORDER BY part")]
    con.close()
    return out


# ---- the setting ---------------------------------------------------------------
def test_the_mqtt_setting_is_checked_with_what_is_wrong():
    from studio.project.station_settings import validate

    assert problem("mqtt://broker.plant:1883") is None
    assert problem({"url": "mqtts://broker", "topic_root": "plant/line1/s1", "qos": 2, "sparkplug": False,
                    "heartbeat_s": 1, "buffer": 0, "username": "s1", "password": "x"}) is None
    assert "not mqtt://HOST:PORT" in problem("http://broker:1883")
    assert "unknown key(s) topic" in problem({"url": "mqtt://b", "topic": "x"})
    assert "wildcard" in problem({"url": "mqtt://b", "topic_root": "plant/#"})
    assert "empty level" in problem({"url": "mqtt://b", "topic_root": "plant//s1"})
    assert "qos is 3" in problem({"url": "mqtt://b", "qos": 3})
    assert "no url" in problem({"topic_root": "plant"})
    assert "port" in problem("mqtt://b:99999")
    assert "password but no username" in problem({"url": "mqtt://b", "password": "x"})
    assert "buffer" in problem({"url": "mqtt://b", "buffer": -1})
    problems = validate({"mqtt": {"url": "mqtt://b", "qos": "high"}})
    assert [p.field for p in problems] == ["mqtt"] and "qos is 'high'" in problems[0].message

    s = BusSettings.parse("mqtt://broker.plant", station_id="s7")
    assert (s.host, s.port, s.topic_root, s.qos, s.tls) == ("broker.plant", 1883, "studio/s7", 1, False)
    assert BusSettings.parse("mqtts://b", "s7").port == 8883
    with pytest.raises(StudioError, match="mqtt url") as e:
        BusSettings.parse({"url": "ftp://b"}, "s7")
    assert "docs/MQTT.md" in str(e.value)


def test_a_station_refuses_sparkplug_it_cannot_speak_with_what_to_do(demo_project, tmp_path):
    with_bus(demo_project, "mqtt://127.0.0.1:1", sparkplug=True)
    with pytest.raises(StudioError, match="sparkplug") as e:
        make(demo_project, tmp_path)
    assert "sparkplug: false" in e.value.hint


def test_every_message_while_the_broker_is_away_is_kept_or_counted_and_the_kept_follow_it_back(broker):
    from studio.core.events import Emitter
    from studio.station.part import PartResult

    broker.stop()
    bus = PlantBus.for_station({"station_id": "s1", "mqtt": {"url": broker.url, "topic_root": ROOT,
                                                           "buffer": 100}})
    events = Emitter()
    bus.open(events, stats=lambda: {"model_id": "m1"})
    try:
        for n in range(1, 5001):            # a flood: the pump's call only queues, full or not
            events.emit("part", result=PartResult(part=n, frame_id=n, verdict="pass", score=0.1, model_id="m1"))
        assert until(lambda: bus.status()["dropped"] + bus.status()["kept"] == 5000, 10), bus.status()
        status = bus.status()
        assert status["kept"] == 100 and status["published"] == 0 and status["state"] == "away"
        broker.start()
        sub = Listener(broker, ROOT)
        try:
            assert until(lambda: bus.status()["kept"] == 0 and len(sub.of("part")) == 100, 20), \
                (str(bus.status()), len(sub.of("part")), [m[0] for m in sub.messages][:5])
            parts = [p["part"] for p in sub.of("part")]
            assert parts == sorted(parts) and all(p["late"] for p in sub.of("part"))      # oldest first
            assert sub.of("birth")[-1]["bus"]["dropped"] == 4900 and sub.of("birth")[-1]["model_id"] == "m1"
        finally:
            sub.close()
    finally:
        bus.close()
    assert bus.status()["late"] == 100


# ---- a run ------------------------------------------------------------------------
def test_every_part_reaches_the_plant_as_the_log_has_it(demo_project, tmp_path, broker, listener):
    station = make(with_bus(demo_project, broker.url), tmp_path, max_parts=30, interval_s=0.01)
    assert station.run(timeout=30) is True
    rows = logged(station)
    assert until(lambda: len(listener.of("part")) >= 30, 10)
    parts = listener.of("part")
    assert [p["part"] for p in parts] == [r["part"] for r in rows] == list(range(1, 31))
    for p, r in zip(parts, rows):
        assert (p["verdict"], p["model_id"], p["part_id"], p["defect_class"]) == \
               (r["verdict"], r["model_id"], r["part_id"], r["defect_class"])
        assert p["score"] == pytest.approx(r["score"]) and p["t_decided"] == pytest.approx(r["t_decided"])
        assert p["station_id"] == "station1" and p["image"] == r["image_path"]
    assert {p["verdict"] for p in parts} == {"pass", "reject"}

    states = [p["state"] for p in listener.of("state")]
    assert states[-3:] == ["starting", "running", "stopped"] or states[-2:] == ["running", "stopped"]
    assert states[-1] == "stopped"          # a clean stop: no offline (the will is not sent)
    birth = listener.of("birth")[-1]
    assert birth["station_id"] == "station1" and birth["project"] == demo_project.name
    assert birth["bus"]["dropped"] == 0 and birth["bus"]["connects"] == 1
    status = station.stats()["plant_bus"]
    assert status["state"] == "closed" and status["dropped"] == 0 and status["published"] >= 33
    # parts (and alerts) before the bus had connected were kept and sent after the birth, marked late
    # (with those that came while they were being sent: they wait behind them)
    late = [m for m in parts + listener.of("alert") if m.get("late")]
    assert len(late) == status["late"] >= status["while_away"]

    # the retained birth and state are what a plant application starting now sees at once
    late = Listener(broker, ROOT)
    try:
        assert until(lambda: late.of("state") and late.of("birth"), 5)
        assert [m[2] for m in late.messages] == [True] * len(late.messages)
        assert late.of("state")[-1]["state"] == "stopped" and not late.of("part")
    finally:
        late.close()


def test_heartbeats_and_alerts_reach_the_plant(demo_project, tmp_path, broker, listener):
    station = make(with_bus(demo_project, broker.url, heartbeat_s=0.2), tmp_path, interval_s=0.02,
                   camera=FakeCamera(fail_on={5}))
    states = lambda: [p["state"] for p in listener.of("state")]      # noqa: E731
    station.start()
    try:
        assert until(lambda: len(listener.of("heartbeat")) >= 3, 10)
        assert until(lambda: listener.of("alert"), 10)
        assert until(lambda: "faulted" in states() and states()[-1] == "running", 10)   # the camera is back
    finally:
        station.stop()
    beats = listener.of("heartbeat")
    assert [b["seq"] for b in beats] == list(range(1, len(beats) + 1))
    assert beats[-1]["parts"] >= 1 and "dropped" in beats[-1]["bus"] and "reject_rate" in beats[-1]
    assert any("camera" in a["message"] for a in listener.of("alert"))
    # the lost camera's passing fault, and the way back, are states the plant sees
    assert until(lambda: states()[-1] == "stopped", 5)
    assert states().index("running") < states().index("faulted") < len(states()) - 2


def test_a_broker_that_is_never_there_never_holds_the_line(demo_project, tmp_path, broker):
    broker.stop()           # its port, now closed: nothing listens
    station = make(with_bus(demo_project, broker.url, buffer=10), tmp_path, max_parts=40, interval_s=0.005)
    t0 = time.monotonic()
    assert station.run(timeout=30) is True
    assert time.monotonic() - t0 < 10
    assert len(logged(station)) == 40 and [p.part for p in station.plc.history] == list(range(1, 41))
    status = station.stats()["plant_bus"]
    assert status["while_away"] >= 40 and status["kept"] == 10                 # the newest parts, kept
    assert status["dropped"] == status["while_away"] - 10 and status["published"] == 0
    con = sqlite3.connect(station.log_path)
    alerts = [m for (m,) in con.execute("SELECT message FROM alerts")]
    con.close()
    assert sum("MQTT broker" in m and "is away" in m for m in alerts) == 1     # said once, not at each retry


# ---- the broker killed and restarted mid-run ----------------------------------------
def test_a_killed_broker_never_stops_the_line_and_the_station_announces_itself_again(
        demo_project, tmp_path, broker, listener, cable):
    # The station reaches the broker through a relay, so that the plant's subscriber is back (subscribed again)
    # before the station is: MQTT gives a subscriber only what is published while it is subscribed, and a
    # station that reconnected first would publish its kept parts to nobody (seen on a slow CI run).
    station = make(with_bus(demo_project, cable.url), tmp_path, interval_s=0.02)
    station.start()
    try:
        assert until(lambda: len(listener.of("part")) >= 10, 15)
        broker.kill()                                           # SIGKILL: no goodbye
        assert until(lambda: station.stats()["plant_bus"]["state"] == "away", 10)
        assert until(lambda: not listener.connected.is_set(), 10)
        away_at_part = len(logged(station))
        plc_at, beats_at = len(station.plc.history), station.heartbeat.beats
        time.sleep(1.5)                                         # the line runs on without the broker
        assert len(logged(station)) >= away_at_part + 20 and len(station.plc.history) >= plc_at + 20
        assert station.heartbeat.beats >= beats_at + 2          # the PLC's heartbeat goes on
        status = station.stats()
        assert status["state"] == "running" and status["faults"] == 0
        assert status["plant_bus"]["while_away"] >= 20 and status["plant_bus"]["kept"] >= 20

        births = len(listener.of("birth"))
        cable.freeze()                                          # the station's tries fail until the plant is back
        broker.start()                                          # the same port again
        assert listener.connected.wait(10), "the plant's subscriber did not come back"
        cable.mend()
        assert until(lambda: len(listener.of("birth")) > births, 20), "the station did not announce itself again"
        assert until(lambda: station.stats()["plant_bus"]["kept"] == 0, 10)
        time.sleep(0.3)
    finally:
        station.stop()
    rows = logged(station)
    assert until(lambda: {p["part"] for p in listener.of("part")} >= {r["part"] for r in rows}, 10)
    parts = listener.of("part")
    got = {p["part"] for p in parts}
    assert got == {r["part"] for r in rows}                     # every part reached the plant
    late = [p["part"] for p in parts if p.get("late")]
    assert len(late) >= 20 and late == sorted(late)             # the outage's parts, in order, marked late
    status = station.stats()["plant_bus"]
    late_alerts = [a["message"] for a in listener.of("alert") if a.get("late")]
    assert status["dropped"] == 0 and status["late"] == len(set(late)) + len(late_alerts)
    assert status["connects"] == 2 and any("is away" in m for m in late_alerts)
    said = [a["message"] for a in listener.of("alert")]
    back = [i for i, m in enumerate(said) if "is back" in m]
    assert back and back[0] > min(i for i, m in enumerate(said) if "is away" in m)     # in the order raised
    birth = listener.of("birth")[-1]
    assert birth["bus"]["connects"] == 2 and birth["bus"]["while_away"] >= 20
    # after the birth the state is announced again: the plant's retained state is current
    after = [leaf for leaf, _, _ in listener.messages]
    i = len(after) - 1 - after[::-1].index("birth")
    assert "state" in after[i:] and listener.of("state")[-1]["state"] == "stopped"
    assert [r["part"] for r in rows] == list(range(1, len(rows) + 1))      # the log: every part, no gap


# ---- a station that dies ---------------------------------------------------------------
@pytest.mark.slow
def test_the_plant_sees_a_station_that_died_through_its_last_will(tmp_path, broker, listener):
    import os
    import signal
    import subprocess
    import sys

    from test_training_support import write_fake_model

    from studio.project import Project

    project = Project.create(tmp_path / "bracket", template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.save()
    write_fake_model(project, "m-bus", "anomaly", threshold=-0.2)
    with_bus(project, broker.url)
    station = subprocess.Popen(
        [sys.executable, "-m", "studio", "station", "run", str(project.root),
         "--camera", "sim:seed=7,defect_rate=0.4,width=160,height=120", "--interval", "0.02",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert until(lambda: len(listener.of("part")) >= 5 or station.poll() is not None, 60), \
            "no part reached the plant"
        assert station.poll() is None, station.stderr.read()
        assert listener.of("state")[-1]["state"] == "running"
        birth = listener.of("birth")[-1]
        assert birth["model_id"] == "m-bus" and birth["project"] == project.name and birth["software"]
        os.kill(station.pid, signal.SIGKILL)
        station.wait(10)
    finally:
        if station.poll() is None:
            station.kill()
    assert until(lambda: listener.of("state")[-1]["state"] == "offline", 10), "the broker sent no last will"
    assert listener.of("state")[-1]["station_id"] == "station1"
    # retained: a plant application that starts now sees the station offline at once
    later = Listener(broker, ROOT)
    try:
        assert until(lambda: later.of("state"), 5)
        assert later.of("state")[-1]["state"] == "offline" and later.messages[-1][2] is True
    finally:
        later.close()


def test_a_station_started_again_announces_itself_again_without_a_false_alarm(demo_project, tmp_path, broker,
                                                                              listener):
    station = make(with_bus(demo_project, broker.url), tmp_path, max_parts=5, interval_s=0.01)
    assert station.run(timeout=30) is True
    station.max_parts = 5
    assert station.run(timeout=30) is True                      # the GUI's Stop, then Start
    assert until(lambda: len(listener.of("part")) == 10, 10)
    assert [p["part"] for p in listener.of("part")] == list(range(1, 11))
    assert len(listener.of("birth")) == 2 and listener.of("state")[-1]["state"] == "stopped"
    assert not [a for a in listener.of("alert") if "MQTT broker" in a["message"]]
    assert station.stats()["plant_bus"]["connects"] == 2


# ---- the network cable pulled: nobody is told ------------------------------------------------
@pytest.mark.slow
def test_a_silent_network_loss_shows_the_station_offline_and_it_comes_back(demo_project, tmp_path, broker,
                                                                           listener, cable):
    station = make(with_bus(demo_project, cable.url), tmp_path, interval_s=0.05)
    station.start()
    try:
        assert until(lambda: len(listener.of("part")) >= 5, 15)
        cable.freeze()                  # no FIN, no RST: the broker learns it from the keep-alive only
        t0 = time.monotonic()
        assert until(lambda: listener.of("state")[-1]["state"] == "offline", 30), "no last will after 30 s"
        waited = time.monotonic() - t0
        assert 5 < waited < 25          # 1.5 x the 10 s keep-alive, give or take the last packet's age
        assert until(lambda: station.stats()["plant_bus"]["state"] == "away", 20)
        parts_at = len(logged(station))
        assert until(lambda: len(logged(station)) >= parts_at + 10, 10)        # inspecting on
        births = len(listener.of("birth"))
        cable.mend()                    # plugged back in
        assert until(lambda: len(listener.of("birth")) > births, 20)
        assert until(lambda: listener.of("state")[-1]["state"] == "running", 10)
    finally:
        station.stop()
    assert station.stats()["faults"] == 0 and station.stats()["plant_bus"]["while_away"] > 0
