"""modbus-client://: the PLC is a Modbus TCP server (a real pymodbus one here); the station writes into it."""
import threading
import time

import pytest

from studio.core.errors import PlcError
from studio.plc import open_plc
from studio.plc import register_map as rm
from studio.plc.modbus_client import ModbusClientPlc
from tests.modbus_plc import PlcServer, free_port, until

BASE = 100


@pytest.fixture
def plc_server():
    server = PlcServer().start()
    yield server
    server.stop()


def link_to(server, **kw):
    link = ModbusClientPlc("127.0.0.1", server.port, unit=1, base=BASE, retry_s=(0.05, 0.1, 0.2), **kw)
    link.start()
    return link


@pytest.mark.parametrize("spec, words", [
    ("modbus-client://10.0.0.5", ["needs HOST:PORT"]),
    ("modbus-client://10.0.0.5:70000", ["not a number 1..65535"]),
    ("modbus-client://10.0.0.5:502?unit=300", ["unit='300'", "0..255"]),
    ("modbus-client://10.0.0.5:502?base=-1", ["base='-1'"]),
    ("modbus-client://10.0.0.5:502?slave=1", ["unknown option slave"]),
])
def test_bad_client_specs_say_what_to_type(spec, words):
    with pytest.raises(PlcError) as err:
        open_plc(spec)
    for word in words:
        assert word in str(err.value)
    assert "What to do" in str(err.value)


def test_spec_options_and_defaults():
    link = ModbusClientPlc.from_spec("plc.local:1502?unit=3&base=4000", "modbus-client://plc.local:1502?unit=3&base=4000")
    assert (link.host, link.port, link.unit, link.base) == ("plc.local", 1502, 3, 4000)
    link = ModbusClientPlc.from_spec("10.1.1.1:502")
    assert (link.unit, link.base) == (1, 0)
    assert "PLC registers 0..47" in link.describe()


def test_the_station_writes_its_registers_into_the_plc(plc_server):
    link = link_to(plc_server)
    try:
        assert link.wait_connected(5) and link.link_problem() is None
        link.set_state(rm.STATE_RUNNING)
        link.set_model("m-7")
        link.beat()
        t0 = time.perf_counter()
        link.publish(12, rm.VERDICT_REJECT, 0.5, 2, part_id="X-12")
        assert time.perf_counter() - t0 < 0.005          # publish never waits on the network
        assert until(lambda: plc_server.read(BASE + 1, 4) == [12, 2, 500, 2])
        regs = plc_server.read(BASE, rm.REGISTER_COUNT)
        assert regs[0] == 1 and regs[10] == 1 and regs[11] == rm.model_short_id("m-7")
        status = until(lambda: (s := plc_server.read(BASE + 31, 17))[2] == 1 and s)
        assert status[3:7] == [12, 2, 500, 2] and rm.part_id_text(status[7:15]) == "X-12"
        assert plc_server.read(0, BASE) == [0] * BASE      # nothing outside the station's registers
        # the station never writes the PLC's own words (20..30)
        assert all(not (BASE + 20 <= a < BASE + 31) for a, values in plc_server.writes
                   for a in range(a, a + len(values)))
        # every write of 0..11 came before the handshake write that made ResultValid 1
        order = [a for a, _ in plc_server.writes]
        assert order.index(BASE + 31) > 0 and BASE in order

        # the PLC triggers through its own memory
        plc_server.write(BASE + rm.PART_ID_IN, rm.part_id_words("LOT5-0007"))
        plc_server.write(BASE + rm.TRIGGER, [1])
        trigger = link.wait_trigger(threading.Event(), 5.0)
        assert trigger is not None and trigger.part_id == "LOT5-0007"
        trigger.accepted(13)
        assert until(lambda: plc_server.read(BASE + rm.TRIGGER_ACK, 1) == [1])
        plc_server.write(BASE + rm.PLC_HEARTBEAT, [9])
        assert until(lambda: (age := link.plc_heartbeat_age()) is not None and age < 1.0)
        link.set_state(rm.STATE_STOPPED)
        link.stop_triggers()
        link.stop()                                     # the last state reaches the PLC before the link closes
        assert plc_server.read(BASE + rm.STATE, 1) == [rm.STATE_STOPPED]
    finally:
        link.stop()


