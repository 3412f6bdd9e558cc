"""The PLC link: register map, sim link, and the Modbus TCP server read by a real pymodbus client."""
import math
import socket
import threading
import time

import pytest

from studio.core.errors import PlcError
from studio.plc import open_plc
from studio.plc import register_map as rm
from studio.plc.sim import SimPlc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    plc = open_plc(f"modbus-server://127.0.0.1:{free_port()}")
    yield plc
    plc.stop()


@pytest.fixture
def client(server):
    from pymodbus.client import ModbusTcpClient

    c = ModbusTcpClient("127.0.0.1", port=server.port, timeout=2)
    assert c.connect()
    yield c
    c.close()


def read(client, address=0, count=rm.REGISTER_COUNT):
    rr = client.read_holding_registers(address, count=count)
    assert not rr.isError(), rr
    return list(rr.registers)


# ---- register map -------------------------------------------------------
def test_words_are_clamped_rounded_and_16_bit():
    assert rm.score_word(70.0) == 65535
    assert rm.score_word(-0.5) == 0
    assert rm.score_word(math.nan) == 0
    assert rm.score_word(0.12345) == 123 and rm.score_word(0.1236) == 124
    assert rm.result_words(70_001, rm.VERDICT_REJECT, 1.5, 4) == [70_001 & 0xFFFF, 2, 1500, 4]
    assert rm.result_words(1, rm.VERDICT_PASS, 0.1, None) == [1, 1, 100, 0]
    with pytest.raises(ValueError):
        rm.result_words(1, 0, 0.1, 0)
    assert rm.model_short_id(None) == 0
    assert rm.model_short_id("m-1") == rm.model_short_id("m-1") != rm.model_short_id("m-2")
    assert 1 <= rm.model_short_id("m-1") <= 65535
    table = rm.markdown_table()
    assert table.count("\n| ") == len(rm.REGISTERS) and "| 10 | station state" in table


def test_sim_link_keeps_registers_and_history():
    plc = open_plc("sim")
    assert isinstance(plc, SimPlc) and plc.registers() == [0] * rm.REGISTER_COUNT
    plc.publish(1, rm.VERDICT_PASS, 0.25, 0)
    plc.publish(65_537, rm.VERDICT_FAULT, math.nan, 0)
    for _ in range(3):
        plc.beat()
    plc.set_state(rm.STATE_RUNNING)
    plc.set_model("abc")
    plc.stop()
    regs = plc.registers()      # readable after stop: shows the last part
    assert regs[:5] == [3, 1, 3, 0, 0] and regs[5:10] == [0] * 5
    assert regs[10] == 1 and regs[11] == rm.model_short_id("abc")
    assert [(p.part, p.verdict_code, p.words) for p in plc.history] == [
        (1, 1, (1, 1, 250, 0)), (65_537, 3, (1, 3, 0, 0))]
    with pytest.raises(ValueError):
        plc.set_state(7)


def test_heartbeat_wraps_at_65536():
    plc = SimPlc()
    plc._heartbeat = 65_535
    plc.beat()
    assert plc.registers()[rm.HEARTBEAT] == 0


@pytest.mark.parametrize("spec, words", [
    ("opcua://127.0.0.1:4840", ["unknown PLC link", "modbus-server://HOST:PORT", "sim"]),
    ("modbus-server://127.0.0.1", ["needs HOST:PORT"]),
    ("modbus-server://plc.local:5020", ["not an IPv4 address"]),
    ("modbus-server://127.0.0.1:99999", ["not a number 1..65535"]),
    ("sim:fast", ["takes no argument"]),
])
def test_bad_specs_say_what_to_type(spec, words):
    with pytest.raises(PlcError) as err:
        open_plc(spec)
    for word in words:
        assert word in str(err.value)
    assert "What to do" in str(err.value)


