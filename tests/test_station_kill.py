"""kill -9, for real: a station serving Modbus TCP, polled by a real pymodbus client, killed at
random moments (while images are written, while the WAL is checkpointed every few parts), and
restarted on the same data directory. Every part number the client read must have its row, no
number may be given out twice, and the database must pass PRAGMA integrity_check each time."""
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.slow

KILLS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Poller:
    """A PLC: polls registers 0..4 and 10 and keeps every part counter it reads."""

    def __init__(self, port):
        self.port = port
        self.seen: set[int] = set()
        self.states: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        from pymodbus.client import ModbusTcpClient

        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=0.5)
        while not self._stop.is_set():
            if not client.connected and not client.connect():
                time.sleep(0.02)
                continue
            try:
                rr = client.read_holding_registers(0, count=11)
            except Exception:
                client.close()
                time.sleep(0.02)
                continue
            if not rr.isError():
                if rr.registers[1]:
                    self.seen.add(rr.registers[1])
                self.states.add(rr.registers[10])
            time.sleep(0.002)
        client.close()

    def stop(self):
        self._stop.set()
        self._thread.join(5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo project with a real (tiny) ONNX model: the station loads it as any other."""
    from test_training_support import write_fake_model

    from studio.project import Project

    root = tmp_path_factory.mktemp("kill") / "bracket"
    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.save()
    write_fake_model(project, "m-kill", "anomaly", threshold=-0.2)
    return root


def test_kill_9_at_random_moments_loses_no_part_the_plc_saw(trained, tmp_path):
    rng = random.Random(int(os.environ.get("STUDIO_KILL_SEED", "9")))
    data = tmp_path / "station-data"
    env = dict(os.environ, STUDIO_LOG_CHECKPOINT_EVERY="1")     # a WAL checkpoint after every writer cycle
    earlier_max = 0
    interrupted_images = 0
    for run in range(KILLS):
        port = free_port()
        station = subprocess.Popen(
            [sys.executable, "-m", "studio", "station", "run", str(trained),
             "--camera", "sim:seed=7,defect_rate=0.4,width=160,height=120",
             "--plc", f"modbus-server://127.0.0.1:{port}", "--interval", "0.01",
             "--data-dir", str(data), "--json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        poller = Poller(port)
        try:
            t_end = time.monotonic() + 60
            while not poller.seen and time.monotonic() < t_end and station.poll() is None:
                time.sleep(0.01)
            assert poller.seen, f"run {run}: the client never saw a part; {station.poll()} " \
                                f"{station.stderr.read() if station.poll() is not None else ''}"
            time.sleep(rng.uniform(0.3, 1.5))
            os.kill(station.pid, signal.SIGKILL)
            station.wait(10)
            time.sleep(0.1)                         # the client's last read after the kill
        finally:
            poller.stop()
            if station.poll() is None:
                station.kill()
        assert station.returncode == -signal.SIGKILL

        con = sqlite3.connect(data / "results.sqlite")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"run {run}"
        parts = [r[0] for r in con.execute("SELECT part FROM results")]
        con.close()
        assert len(parts) == len(set(parts)), f"run {run}: a part number was given out twice"
        low16 = {p & 0xFFFF for p in parts}
        missing = sorted(poller.seen - low16)
        assert not missing, f"run {run}: the PLC saw parts {missing} that have no row"
        this_run = [p for p in parts if p > earlier_max]
        assert min(poller.seen) > earlier_max, f"run {run}: a number from an earlier run was reused"
        assert len(poller.seen) >= 3 and this_run
        earlier_max = max(parts)
        interrupted_images += len(list((data / "images").rglob("*.tmp")))

    # a clean last run: the log opens, recovers the images the kills interrupted, and goes on
    from studio.results import ResultLog

    log = ResultLog(data / "results.sqlite")
    assert log.next_part() > earlier_max and log.skipped_parts is not None
    log.close()
    con = sqlite3.connect(data / "results.sqlite")
    states = dict(con.execute("SELECT image_state, COUNT(*) FROM results GROUP BY image_state").fetchall())
    assert con.execute("SELECT COUNT(*) FROM results WHERE image_state = 'pending'").fetchone()[0] == 0
    assert states.get("saved", 0) > 0
    bad = con.execute("SELECT image_path FROM results WHERE image_state = 'saved'").fetchall()
    assert all((data / p).is_file() for (p,) in bad)
    con.close()
    assert not list((data / "images").rglob("*.tmp"))      # the open cleared what the kills left mid-write
    print(f"{KILLS} kills; image states {states}; images interrupted mid-write: {interrupted_images}")