def test_a_trigger_set_before_the_station_looked_is_not_a_trigger(plc_server):
    plc_server.write(BASE + rm.TRIGGER, [1])
    plc_server.write(BASE + rm.PLC_HEARTBEAT, [77])
    link = link_to(plc_server)
    try:
        assert link.wait_connected(5)
        assert link.wait_trigger(threading.Event(), 0.3) is None
        assert until(lambda: plc_server.read(BASE + rm.TRIGGER_ACK, 1) == [1])   # acknowledged as old
        assert link.plc_heartbeat_age() is None                  # an old value is not a beat
    finally:
        link.stop()


def test_lost_link_is_reported_and_the_link_comes_back(plc_server):
    port = plc_server.port
    link = link_to(plc_server)
    try:
        assert link.wait_connected(5)
        link.publish(1, rm.VERDICT_PASS, 0.1, 0)
        assert until(lambda: plc_server.read(BASE + 1, 1) == [1])
        plc_server.write(BASE + rm.TRIGGER, [1])                # one trigger taken before the PLC goes
        link.wait_trigger(threading.Event(), 5.0).accepted(1)
        plc_server.stop()
        problem = until(lambda: link.link_problem(), timeout=5)
        assert problem and "lost link to the PLC at 127.0.0.1" in problem and "trying again" in problem
        assert not link.connected
        link.publish(2, rm.VERDICT_REJECT, 0.9, 1, part_id="B-2")     # while away: kept, not waited for
        time.sleep(0.3)                             # a few failed tries (back-off 0.05, 0.1, 0.2 s)
        problem = link.link_problem()
        assert problem.startswith("no link") and "trying again in 0.2 s" in problem
        back = PlcServer(port=port).start()         # the PLC comes back (power cycled: memory zero)
        try:
            assert until(lambda: link.connected, timeout=5) and link.link_problem() is None
            assert link.connects == 2
            # the whole image is written again, with the part that came while the PLC was away
            assert until(lambda: back.read(BASE + 1, 4) == [2, 2, 900, 1])
            assert until(lambda: rm.part_id_text(back.read(BASE + rm.RESULT_PART_ID, 8)) == "B-2")
            # its restarted memory (Trigger 0) is no trigger: only a toggle seen happening is one
            assert link.wait_trigger(threading.Event(), 0.3) is None
            assert until(lambda: back.read(BASE + rm.TRIGGER_ACK, 1) == [0])
            back.write(BASE + rm.TRIGGER, [1])
            assert link.wait_trigger(threading.Event(), 5.0) is not None
        finally:
            back.stop()
    finally:
        link.stop()


def test_no_plc_at_start_is_not_an_error_but_a_problem():
    link = ModbusClientPlc("127.0.0.1", free_port(), retry_s=(0.05,), timeout_s=0.2)
    link.start()
    try:
        problem = until(lambda: link.link_problem() and "no link" in link.link_problem() and link.link_problem())
        assert "127.0.0.1" in problem and not link.connected
    finally:
        t0 = time.monotonic()
        link.stop()
        assert time.monotonic() - t0 < 2.0


def test_a_plc_without_the_registers_is_told(plc_server):
    small = PlcServer(size=60).start()          # registers 0..59: base 100 does not exist there
    link = ModbusClientPlc("127.0.0.1", small.port, base=BASE, retry_s=(0.05,))
    link.start()
    try:
        problem = until(lambda: link.link_problem() and "refused" in link.link_problem() and link.link_problem())
        assert "registers 100..147" in problem
    finally:
        link.stop()
        small.stop()