# ---- Modbus TCP server, read by a real client -----------------------------
def test_client_reads_what_the_station_publishes(server, client):
    assert read(client) == [0] * rm.REGISTER_COUNT
    server.publish(7, rm.VERDICT_REJECT, 0.4321, 3)
    server.set_state(rm.STATE_RUNNING)
    server.set_model("20240501-bracket")
    assert read(client) == [0, 7, 2, 432, 3, 0, 0, 0, 0, 0, 1, rm.model_short_id("20240501-bracket")]
    assert server.registers() == read(client)

    server.publish(8, rm.VERDICT_REJECT, 70.0, 0)      # score x 1000 would overflow a word
    assert read(client, 1, 4) == [8, 2, 65535, 0]
    server.publish(9, rm.VERDICT_PASS, -0.2, 0)        # and a negative score reads 0
    assert read(client, 1, 4) == [9, 1, 0, 0]

    before = read(client, 0, 1)[0]
    server.beat()
    server.beat()
    assert read(client, 0, 1)[0] == before + 2

    assert read(client, 11, 1) == [rm.model_short_id("20240501-bracket")]
    assert client.read_holding_registers(12, count=1).isError()     # nothing past the map
    assert client.write_register(1, 99).isError()                   # the PLC cannot overwrite a verdict
    assert read(client, 1, 1) == [9]


def test_any_unit_id_is_answered(server, client):
    import inspect

    server.publish(3, rm.VERDICT_PASS, 0.1, 0)
    kw = "device_id" if "device_id" in inspect.signature(client.read_holding_registers).parameters else "slave"
    for unit in (0, 1, 17):
        rr = client.read_holding_registers(1, count=2, **{kw: unit})
        assert not rr.isError() and list(rr.registers) == [3, 1]


def test_a_poll_never_mixes_two_parts(server, client):
    """Registers 1..4 change in one step: counter, verdict, score and class always belong together."""
    stop = threading.Event()

    def publish_forever():
        part = 0
        while not stop.is_set():
            part = part % 60_000 + 1            # below 65536: the check below needs the full number
            server.publish(part, part % 3 + 1, (part % 60) / 1000, part % 7)
            time.sleep(0)                       # let the server's thread answer the polls

    writer = threading.Thread(target=publish_forever, daemon=True)
    writer.start()
    try:
        seen = set()
        t_end = time.monotonic() + 0.4
        while time.monotonic() < t_end:
            part, verdict, score, cls = read(client, 1, 4)
            if part:
                assert (verdict, score, cls) == (part % 3 + 1, part % 60, part % 7), part
                seen.add(part)
    finally:
        stop.set()
        writer.join(2)
    assert len(seen) > 5


def test_publish_and_beat_take_microseconds(server):
    n = 3000
    t0 = time.perf_counter()
    for i in range(n):
        server.publish(i, rm.VERDICT_PASS, 0.5, 0)
        server.beat()
    per_call_us = (time.perf_counter() - t0) / (2 * n) * 1e6
    assert per_call_us < 200, f"{per_call_us:.1f} us per call"


def test_stop_frees_the_port():
    from pymodbus.client import ModbusTcpClient

    port = free_port()
    spec = f"modbus-server://127.0.0.1:{port}"
    first = open_plc(spec)
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
    assert c.connect()
    first.publish(5, rm.VERDICT_PASS, 0.1, 0)
    assert read(c, 1, 1) == [5]
    first.stop()
    first.stop()                            # idempotent
    c.close()
    assert first._thread is None            # the server thread is gone, not leaked

    second = open_plc(spec)                 # same port, straight away
    try:
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
        assert c.connect()
        assert read(c, 1, 1) == [0]         # a fresh register image
        second.publish(6, rm.VERDICT_REJECT, 0.9, 2)
        assert read(c, 1, 4) == [6, 2, 900, 2]
        c.close()
    finally:
        second.stop()


def test_port_in_use_is_a_plc_error_with_a_hint():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        with pytest.raises(PlcError) as err:
            open_plc(f"modbus-server://127.0.0.1:{port}")
    text = str(err.value)
    assert f"port {port} is already in use" in text and "choose a free port" in text
    assert threading.active_count() < 50    # no server thread left behind per failed start


def test_second_station_on_the_same_port_is_refused(server):
    with pytest.raises(PlcError, match="already in use"):
        open_plc(f"modbus-server://127.0.0.1:{server.port}")
    server.publish(2, rm.VERDICT_PASS, 0.0, 0)             # the first one still serves
    assert server.registers()[1] == 2
