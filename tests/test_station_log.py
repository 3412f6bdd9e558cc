"""The station and its result log: the row before the PLC write, every alert logged, and what a
full disk (a real tmpfs) does to the line under on_log_failure continue and stop."""
import sqlite3
import subprocess
import time

import numpy as np
import yaml
from test_results_disk import fill, integrity, small_disk  # noqa: F401  (a fixture)
from test_station import FakeCamera, FakeModel, until

from studio.plc import register_map as rm
from studio.plc.sim import SimPlc
from studio.results import ResultReader
from studio.station import Station


class NoiseCamera(FakeCamera):
    """Frames of random pixels: their PNGs do not compress, so a small disk fills quickly."""

    def grab(self, timeout=2.0):
        frame = super().grab(timeout)
        rng = np.random.default_rng(frame.frame_id)
        image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        image[0, 0] = frame.frame_id % 256          # FakeModel scores this pixel
        frame.image = image
        return frame


class CheckingPlc(SimPlc):
    """A PLC that, at each publish, looks in the log file (another connection) for the part's row."""

    def __init__(self, log_path):
        super().__init__()
        self.log_path = log_path
        self.rows_at_publish: list[tuple[int, bool]] = []

    def publish(self, part, verdict_code, score, class_id, **kw):
        con = sqlite3.connect(f"file:{self.log_path}?mode=ro", uri=True)
        found = con.execute("SELECT COUNT(*) FROM results WHERE part = ?", (part,)).fetchone()[0] == 1
        con.close()
        self.rows_at_publish.append((part, found))
        super().publish(part, verdict_code, score, class_id, **kw)


def make(project, data_dir, **kw):
    kw.setdefault("model", FakeModel())
    kw.setdefault("camera", FakeCamera())
    kw.setdefault("plc", SimPlc())
    station = Station(project, data_dir=data_dir, **kw)
    events = []
    station.events.subscribe(lambda kind, payload: events.append((kind, payload)))
    return station, events


def logged_parts(path):
    con = sqlite3.connect(path)
    out = [r[0] for r in con.execute("SELECT part FROM results ORDER BY part")]
    con.close()
    return out


def test_every_row_is_committed_before_the_plc_sees_its_verdict(demo_project, tmp_path):
    data = tmp_path / "data"
    plc = CheckingPlc(data / "results.sqlite")
    station, _ = make(demo_project, data, plc=plc, max_parts=30)
    assert station.run(timeout=30) is True
    assert [p for p, _ in plc.rows_at_publish] == list(range(1, 31))
    assert all(found for _, found in plc.rows_at_publish), plc.rows_at_publish
    reader = ResultReader(station.log_path)
    rows = reader.recent(30)
    assert all(r["t_actuated"] and r["latency_ms"] > 0 and r["image_state"] == "saved" for r in rows)
    reader.close()


def test_every_alert_the_station_raises_is_logged(demo_project, tmp_path):
    station, events = make(demo_project, tmp_path / "data", model=FakeModel(raise_on={4}), max_parts=10)
    station.run(timeout=30)
    raised = [p["message"] for k, p in events if k == "alert"]
    reader = ResultReader(station.log_path)
    alerts = reader.alerts()
    reader.close()
    assert sorted(a["message"] for a in alerts) == sorted(raised)
    model = [a for a in alerts if a["kind"] == "model"]
    assert len(model) == 1 and "part 4 is a fault" in model[0]["message"] and model[0]["level"] == "error"


def test_a_restart_continues_the_part_numbers_after_an_unclean_close(demo_project, tmp_path):
    data = tmp_path / "data"
    station, _ = make(demo_project, data, max_parts=5)
    assert station.run(timeout=30)
    con = sqlite3.connect(data / "results.sqlite")     # as a crash leaves it: open, numbers reserved
    con.execute("UPDATE meta SET value = '1' WHERE key = 'open'")
    con.execute("UPDATE meta SET value = '105' WHERE key = 'part_reserved'")
    con.commit()
    con.close()
    station, events = make(demo_project, data, max_parts=3)
    assert station.run(timeout=30)
    assert logged_parts(data / "results.sqlite") == [1, 2, 3, 4, 5, 106, 107, 108]
    assert any("part numbers 6..105 are skipped" in p["message"] for k, p in events if k == "alert")


def run_until_the_disk_fills(station, disk, events):
    ballast = None
    station.start()
    assert until(lambda: station.stats()["parts"] >= 5, 20)
    ballast = fill(disk, 0)
    return ballast


