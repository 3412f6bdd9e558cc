"""Hostile Modbus traffic at a running station: malformed frames, unknown function codes, out-of-range
addresses, absurd lengths, random bytes, many simultaneous connections. The server answers with a Modbus
exception or drops that connection; it never stops serving and never blocks the pipeline."""
import random
import socket
import struct
import threading
import time

import pytest

from studio.plc import register_map as rm
from tests.modbus_plc import PollingPlc, free_port
from tests.test_station import make, rows, until


@pytest.fixture
def project(demo_project):
    return demo_project


def frame(tid, pdu, unit=1, protocol=0, length=None):
    return struct.pack(">HHHB", tid & 0xFFFF, protocol, len(pdu) + 1 if length is None else length, unit) + pdu


def ask(port, data, timeout=1.0):
    """Send ``data`` on a fresh connection; what came back before the server answered or hung up."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            return s.recv(512)
        except (TimeoutError, ConnectionResetError):
            return b""


def exception_code(reply, fc):
    """The Modbus exception code in ``reply`` for function ``fc``; None when it is no exception answer."""
    if len(reply) >= 9 and reply[7] == (fc | 0x80):
        return reply[8]
    return None


def hostile_frames(rng, n):
    """n frames of every kind of nonsense, each with its own transaction id."""
    out = []
    for i in range(n):
        kind = i % 10
        if kind == 0:                           # random bytes
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 60))))
        elif kind == 1:                         # unknown / reserved function codes
            out.append(frame(i, bytes([rng.choice([0, 9, 10, 13, 14, 18, 19, 25, 40, 65, 90, 100, 127])])
                             + bytes(4)))
        elif kind == 2:                         # reads past the map and in the gap
            out.append(frame(i, struct.pack(">BHH", 3, rng.choice([12, 19, 48, 1000, 65535]), 1)))
        elif kind == 3:                         # absurd counts
            out.append(frame(i, struct.pack(">BHH", 3, 0, rng.choice([0, 126, 2000, 65535]))))
        elif kind == 4:                         # writes into the results (read-only)
            out.append(frame(i, struct.pack(">BHH", 6, rng.randint(0, 11), rng.getrandbits(16))))
        elif kind == 5:                         # FC16 whose byte count lies
            out.append(frame(i, struct.pack(">BHHB", 16, 20, 4, 200) + bytes(8)))
        elif kind == 6:                         # MBAP length that lies (too long, zero, huge)
            out.append(frame(i, struct.pack(">BHH", 3, 0, 5), length=rng.choice([0, 1, 300, 65535])))
        elif kind == 7:                         # a wrong protocol id
            out.append(frame(i, struct.pack(">BHH", 3, 0, 5), protocol=rng.choice([1, 0xFFFF])))
        elif kind == 8:                         # truncated frames
            full = frame(i, struct.pack(">BHH", 3, 0, 5))
            out.append(full[:rng.randint(1, len(full) - 1)])
        else:                                   # coils, diagnostics, read-write past the end
            out.append(frame(i, rng.choice([struct.pack(">BHH", 1, 0, 2000), struct.pack(">BHH", 5, 0, 0xFF00),
                                            struct.pack(">BHH", 8, 0, 0), bytes([17]),
                                            struct.pack(">BHHHHB", 23, 0, 5, 40, 20, 40) + bytes(40)])))
    return out


def blast(port, frames, stats, lock):
    """One attacker: sends its frames in bursts on one connection, reconnecting whenever it is dropped."""
    sock = None
    for i, data in enumerate(frames):
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
                sock.settimeout(0.02)
            sock.sendall(data)
            with lock:
                stats["sent"] += 1
            if i % 20 == 19:
                time.sleep(0.01)                # bursts: the attack lasts long enough to overlap many parts
                try:
                    got = sock.recv(65536)
                    if not got:
                        raise ConnectionResetError
                    with lock:
                        stats["answers"] += 1
                except TimeoutError:
                    pass
        except (ConnectionError, OSError):
            with lock:
                stats["dropped"] += 1
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


@pytest.mark.slow
def test_a_running_station_survives_hostile_modbus_traffic(project, tmp_path):
    port = free_port()
    station, events = make(project, tmp_path, plc=None, plc_spec=f"modbus-server://127.0.0.1:{port}",
                           interval_s=0.02, heartbeat_s=0.05)
    station.start()
    good = PollingPlc(port)             # a well-behaved PLC connected all along
    try:
        assert until(lambda: len(rows(station)) >= 3)

        # individual answers: exceptions where Modbus has them
        assert exception_code(ask(port, frame(1, struct.pack(">BHH", 3, 48, 1))), 3) == 2       # illegal address
        assert exception_code(ask(port, frame(2, struct.pack(">BHH", 3, 12, 8))), 3) == 2       # the gap
        assert exception_code(ask(port, frame(3, struct.pack(">BHH", 6, 1, 7))), 6) == 2        # read-only
        assert exception_code(ask(port, frame(4, struct.pack(">BHH", 1, 0, 8))), 1) in (1, 2)   # no coils
        assert exception_code(ask(port, frame(5, struct.pack(">BHH", 3, 0, 2000))), 3) in (2, 3, None)
        for fc in (0x41, 0x64, 0x7F):   # unknown function codes: an exception, or the connection dropped
            reply = ask(port, frame(6, bytes([fc]) + bytes(4)))
            # pymodbus answers "illegal function" under function code 0x80 (it cannot echo one it does not know)
            assert reply == b"" or 1 in (exception_code(reply, fc), exception_code(reply, 0)), (fc, reply)

        # many simultaneous connections, some of them only holding the socket open
        idle = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(100)]
        parts_before = len(rows(station))
        parts_seen = []
        station.events.subscribe(lambda kind, p: kind == "part" and parts_seen.append(time.monotonic()))

        rng = random.Random(10)
        stats, lock = {"sent": 0, "answers": 0, "dropped": 0}, threading.Lock()
        attackers = [threading.Thread(target=blast, args=(port, hostile_frames(rng, 400), stats, lock))
                     for _ in range(8)]
        t0 = time.monotonic()
        for a in attackers:
            a.start()
        polls = 0
        while any(a.is_alive() for a in attackers):     # the good PLC keeps polling through the attack
            regs = good.read(0, rm.REGISTER_COUNT)
            assert regs[rm.STATE] == rm.STATE_RUNNING
            polls += 1
            time.sleep(0.01)
        for a in attackers:
            a.join(30)
        attack_s = time.monotonic() - t0
        for s in idle:
            s.close()

        print(f"hostile frames sent {stats['sent']}, answer bursts {stats['answers']}, connections dropped "
              f"{stats['dropped']}, in {attack_s:.1f} s; good polls {polls}")
        assert stats["sent"] >= 3000, stats
        assert stats["answers"] > 0          # it answered (exceptions) rather than going quiet
        assert polls > 0 and station.state == "running" and station.fault is None
        # the pipeline went on at its pace all the while
        during = [t for t in parts_seen if t0 <= t <= t0 + attack_s]
        assert len(during) >= max(3, int(attack_s / 0.02 * 0.1)), (len(during), attack_s)
        gaps = [b - a for a, b in zip(during, during[1:])]
        assert not gaps or max(gaps) < 1.0, max(gaps)
        assert len(rows(station)) > parts_before

        # still serving, right values: a new PLC connects and reads what the station published
        late = PollingPlc(port)
        try:
            regs = late.read(0, rm.REGISTER_COUNT)
            assert regs[rm.STATE] == rm.STATE_RUNNING
            beat = late.read(0, 1)[0]
            assert until(lambda: late.read(0, 1)[0] != beat)      # the heartbeat advances
            assert late.write(1, [7]).isError()                  # results still read-only
        finally:
            late.close()
        assert good.read(rm.STATE, 1) == [rm.STATE_RUNNING]      # the PLC connected all along still reads
    finally:
        good.close()
        station.stop(timeout=5)
    assert station.fault is None
    logged = rows(station)
    assert [r["part"] for r in logged] == list(range(1, len(logged) + 1))     # no part lost or doubled
