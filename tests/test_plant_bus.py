"""The plant bus: the station's live events on a real MQTT broker (mosquitto), seen by a real subscriber."""
import sqlite3
import time

import pytest
import yaml
from mqtt_broker import Broker, Listener
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
        assert p["station_id"] == "station1" and p["image"] == r["image_path"] and "late" not in p
    assert {p["verdict"] for p in parts} == {"pass", "reject"}

    states = [p["state"] for p in listener.of("state")]
    assert states[-3:] == ["starting", "running", "stopped"] or states[-2:] == ["running", "stopped"]
    assert states[-1] == "stopped"          # a clean stop: no offline (the will is not sent)
    birth = listener.of("birth")[-1]
    assert birth["station_id"] == "station1" and birth["project"] == demo_project.name
    assert birth["bus"]["dropped"] == 0 and birth["bus"]["connects"] == 1
    status = station.stats()["plant_bus"]
    assert status["state"] == "closed" and status["dropped"] == 0 and status["published"] >= 33

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