def test_a_full_disk_under_continue_inspects_on_and_catches_up(demo_project, small_disk):
    data = small_disk / "station"
    plc = SimPlc()
    station, events = make(demo_project, data, camera=NoiseCamera(), plc=plc, interval_s=0.01)
    ballast = run_until_the_disk_fills(station, small_disk, events)
    try:
        assert until(lambda: plc.registers()[rm.STATE] == rm.STATE_LOG_FAILING, 20), plc.registers()
        published_while_full = len(plc.history)
        assert until(lambda: len(plc.history) >= published_while_full + 20, 20)   # the line goes on
        assert station.state == "running" and station.log.held > 0
        assert any(p["level"] == "error" and "rows wait in memory" in p["message"]
                   for k, p in events if k == "alert")
        ballast.unlink()
        assert until(lambda: plc.registers()[rm.STATE] == rm.STATE_RUNNING and station.log.held == 0, 20)
    finally:
        if ballast.exists():
            ballast.unlink()
        station.stop()
    published = [p.part for p in plc.history]
    assert logged_parts(data / "results.sqlite") == published       # every part the PLC saw
    assert station.log.dropped == 0 and integrity(data / "results.sqlite") == "ok"
    reader = ResultReader(data / "results.sqlite")
    kinds = [a["kind"] for a in reader.alerts(200)]
    states = reader.images()
    reader.close()
    assert "log" in kinds and states.get("failed", 0) > 0 and states.get("saved", 0) > 0


def test_a_full_disk_under_stop_halts_the_line_with_a_fault(demo_project, small_disk):
    (demo_project.root / "station.yaml").write_text(yaml.safe_dump({"on_log_failure": "stop"}))
    data = small_disk / "station"
    plc = SimPlc()
    station, events = make(demo_project, data, camera=NoiseCamera(), plc=plc, interval_s=0.01)
    ballast = run_until_the_disk_fills(station, small_disk, events)
    try:
        assert until(lambda: station.fault is not None, 20)
        assert "on_log_failure is stop" in station.fault
        assert plc.registers()[rm.STATE] == rm.STATE_FAULTED
        n = len(plc.history)
        time.sleep(0.3)
        assert len(plc.history) == n                                # the line is halted
        ballast.unlink()                                            # space returns before the close
    finally:
        if ballast.exists():
            ballast.unlink()
        station.stop()
    published = [p.part for p in plc.history]
    assert logged_parts(data / "results.sqlite") == published
    con = sqlite3.connect(data / "results.sqlite")
    last_verdict = con.execute("SELECT verdict, verdict_code FROM results ORDER BY part DESC LIMIT 1").fetchone()
    con.close()
    if "could not be logged" in station.fault:       # the part that met the full disk went out as a fault
        assert plc.history[-1].verdict_code == rm.VERDICT_FAULT and last_verdict == ("fault", rm.VERDICT_FAULT)
    assert station.log.dropped == 0 and integrity(data / "results.sqlite") == "ok"


def test_the_data_directory_unmounted_mid_run(demo_project, small_disk):
    data = small_disk
    plc = SimPlc()
    station, events = make(demo_project, data, plc=plc, interval_s=0.01)
    station.start()
    try:
        assert until(lambda: len(plc.history) >= 10, 20)
        r = subprocess.run(["umount", "-l", str(small_disk)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert until(lambda: any("gone or replaced" in p["message"] for k, p in events if k == "alert"), 20)
        n = len(plc.history)
        assert until(lambda: len(plc.history) >= n + 10 and station.log.failing is None, 20)
    finally:
        station.stop()
    assert station.fault is None
    assert logged_parts(data / "results.sqlite") == [p.part for p in plc.history]
    assert integrity(data / "results.sqlite") == "ok"




def test_alert_kinds():
    from studio.station.log_health import alert_kind

    assert alert_kind("camera", "x") == "camera" and alert_kind("lighting-back", "x") == "lighting"
    assert alert_kind("frame_check", "x") == "lighting" and alert_kind("log-failing", "x") == "log"
    assert alert_kind(None, "camera is back; inspection continues") == "camera"
    assert alert_kind(None, "the PLC write failed for part 3: timeout") == "plc"
    assert alert_kind(None, "the heartbeat could not be written to the PLC") == "plc"
    assert alert_kind(None, "the inference thread stopped on an internal error") == "station"


def test_an_unplugged_data_directory_under_stop_halts_the_line(demo_project, tmp_path):
    (demo_project.root / "station.yaml").write_text(yaml.safe_dump({"on_log_failure": "stop"}))
    data = tmp_path / "data"
    plc = SimPlc()
    station, events = make(demo_project, data, plc=plc, interval_s=0.01)
    station.start()
    try:
        assert until(lambda: len(plc.history) >= 5, 20)
        data.rename(tmp_path / "pulled")
        assert until(lambda: station.fault is not None, 20)
        assert "gone or replaced" in station.fault and "on_log_failure is stop" in station.fault
        assert plc.registers()[rm.STATE] == rm.STATE_FAULTED
    finally:
        station.stop()
    published = [p.part for p in plc.history]
    # the rows are in the file that was pulled (or held: the station may have published one more
    # before it saw the directory go); none the PLC saw is missing from both
    logged = logged_parts(tmp_path / "pulled" / "results.sqlite")
    assert not data.exists(), sorted(str(p.relative_to(data)) for p in data.rglob("*"))   # nothing re-created it
    assert set(published) - set(logged) <= {published[-1]} and len(logged) >= len(published) - 1
    missing = set(published) - set(logged)
    assert station.log.dropped == len(missing)          # counted exactly: held when the log closed
    if missing:
        assert plc.history[-1].verdict_code == rm.VERDICT_FAULT   # and the PLC was told a fault
