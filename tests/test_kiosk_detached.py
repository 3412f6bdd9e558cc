"""The station is not the kiosk: a real ``studio station run`` process, kiosks in other processes
killed with SIGKILL, the station inspecting on, a new kiosk attaching and showing the newest parts,
and a stop asked from the kiosk that the station obeys."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CAMERA = "sim:seed=7,defect_rate=0.4,width=160,height=120"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo project with a real (tiny) ONNX model: the station loads it as any other."""
    from test_training_support import write_fake_model

    from studio.project import Project

    root = tmp_path_factory.mktemp("kiosk") / "bracket"
    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.save()
    write_fake_model(project, "m-kiosk", "anomaly", threshold=-0.2)
    return root


def env():
    import studio

    root = str(Path(studio.__file__).resolve().parents[1])
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=root)


def parts_logged(data: Path) -> int:
    if not (data / "results.sqlite").exists():
        return 0
    con = sqlite3.connect(f"{(data / 'results.sqlite').as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def wait_for(what, timeout=60.0, every=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        time.sleep(every)
    return what()


def start_station(project, data, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "studio", "station", "run", str(project), "--camera", CAMERA, "--plc", "sim",
         "--interval", "0.05", "--data-dir", str(data), "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())


def children(pid):
    """The processes ``pid`` started, from any of its threads."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(out)


def stop_process(proc):
    for child in children(proc.pid):        # a kiosk holds the station's pipes too
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
    return proc.communicate(timeout=10)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /proc")
def test_a_killed_kiosk_leaves_the_station_inspecting_and_a_new_one_shows_the_newest_parts(
        trained, tmp_path, qtbot, monkeypatch):
    from studio.gui.kiosk import KioskWindow
    from studio.station.handle import AttachedStation

    data = tmp_path / "station-data"
    station = start_station(trained, data)
    kiosk = None
    try:
        assert wait_for(lambda: parts_logged(data) >= 5), station.stderr.read() if station.poll() else "no parts"
        kiosk = subprocess.Popen([sys.executable, "-m", "studio", "kiosk", str(data), "--windowed"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
        time.sleep(3.0)
        assert kiosk.poll() is None, f"the kiosk did not stay up: {kiosk.communicate()[1][-2000:]}"
        os.kill(kiosk.pid, signal.SIGKILL)
        kiosk.wait(10)
        assert kiosk.returncode == -signal.SIGKILL
        # the station goes on inspecting: the part count keeps rising in the log
        before = parts_logged(data)
        assert wait_for(lambda: parts_logged(data) >= before + 10, timeout=30)
        assert station.poll() is None

        # a new kiosk attaches and shows the newest parts
        newest = parts_logged(data)
        handle = AttachedStation(data)
        w = KioskWindow(handle, owns_station=False)
        qtbot.addWidget(w)
        w.show()
        handle.start()
        qtbot.waitUntil(lambda: w.last_part is not None and w.last_part[0] >= newest, timeout=15_000)
        assert "Running" in w.state_label.text()
        assert w.view.has_image() and w.thumbs[0].verdict is not None
        # the station's own figures, and the parts shown since: never behind the newest part shown
        qtbot.waitUntil(lambda: int(w.count_labels["parts"].text()) >= newest, timeout=5_000)
        assert handle.project is not None and Path(handle.project.root) == trained.resolve()
        # closing this view leaves the station running
        w.close()
        handle.close()
        more = parts_logged(data)
        assert wait_for(lambda: parts_logged(data) >= more + 5, timeout=30) and station.poll() is None

        # stopping from a kiosk: a request the station obeys (it finishes its parts and exits 0)
        handle = AttachedStation(data)
        w = KioskWindow(handle, owns_station=False)
        qtbot.addWidget(w)
        w.show()
        handle.start()
        qtbot.waitUntil(lambda: w.last_part is not None, timeout=15_000)
        monkeypatch.setattr(w, "confirm_stop", lambda: True)
        from PySide6.QtCore import Qt

        qtbot.keyClick(w, Qt.Key.Key_Escape)
        assert station.wait(20) == 0
        qtbot.waitUntil(lambda: w.state_label.text() in ("Finished", "Stopped"), timeout=10_000)
        assert w.isVisible()            # an attached view outlives the station it showed
        w.close()
        handle.close()
        status = json.loads((data / "station-status.json").read_text())
        assert status["state"] == "stopped" and not (data / "station-control.json").exists()
    finally:
        if kiosk is not None and kiosk.poll() is None:
            kiosk.kill()
        stop_process(station)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /proc")
def test_station_run_kiosk_restarts_a_killed_kiosk_and_ends_it_with_the_station(trained, tmp_path):
    from studio.station import status_file

    data = tmp_path / "station-data"
    station = start_station(trained, data, "--kiosk")
    try:
        first = wait_for(lambda: children(station.pid), timeout=60)
        assert len(first) == 1, station.stderr.read() if station.poll() is not None else "no kiosk child"
        cmdline = Path(f"/proc/{first[0]}/cmdline").read_bytes().split(b"\0")
        assert b"kiosk" in cmdline and str(data).encode() in cmdline
        time.sleep(2.0)
        assert children(station.pid) == first          # it stays up
        os.kill(first[0], signal.SIGKILL)
        before = parts_logged(data)
        second = wait_for(lambda: [p for p in children(station.pid) if p not in first], timeout=20)
        assert second, "no new kiosk after the first was killed"
        assert parts_logged(data) > before and station.poll() is None
        con = sqlite3.connect(f"{(data / 'results.sqlite').as_uri()}?mode=ro", uri=True, timeout=5)
        alerts = [m for (m,) in con.execute("SELECT message FROM alerts")]
        con.close()
        assert any("kiosk stopped (killed by signal 9)" in m for m in alerts), alerts
        status_file.request(data, "stop", by="test", reason="end of the test")
        assert station.wait(30) == 0
        assert wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in second), timeout=10)
    finally:
        out, err = stop_process(station)
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["parts"] > 0
    con = sqlite3.connect(data / "results.sqlite")
    alerts = [m for (m,) in con.execute("SELECT message FROM alerts")]
    con.close()
    assert any("stopped by test from the kiosk: end of the test" in m for m in alerts), alerts


def test_the_station_publishes_its_status_and_obeys_a_stop_request(trained, tmp_path):
    from studio.project import Project
    from studio.station import Station, status_file

    data = tmp_path / "data"
    data.mkdir()
    # a request left from before this station started is not for it
    (data / status_file.CONTROL_FILE).write_text(json.dumps({"action": "stop", "by": "old", "time": 1.0}))
    station = Station(Project.open(trained), CAMERA, "sim", data_dir=data, interval_s=0.02)
    station.start()
    try:
        assert wait_for(lambda: (status_file.read_status(data) or {}).get("state") == "running", timeout=10)
        assert wait_for(lambda: (status_file.read_status(data) or {}).get("stats", {}).get("parts", 0) > 0,
                        timeout=10)
        status = status_file.read_status(data)
        assert status["pid"] == os.getpid() and status_file.alive(status)
        assert status_file.read_station(data)["project"] == str(trained.resolve())
        assert station.state == "running" and not (data / status_file.CONTROL_FILE).exists()
        status_file.request(data, "stop", by="anna", reason="shift end")
        assert wait_for(lambda: station.state == "stopped", timeout=10)
    finally:
        station.stop()
    assert status_file.read_status(data)["state"] == "stopped"
    assert any("stopped by anna from the kiosk: shift end" in (a["message"] or "")
               for a in status_file.read_status(data)["alerts"])


def test_attaching_to_nothing_says_so(tmp_path):
    from studio.core.errors import StudioError
    from studio.station import status_file
    from studio.station.handle import ABSENT, AttachedStation

    empty = AttachedStation(tmp_path)           # the station has not written yet: the kiosk waits for it
    empty.poll()
    assert empty.state == ABSENT and empty.project is None
    (tmp_path / "notes.txt").write_text("something else")
    with pytest.raises(StudioError, match="neither a station data directory nor a project"):
        AttachedStation(tmp_path)
    with pytest.raises(StudioError, match="no such folder"):
        AttachedStation(tmp_path / "nowhere")
    # a station that is gone: its last status names a process that no longer runs
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "notes.txt").unlink()
    (tmp_path / status_file.STATUS_FILE).write_text(json.dumps(
        {"pid": int(gone.stdout), "host": __import__("socket").gethostname(), "state": "running",
         "updated": time.time(), "started": 1.0}))
    handle = AttachedStation(tmp_path)
    handle.poll()
    assert handle.state == ABSENT
    handle.stop()                       # nothing to ask
    assert not (tmp_path / status_file.CONTROL_FILE).exists()
    with pytest.raises(StudioError, match="takes no request"):
        status_file.request(tmp_path, "explode", by="x")


def test_a_project_names_its_station_data_directory(trained, tmp_path, monkeypatch):
    from studio.station.data_dir import ENV
    from studio.station.handle import ABSENT, AttachedStation, resolve

    monkeypatch.setenv(ENV, str(tmp_path / "not-yet"))
    assert resolve(trained) == tmp_path / "not-yet"          # as 'studio station run PROJECT' would write
    handle = AttachedStation(resolve(trained), resolved=True)     # the kiosk may start before the station
    handle.poll()
    assert handle.state == ABSENT and not (tmp_path / "not-yet").exists()


def test_a_station_that_stops_writing_its_status_is_not_responding(tmp_path):
    import socket

    from studio.station import status_file
    from studio.station.handle import SILENT, AttachedStation

    now = time.time()
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "state": "running", "started": 1.0}
    assert status_file.liveness({**mine, "updated": now}) == "live"
    assert status_file.liveness({**mine, "updated": now - 60}) == "silent"         # hung: there, but silent
    assert status_file.liveness({**mine, "state": "stopped", "updated": now - 60}) == "live"
    other = {**mine, "host": "another-pc"}
    assert status_file.liveness({**other, "updated": now}) == "live"
    assert status_file.liveness({**other, "updated": now - 60}) == "gone"
    (tmp_path / status_file.STATUS_FILE).write_text(json.dumps({**mine, "updated": now - 60}))
    handle = AttachedStation(tmp_path)
    handle.poll()
    assert handle.state == SILENT
