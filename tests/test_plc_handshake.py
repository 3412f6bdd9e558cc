"""The trigger / result handshake block (20..47) over the station's Modbus server, with a real pymodbus client."""
import threading
import time

import pytest

from studio.plc import open_plc
from studio.plc import register_map as rm
from studio.plc.sim import SimPlc
from tests.modbus_plc import PollingPlc, free_port, until

STATUS = rm.TRIGGER_READY           # PollingPlc.status() starts here


def at(status, address):
    return status[address - STATUS]


@pytest.fixture
def server():
    plc = open_plc(f"modbus-server://127.0.0.1:{free_port()}")
    yield plc
    plc.stop()


@pytest.fixture
def plc(server):
    p = PollingPlc(server.port)
    yield p
    p.close()


def test_part_id_words_round_trip():
    assert rm.part_id_text(rm.part_id_words("A-0001")) == "A-0001"
    assert rm.part_id_words("AB")[:2] == [0x4142, 0]
    assert len(rm.part_id_words("x" * 40)) == rm.PART_ID_WORDS
    assert rm.part_id_text(rm.part_id_words("0123456789abcdefXYZ")) == "0123456789abcdef"   # cut at 16
    assert rm.part_id_text(rm.part_id_words("größe")) == "gr??e"
    assert rm.part_id_text([0xFFFF] * 8) == "?" * 16        # garbage from a PLC still reads as text
    assert rm.part_id_text(rm.part_id_words("")) == ""
    table = rm.handshake_table()
    assert "| 21 | PLC | Trigger" in table and "| 33 | station | ResultValid" in table


def test_only_the_plc_words_accept_writes(server, plc):
    for address in (0, 1, 4, 10, 11, 31, 32, 33, 40, 47):
        assert plc.write(address, [7]).isError(), address
    for address in (12, 19, 48, 200):
        assert plc.write(address, [7]).isError(), address
        assert plc.client.read_holding_registers(address, count=1).isError(), address
    assert not plc.write(rm.RESULT_ACK, [0, 7, 8]).isError()
    assert plc.read(rm.RESULT_ACK, 3) == [0, 7, 8]      # the PLC reads back what it wrote
    assert plc.write(29, [1, 2, 3]).isError()          # 29..31: runs into the station's words
    assert plc.read(29, 2) == [0, 0]                # ... and changes nothing of it
    assert server.registers() == [0] * rm.REGISTER_COUNT
    assert server.handshake_registers()[STATUS - rm.HANDSHAKE:] == [0] * len(rm.STATION_WORDS)
    # coils are not the station's: illegal function, and the registers do not change
    assert plc.client.write_coil(21, True).isError()
    assert plc.client.read_coils(0, count=8).isError()
    assert plc.read(rm.TRIGGER, 1) == [0]


def test_trigger_ack_result_valid_and_ack(server, plc):
    got = []
    waiter = threading.Thread(target=lambda: got.append(server.wait_trigger(threading.Event(), 5.0)))
    waiter.start()
    assert until(lambda: at(plc.status(), rm.TRIGGER_READY) == 1)
    plc.fire("A-0001")
    waiter.join(5)
    trigger = got[0]
    assert trigger is not None and trigger.part_id == "A-0001"
    st = plc.status()
    assert at(st, rm.TRIGGER_ACK) == 0          # not yet: the camera has not fired for it
    trigger.accepted(41)
    st = plc.status()
    assert at(st, rm.TRIGGER_ACK) == 1 and at(st, rm.TRIGGER_READY) == 0

    server.publish(41, rm.VERDICT_REJECT, 0.812, 3, part_id=trigger.part_id, defect_class="scratch")
    st = plc.wait_result(valid_before=0)
    assert at(st, rm.RESULT_VALID) == 1
    assert st[rm.RESULT_PART_COUNTER - STATUS:rm.RESULT_CLASS - STATUS + 1] == [41, 2, 812, 3]
    assert rm.part_id_text(st[rm.RESULT_PART_ID - STATUS:]) == "A-0001"
    assert plc.read(1, 4) == [41, 2, 812, 3]    # the plain result registers agree
    assert plc.read(rm.RESULT_ACK, 1) == [1]

    # the next one: acknowledged, so nothing is counted as unacknowledged
    plc.fire("A-0002")
    trigger = server.wait_trigger(threading.Event(), 5.0)
    assert trigger.part_id == "A-0002"
    trigger.accepted(42)
    server.publish(42, rm.VERDICT_PASS, 0.1, 0, part_id=trigger.part_id)
    st = plc.status()
    assert at(st, rm.RESULT_VALID) == 0 and rm.part_id_text(st[rm.RESULT_PART_ID - STATUS:]) == "A-0002"
    assert at(st, rm.RESULTS_UNACKED) == 0
    # ... but the PLC does not acknowledge 42 before 43 comes: counted, not waited for
    t0 = time.perf_counter()
    server.publish(43, rm.VERDICT_PASS, 0.1, 0)
    assert time.perf_counter() - t0 < 0.01
    st = plc.status()
    assert at(st, rm.RESULTS_UNACKED) == 1 and at(st, rm.RESULT_VALID) == 1
    assert rm.part_id_text(st[rm.RESULT_PART_ID - STATUS:]) == ""    # a part without a PLC id
    assert server.handshake_counts() == {"trigger_overruns": 0, "results_unacked": 1}


