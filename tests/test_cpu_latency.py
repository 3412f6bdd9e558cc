"""The station keeps the cores awake while it runs (Linux PM QoS, studio/station/cpu_latency.py)."""
import os
import struct
import time

import pytest
import yaml
from test_station import FakeCamera, FakeModel, until

from studio.core.errors import StudioError
from studio.plc.sim import SimPlc
from studio.project import Project
from studio.station import Station
from studio.station.cpu_latency import DEVICE, CpuLatency, idle_sleeps

REAL = os.path.exists(DEVICE) and os.access(DEVICE, os.W_OK) and idle_sleeps(0) is not None
needs_device = pytest.mark.skipif(not REAL, reason=f"needs write access to {DEVICE} and Linux cpuidle (root)")


@pytest.mark.parametrize("settings,expected", [({}, 0), ({"cpu_latency_us": 20}, 20), ({"cpu_latency_us": "off"}, None),
                                               ({"cpu_latency_us": False}, None), ({"cpu_latency_us": None}, None)])
def test_station_yaml_says_how_awake(settings, expected):
    assert CpuLatency.from_settings(settings).max_us == expected


@pytest.mark.parametrize("value", [-1, "soon", 2.5, [0]])
def test_a_bad_value_is_a_clear_error(value):
    with pytest.raises(StudioError, match="cpu_latency_us") as e:
        CpuLatency.from_settings({"cpu_latency_us": value}, file="station.yaml")
    assert e.value.field == "cpu_latency_us"


def test_the_request_is_written_as_the_kernel_reads_it_and_ends_on_release(tmp_path):
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    hold = CpuLatency(25, str(device)).hold()
    assert hold.active and hold.note is None and "25 us" in hold.describe()
    assert struct.unpack("=i", device.read_bytes()) == (25,)
    hold.release()
    hold.release()                              # twice is harmless
    assert not hold.active


def test_without_the_device_the_station_is_told_why_and_how(tmp_path):
    hold = CpuLatency(0, str(tmp_path / "absent")).hold()
    assert not hold.active
    assert "may sleep" in hold.note and "cpu_latency_us: off" in hold.note and "absent" in hold.note
    off = CpuLatency(None).hold()
    assert not off.active and off.note is None


@needs_device
def test_held_the_cores_stop_sleeping_and_sleep_again_after():
    def sleeps_during(seconds):
        before = idle_sleeps(0) + idle_sleeps(1 if os.cpu_count() > 1 else 0)
        time.sleep(seconds)
        return idle_sleeps(0) + idle_sleeps(1 if os.cpu_count() > 1 else 0) - before

    hold = CpuLatency(0).hold()
    try:
        assert hold.active
        held = sleeps_during(0.5)
    finally:
        hold.release()
    free = sleeps_during(0.5)
    assert held == 0 and free > 0


def station_for(tmp_path, settings):
    project = Project.create(tmp_path / "demo", template="demo")
    (project.root / "station.yaml").write_text(yaml.safe_dump(settings))
    return Station(project, model=FakeModel(), camera=FakeCamera(), plc=SimPlc(), data_dir=tmp_path / "data",
                   max_parts=None, interval_s=0.02)


@needs_device
def test_a_running_station_holds_the_request_and_a_stopped_one_does_not(tmp_path):
    station = station_for(tmp_path, {})
    station.start()
    try:
        assert station.cpu_hold.active
        time.sleep(0.3)
        before = idle_sleeps(0)
        time.sleep(0.3)
        assert idle_sleeps(0) == before         # the cores polled while the line ran
    finally:
        station.stop()
    assert not station.cpu_hold.active


def test_off_in_station_yaml_asks_for_nothing_and_says_nothing(tmp_path):
    station = station_for(tmp_path, {"cpu_latency_us": "off"})
    alerts = []
    station.events.subscribe(lambda kind, p: alerts.append(p) if kind == "alert" else None)
    station.start()
    try:
        until(lambda: station.stats()["parts"] >= 3)
        assert not station.cpu_hold.active
    finally:
        station.stop()
    assert not any("sleep" in str(a) for a in alerts)
