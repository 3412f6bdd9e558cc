"""modbus-client://: the PLC's own verdict of a part (the incumbent block 50..59) read from a real pymodbus PLC."""
import time

import pytest

from studio.plc import register_map as rm
from studio.plc.modbus_client import ModbusClientPlc
from tests.modbus_plc import PlcServer, until

BASE = 100
INC = BASE + rm.INCUMBENT_PART_COUNTER


@pytest.fixture
def plc_server():
    server = PlcServer().start()
    yield server
    server.stop()


def linked(server, got):
    link = ModbusClientPlc("127.0.0.1", server.port, unit=1, base=BASE, retry_s=(0.05, 0.1, 0.2))
    link.on_incumbent = lambda counter, part_id, verdict: got.append((counter, part_id, verdict))
    link.start()
    assert link.wait_connected(5)
    return link


def test_each_verdict_the_plc_writes_is_taken_once(plc_server):
    got = []
    link = linked(plc_server, got)
    try:
        plc_server.write(INC, [7, rm.VERDICT_REJECT])                           # keyed by the part counter
        assert until(lambda: got == [(7, "", rm.VERDICT_REJECT)])
        plc_server.write(INC, [8, rm.VERDICT_PASS] + rm.part_id_words("AB-8"))  # keyed by the PLC's part id
        assert until(lambda: len(got) == 2)
        assert got[1] == (8, "AB-8", rm.VERDICT_PASS)
        plc_server.write(INC, [8, rm.VERDICT_PASS])         # the same words again: no new verdict
        time.sleep(0.2)                                    # many polls (every 10 ms)
        assert len(got) == 2 and link.incumbent_taken == 2
        plc_server.write(INC + 1, [0])                      # the PLC clears 51: no verdict
        plc_server.write(INC, [9, 3])                       # not 1 or 2: no verdict
        time.sleep(0.2)
        assert len(got) == 2
        plc_server.write(INC, [10, rm.VERDICT_REJECT] + [0] * 8)
        assert until(lambda: len(got) == 3) and got[2] == (10, "", rm.VERDICT_REJECT)
        assert link.incumbent_problem is None and link.link_problem() is None
        assert "incumbent's 50..59 read from 150..159" in link.describe()
    finally:
        link.stop()


def test_an_old_verdict_is_not_taken_but_one_written_while_the_link_was_down_is(plc_server):
    port = plc_server.port
    plc_server.write(INC, [3, rm.VERDICT_REJECT])          # left in the PLC from before the station started
    got = []
    link = linked(plc_server, got)
    try:
        time.sleep(0.2)
        assert got == []
        plc_server.stop()
        assert until(lambda: not link.connected, timeout=5)
        back = PlcServer(port=port)
        back.memory[INC:INC + 2] = [4, rm.VERDICT_PASS]   # the PLC judged part 4 while the link was down
        back.start()
        try:
            assert until(lambda: link.connected, timeout=5)
            assert until(lambda: got == [(4, "", rm.VERDICT_PASS)])
        finally:
            back.stop()
    finally:
        link.stop()


def test_a_plc_without_the_incumbent_registers_keeps_the_link_and_is_told():
    small = PlcServer(size=BASE + rm.IMAGE_SIZE).start()    # registers 0..147: 150..159 do not exist
    got = []
    link = linked(small, got)
    try:
        problem = until(lambda: link.incumbent_problem)
        assert problem and "refused registers 150..159" in problem and "studio station incumbent" in problem
        link.publish(5, rm.VERDICT_REJECT, 0.7, 1)
        assert until(lambda: small.read(BASE + 1, 2) == [5, rm.VERDICT_REJECT])   # the line goes on
        assert link.connected and link.link_problem() is None and link.connects == 1
        assert problem in link.describe()
    finally:
        link.stop()
        small.stop()


def test_without_a_listener_the_block_is_not_read(plc_server):
    link = ModbusClientPlc("127.0.0.1", plc_server.port, unit=1, base=BASE)
    link.start()
    try:
        assert link.wait_connected(5)
        plc_server.write(INC, [1, rm.VERDICT_PASS])
        time.sleep(0.1)
        assert link.incumbent_taken == 0 and link._incumbent_seen is None
    finally:
        link.stop()


def test_a_station_in_shadow_mode_logs_the_verdicts_the_plc_holds_for_it(demo_project, tmp_path, plc_server):
    import sqlite3

    from tests.test_station import make

    link = ModbusClientPlc("127.0.0.1", plc_server.port, unit=1, base=BASE, retry_s=(0.05,))
    station, _ = make(demo_project, tmp_path, plc=link, max_parts=20, interval_s=0.03, mode="shadow")
    station.start()
    try:
        assert until(lambda: station.stats()["parts"] >= 5, 20)
        counter = plc_server.read(BASE + rm.PART_COUNTER, 1)[0]
        assert counter >= 1
        plc_server.write(INC, [counter, rm.VERDICT_REJECT])          # the PLC's own check of that part
        assert until(lambda: link.incumbent_taken == 1, 5)
        plc_server.write(INC, [counter - 1, rm.VERDICT_PASS])
        assert until(lambda: link.incumbent_taken == 2, 5)
        assert station.wait(60) is True
    finally:
        station.stop()
        link.stop()         # a link given to the station is the caller's to stop (its poller would live on)
    assert plc_server.read(BASE + rm.VERDICT, 1) == [0]               # watching: the verdict register stays 0
    con = sqlite3.connect(station.log_path)
    got = con.execute("SELECT part, verdict, source FROM incumbent ORDER BY id").fetchall()
    con.close()
    assert got == [(counter, "reject", "plc"), (counter - 1, "pass", "plc")]