def test_a_trigger_before_the_ack_is_an_overrun(server, plc):
    plc.fire("P1")
    until(lambda: server.handshake._pending is not None)
    plc.fire("P2")                                  # toggled again before TriggerAck
    assert until(lambda: server.handshake_counts()["trigger_overruns"] == 1)
    assert at(plc.status(), rm.TRIGGER_OVERRUNS) == 1
    trigger = server.wait_trigger(threading.Event(), 1.0)
    assert trigger.part_id == "P2"                  # the newest part id is the one inspected
    trigger.accepted(1)
    assert at(plc.status(), rm.TRIGGER_ACK) == plc.trigger == 0
    assert server.wait_trigger(threading.Event(), 0.1) is None


def test_wait_trigger_gives_way_to_stop_and_timeout(server):
    stop = threading.Event()
    t0 = time.monotonic()
    assert server.wait_trigger(stop, 0.2) is None
    assert 0.15 < time.monotonic() - t0 < 1.0
    threading.Timer(0.1, stop.set).start()
    t0 = time.monotonic()
    assert server.wait_trigger(stop, 10.0) is None
    assert time.monotonic() - t0 < 1.0
    server.stop_triggers()
    assert server.handshake_registers()[rm.TRIGGER_READY - rm.HANDSHAKE] == 0


def test_plc_heartbeat_age_and_poll_age(server, plc):
    assert server.plc_heartbeat_age() is None
    plc.read(0, 1)
    assert server.poll_age() < 1.0
    plc.heartbeat()
    assert server.plc_heartbeat_age() < 1.0
    time.sleep(0.3)
    assert server.plc_heartbeat_age() >= 0.25
    plc.write(rm.PLC_HEARTBEAT, [plc.beat])       # the same value again is not a beat
    assert server.plc_heartbeat_age() >= 0.25
    plc.heartbeat()
    assert server.plc_heartbeat_age() < 0.2
    time.sleep(0.3)
    assert server.poll_age() >= 0.25


def test_the_sim_plays_the_plc_side_too():
    sim = SimPlc()
    assert sim.supports_trigger and sim.plc_heartbeat_age() is None
    sim.plc_write(rm.PART_ID_IN, rm.part_id_words("S-7"))
    sim.plc_write(rm.TRIGGER, [1])
    trigger = sim.wait_trigger(threading.Event(), 0.5)
    assert trigger.part_id == "S-7"
    trigger.accepted(5)
    sim.publish(5, rm.VERDICT_PASS, 0.2, 0, part_id="S-7")
    block = sim.handshake_registers()
    assert block[rm.TRIGGER_ACK - rm.HANDSHAKE] == 1 and block[rm.RESULT_VALID - rm.HANDSHAKE] == 1
    assert sim.history[-1].part_id == "S-7"
    sim.plc_write(rm.PLC_HEARTBEAT, [1])
    assert sim.plc_heartbeat_age() < 1.0


def test_the_pymodbus_here_is_one_the_project_allows():
    """The read-only rule is pymodbus' own (SimData readonly): these tests vouch only for the pinned range."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    pin = next(Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("pymodbus"))
    assert pin.specifier.contains(importlib.metadata.version("pymodbus")), (pin, importlib.metadata.version("pymodbus"))
    assert not pin.specifier.contains("3.15.0")         # before SimDevice's action hook and readonly blocks
