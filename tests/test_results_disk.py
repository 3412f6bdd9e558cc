"""The result log on real disks: schema upgrade, part numbers across crashes, retention, quota,
a full disk (a real 3 MB tmpfs) and a data directory that goes away."""
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from waiting import until

from studio.core.errors import StudioError
from studio.results import ResultLog, ResultReader, schema
from studio.results.log import _identity as identity
from studio.results.policy import LogPolicy

REPO = Path(__file__).resolve().parents[1]


def part(n, verdict="pass", image=None, t=None):
    t = time.time() if t is None else t
    code = {"pass": 1, "reject": 2, "fault": 3, "review": 4}[verdict]
    return dict(part=n, frame_id=n, verdict=verdict, verdict_code=code, score=0.1 * code, class_id=0,
                model_id="m1", image=image, t_trigger=t - 0.01, t_captured=t - 0.008, t_decided=t - 0.002)


def noise(seed, shape=(64, 64, 3)):
    # random pixels do not compress: each PNG is about 12 kB, so a 3 MB disk fills in a few hundred
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def publish(log, r):
    """What the station does per part: commit, (PLC write), finish."""
    ok = log.commit(r)
    r["t_actuated"] = time.time()
    r["latency_ms"] = (r["t_actuated"] - r["t_trigger"]) * 1000
    log.finish(r)
    return ok




def rows(path, columns="part, verdict, image_state, image_path, note"):
    con = sqlite3.connect(path)
    out = con.execute(f"SELECT {columns} FROM results ORDER BY part").fetchall()
    con.close()
    return out


def integrity(path):
    con = sqlite3.connect(path)
    out = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    return out


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MB file system (tmpfs), mounted for the test and unmounted after it."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"needs to mount a small tmpfs (root): {r.stderr.strip() or r.stdout.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)   # if the test left it busy


# ---- schema -------------------------------------------------------------
def test_a_version_1_log_is_upgraded_after_a_backup(tmp_path):
    path = tmp_path / "results.sqlite"
    con = sqlite3.connect(path)
    con.executescript(schema._RESULTS_V1)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    v1 = [c for c in schema.COLUMNS if c not in ("part_id", "image_state", "image_bytes", "watching")]
    con.execute(f"INSERT INTO results ({', '.join(v1)}) VALUES ({', '.join('?' * len(v1))})",
                (1, 1, "pass", 1, 0.1, None, 0, "m0", "images/x/part-000001.png", 1.0, 1.0, 1.0, 1.0, 5.0, 0, None))
    con.execute(f"INSERT INTO results ({', '.join(v1)}) VALUES ({', '.join('?' * len(v1))})",
                (2, 2, "fault", 3, None, None, 0, "m0", None, 2.0, 2.0, 2.0, 2.0, 5.0, 0, "model failed"))
    con.commit()
    con.close()

    lg = ResultLog(path)
    assert lg.next_part() == 3
    publish(lg, part(3))
    lg.alert("station", "info", "upgraded")
    lg.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(schema.SCHEMA_VERSION)
    got = con.execute("SELECT part, part_id, image_state, image_path, note FROM results ORDER BY part").fetchall()
    assert got == [(1, "", "saved", "images/x/part-000001.png", None), (2, "", "none", None, "model failed"),
                   (3, "", "none", None, None)]
    assert con.execute("SELECT kind, message FROM alerts").fetchall() == [("station", "upgraded")]
    con.close()
    backup = tmp_path / "results.v1.bak.sqlite"
    assert backup.is_file()
    bcon = sqlite3.connect(backup)      # the backup is the v1 file as it was
    assert bcon.execute("SELECT value FROM meta").fetchone()[0] == "1"
    assert bcon.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 2
    bcon.close()


def test_the_quota_counts_images_saved_before_the_upgrade(tmp_path):
    path = tmp_path / "results.sqlite"
    con = sqlite3.connect(path)
    con.executescript(schema._RESULTS_V1)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    (tmp_path / "images").mkdir()
    for n in range(1, 11):
        (tmp_path / "images" / f"old-{n}.png").write_bytes(b"x" * 50_000)
        con.execute("INSERT INTO results (part, verdict, verdict_code, image_path, t_decided) VALUES (?, ?, ?, ?, ?)",
                    (n, "reject" if n == 3 else "pass", 2 if n == 3 else 1, f"images/old-{n}.png", float(n)))
    con.commit()
    con.close()
    lg = ResultLog(path, policy=LogPolicy(quota_gb=300_000 / 1e9), watch_s=0.05)
    assert until(lambda: lg.images_pruned >= 5)
    lg.close()
    got = rows(path)
    assert [r[2] for r in got[:6]] == ["pruned", "pruned", "saved", "pruned", "pruned", "pruned"]
    # 500 kB of images and the log file against 285 kB (95 % of the quota): five or six passes go
    assert got[6][2] in ("saved", "pruned") and all(r[2] == "saved" for r in got[7:])
    assert (tmp_path / "images" / "old-3.png").is_file()
    assert not (tmp_path / "images" / "old-1.png").exists() and (tmp_path / "images" / "old-10.png").exists()


def test_a_newer_log_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "results.sqlite"
    ResultLog(path).close()
    con = sqlite3.connect(path)
    newer = schema.SCHEMA_VERSION + 1
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
    con.commit()
    con.close()
    with pytest.raises(StudioError, match=f"schema version {newer}, newer than this studio understands") as err:
        ResultLog(path)
    assert "newer Inspection Studio" in str(err.value)
    assert not list(tmp_path.glob("*.bak*"))


def test_alerts_are_logged_with_their_figures(tmp_path):
    lg = ResultLog(tmp_path / "results.sqlite")
    lg.alert("camera", "error", "camera error: frame timeout", {"retries": 3, "delay_s": 0.5})
    lg.alert("log", "warning", "disk low")
    assert lg.flush(5)
    reader = ResultReader(lg.path)
    alerts = reader.alerts()
    assert [(a["kind"], a["level"], a["message"]) for a in alerts] == [
        ("log", "warning", "disk low"), ("camera", "error", "camera error: frame timeout")]
    assert alerts[1]["figures"] == {"retries": 3, "delay_s": 0.5} and alerts[0]["figures"] is None
    assert alerts[0]["acked_by"] is None and alerts[0]["acked_at"] is None
    assert [a["kind"] for a in reader.alerts(kind="camera")] == ["camera"]
    reader.close()
    lg.close()


# ---- part numbers and crashes -----------------------------------------
CRASH = """
import os, sys, time, numpy as np
sys.path.insert(0, {repo!r})
from studio.results import ResultLog
lg = ResultLog({path!r})
first = lg.next_part()
for n in range(first, first + 30):
    r = dict(part=n, frame_id=n, verdict="pass", verdict_code=1, score=0.1, image=np.zeros((8, 8), np.uint8),
             t_trigger=time.time(), t_captured=time.time(), t_decided=time.time())
    lg.commit(r)                    # committed: the PLC may see it now
print(first, flush=True)
os._exit(9)                         # dies before any image is written or the log closed
"""


def test_part_numbers_are_never_reused_after_a_crash(tmp_path):
    path = tmp_path / "results.sqlite"
    lg = ResultLog(path)
    for n in range(1, 11):
        publish(lg, part(n, image=np.zeros((8, 8), np.uint8)))
    lg.close()
    lg = ResultLog(path)
    assert lg.next_part() == 11 and lg.skipped_parts is None      # a clean close: no gap
    lg.close()

    out = subprocess.run([sys.executable, "-c", CRASH.format(repo=str(REPO), path=str(path))],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 9 and out.stdout.split() == ["11"], out.stderr
    assert integrity(path) == "ok"
    lg = ResultLog(path)
    # the crashed run had reserved 100 numbers past its first part: none of them is given out again
    assert lg.next_part() == 11 + 100 + 1 and lg.skipped_parts == (41, 111)
    assert lg.recovered_pending == 30
    lg.close()
    got = rows(path)
    assert [r[0] for r in got] == list(range(1, 41))
    assert all(r[2] == "saved" for r in got[:10])
    assert all(r[2] == "lost" and r[3] is None and "never arrived" in r[4] for r in got[10:])


# ---- retention --------------------------------------------------------
def test_retention_keeps_every_reject_and_a_share_of_passes(tmp_path):
    policy = LogPolicy.from_settings({"retention": {"pass_images": 0.25}})
    lg = ResultLog(tmp_path / "results.sqlite", policy=policy)
    img = np.zeros((8, 8, 3), np.uint8)
    verdicts = ["pass"] * 3 + ["reject", "fault", "review"]
    for n in range(1, 401):
        publish(lg, part(n, verdicts[n % 6], image=img))
    lg.close()
    got = rows(tmp_path / "results.sqlite")
    passes = [r for r in got if r[1] == "pass"]
    others = [r for r in got if r[1] != "pass"]
    assert len(got) == 400
    assert all(r[2] == "saved" and (tmp_path / r[3]).is_file() for r in others)
    kept = [r[0] for r in passes if r[2] == "saved"]
    assert {r[2] for r in passes} == {"saved", "skipped"}
    assert 0.18 <= len(kept) / len(passes) <= 0.32
    assert kept == [n for n in (r[0] for r in passes) if policy.keeps_image("pass", n)]   # deterministic
    assert all(r[3] is None for r in passes if r[2] == "skipped")


def test_the_quota_prunes_the_oldest_passes_and_never_a_row(tmp_path):
    quota = 600_000                             # bytes: about 45 images of noise, with the log file
    policy = LogPolicy.from_settings({"retention": {"quota_gb": quota / 1e9}})
    errors = []
    lg = ResultLog(tmp_path / "results.sqlite", policy=policy, on_error=errors.append, checkpoint_every=10)
    for n in range(1, 121):
        publish(lg, part(n, "reject" if n % 10 == 0 else "pass", image=noise(n)))
        if n % 20 == 0:
            assert lg.flush(10)
    assert lg.flush(10)
    lg.close()
    got = rows(tmp_path / "results.sqlite")
    assert [r[0] for r in got] == list(range(1, 121))               # rows are never pruned
    rejects = [r for r in got if r[1] == "reject"]
    assert all(r[2] == "saved" and (tmp_path / r[3]).is_file() for r in rejects)
    pruned = [r[0] for r in got if r[2] == "pruned"]
    saved_passes = [r[0] for r in got if r[2] == "saved" and r[1] == "pass"]
    assert pruned and saved_passes and max(pruned) < min(saved_passes)  # the oldest passes went first
    assert lg.images_pruned == len(pruned)
    on_disk = sum(f.stat().st_size for f in (tmp_path / "images").rglob("*.png"))
    db = sum(f.stat().st_size for f in tmp_path.glob("results.sqlite*"))
    assert on_disk + db <= quota * 1.1
    assert len(list((tmp_path / "images").rglob("*.png"))) == len(rejects) + len(saved_passes)


def test_station_yaml_log_keys_are_checked():
    assert LogPolicy.from_settings({}).synchronous == "NORMAL"
    assert LogPolicy.from_settings({"durability": "power-loss"}).synchronous == "FULL"
    for bad, match in [({"durability": "fast"}, "durability must be one of normal, power-loss"),
                       ({"on_log_failure": "ignore"}, "on_log_failure must be one of continue, stop"),
                       ({"retention": {"pass_image": 0.1}}, "unknown retention key"),
                       ({"retention": {"pass_images": 2}}, "retention.pass_images must be a number from 0 to 1"),
                       ({"retention": "all"}, "retention must be a mapping")]:
        with pytest.raises(StudioError, match=match):
            LogPolicy.from_settings(bad)


def test_power_loss_durability_syncs_every_commit(tmp_path):
    lg = ResultLog(tmp_path / "results.sqlite", policy=LogPolicy(durability="power-loss"))
    assert lg._conn.execute("PRAGMA synchronous").fetchone()[0] == 2        # FULL
    lg.close()
    lg = ResultLog(tmp_path / "results.sqlite")
    assert lg._conn.execute("PRAGMA synchronous").fetchone()[0] == 1        # NORMAL
    lg.close()


# ---- a full disk, for real ----------------------------------------------
def fill(disk, leave_bytes):
    """A ballast file that leaves about ``leave_bytes`` free on ``disk`` (0: the disk is full)."""
    import shutil

    ballast = disk / "ballast.bin"
    want = shutil.disk_usage(disk).free - leave_bytes
    chunk = b"\0" * 4096
    with open(ballast, "wb", buffering=0) as f:
        written = 0
        while written < want:
            try:
                written += f.write(chunk)
            except OSError:
                break
    return ballast


def test_a_full_disk_holds_rows_in_memory_and_writes_them_when_space_returns(small_disk):
    errors, health = [], []
    data = small_disk / "station"
    lg = ResultLog(data / "results.sqlite", on_error=errors.append, watch_s=0.05,
                   on_health=lambda ok, why: health.append((ok, why)), max_held=100_000)
    ballast = fill(small_disk, 300_000)
    published = 0
    for n in range(1, 201):
        assert publish(lg, part(n, "reject" if n % 7 == 0 else "pass", image=noise(n))) is True   # continue
        published += 1
        time.sleep(0.002)
    assert until(lambda: lg.failing is not None)
    assert until(lambda: health and health[0][0] is False)
    assert "full" in health[0][1]
    assert lg.held > 0 and lg.images_failed > 0
    assert any("rows are held in memory" in e for e in errors)
    held_at_most = lg.held
    ballast.unlink()                            # space returns
    assert until(lambda: lg.held == 0 and lg.failing is None)
    assert until(lambda: len(health) == 2 and health[1][0] is True)
    lg.close()
    got = rows(data / "results.sqlite")
    assert [r[0] for r in got] == list(range(1, published + 1))     # every part, in order, none lost
    assert lg.dropped == 0 and lg.rows_lost == 0 and held_at_most > 0
    states = {r[2] for r in got}
    assert "saved" in states and "failed" in states
    assert all(r[3] is None and "image not saved" in r[4] for r in got if r[2] == "failed")
    assert all((data / r[3]).is_file() for r in got if r[2] == "saved")
    assert integrity(data / "results.sqlite") == "ok"
    assert any("writes again" in e for e in errors)


def test_a_full_memory_queue_counts_every_row_it_could_not_keep(small_disk):
    errors = []
    data = small_disk / "station"
    lg = ResultLog(data / "results.sqlite", on_error=errors.append, watch_s=0.05, max_held=5)
    for n in range(1, 4):
        publish(lg, part(n))
    ballast = fill(small_disk, 0)
    n = 3
    while lg.failing is None and n < 2000:      # fills the last pages of the WAL first
        n += 1
        publish(lg, part(n, image=None))
    first_held = n
    assert lg.failing is not None, "the disk never filled"
    for n in range(first_held + 1, first_held + 20):
        publish(lg, part(n))
    last = first_held + 19
    # the part that met the full disk and the 4 after it are held; the other 15 are counted, not kept
    assert lg.held == 5 and lg.rows_lost == 15 and lg.dropped == 15
    assert until(lambda: any("(15 rows lost so far)" in e for e in errors))

    def named():            # the part ranges the alerts name (one or several, as the writer cycles)
        out = set()
        for e in errors:
            m = re.search(r"parts (\d+)\.\.(\d+) are not logged", e)
            if m:
                out |= set(range(int(m.group(1)), int(m.group(2)) + 1))
        return out

    assert named() == set(range(first_held + 5, last + 1))
    ballast.unlink()
    assert until(lambda: lg.held == 0)
    lg.close()
    logged = [r[0] for r in rows(data / "results.sqlite")]
    assert logged == list(range(1, first_held + 5))
    assert integrity(data / "results.sqlite") == "ok"


# ---- the data directory goes away -------------------------------------
def test_a_data_directory_that_goes_away_and_comes_back_loses_nothing(tmp_path):
    data = tmp_path / "station"
    errors, health = [], []
    lg = ResultLog(data / "results.sqlite", on_error=errors.append, watch_s=0.05,
                   on_health=lambda ok, why: health.append(ok))
    for n in range(1, 21):
        publish(lg, part(n, "reject" if n == 5 else "pass", image=np.full((8, 8), n, np.uint8)))
    assert lg.flush(5)
    gone = tmp_path / "unplugged"
    data.rename(gone)                           # the drive is pulled: the path no longer leads to the log
    assert until(lambda: lg.failing is not None)
    assert "gone or replaced" in lg.failing and health == [False]
    for n in range(21, 31):
        assert publish(lg, part(n, image=np.full((8, 8), n, np.uint8)))
    assert lg.held == 10
    data.mkdir()                                # a new, empty drive at the same path
    assert until(lambda: lg.held == 0 and lg.failing is None)
    assert health == [False, True]
    for n in range(31, 36):
        publish(lg, part(n, image=np.full((8, 8), n, np.uint8)))
    lg.close()
    got = rows(data / "results.sqlite")
    assert [r[0] for r in got] == list(range(1, 36))     # the rows of the old drive came along
    assert all(r[2] == "lost" for r in got[:20])         # their images stayed on the old drive
    assert all(r[2] == "failed" for r in got[20:30])
    assert all(r[2] == "saved" and (data / r[3]).is_file() for r in got[30:])
    assert integrity(data / "results.sqlite") == "ok"
    assert rows(gone / "results.sqlite", "COUNT(*)") == [(20,)]      # the old file is intact too


def test_a_tmpfs_unmounted_under_the_station(small_disk):
    data = small_disk
    lg = ResultLog(data / "results.sqlite", watch_s=0.05)
    for n in range(1, 11):
        publish(lg, part(n))
    before = identity(data / "results.sqlite")
    r = subprocess.run(["umount", "-l", str(small_disk)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # the mount point is now the empty folder under it: the log moves there with every row
    def moved():
        return lg.failing is None and identity(data / "results.sqlite") not in (None, before)

    assert until(moved)
    for n in range(11, 16):
        publish(lg, part(n))
    lg.close()
    assert [r[0] for r in rows(data / "results.sqlite")] == list(range(1, 16))
    assert integrity(data / "results.sqlite") == "ok"


def test_low_free_space_is_reported_before_the_disk_is_full(small_disk):
    errors = []
    lg = ResultLog(small_disk / "results.sqlite", on_error=errors.append, watch_s=0.05,
                   policy=LogPolicy(warn_free_gb=0.002))       # 2 MB: the 3 MB disk is under it soon
    publish(lg, part(1))
    assert lg.flush(5)
    time.sleep(0.2)                             # a few writer cycles: nothing to say while 3 MB are free
    assert not any("GB free" in e for e in errors)
    ballast = fill(small_disk, 1_500_000)
    publish(lg, part(2))
    assert until(lambda: any("GB free, under the 0.002 GB warning" in e for e in errors))
    assert lg.failing is None                   # a warning, not a failure: rows still commit
    ballast.unlink()
    lg.close()
    assert [r[0] for r in rows(small_disk / "results.sqlite")] == [1, 2]


def test_parts_finished_after_the_log_moved_update_their_own_rows(tmp_path):
    data = tmp_path / "station"
    lg = ResultLog(data / "results.sqlite", watch_s=0.05)
    parts = [part(n, image=np.full((8, 8), n, np.uint8)) for n in range(1, 6)]
    for r in parts:
        assert lg.commit(r)                     # committed; the PLC write is "in flight"
    data.rename(tmp_path / "pulled")
    assert until(lambda: lg.failing is not None)
    # what is plugged in instead already holds a log with other rows, so the ids differ
    other_dir = tmp_path / "other"
    other = ResultLog(other_dir / "results.sqlite")
    for n in (900, 901, 902):
        publish(other, part(n, "reject"))
    other.close()
    other_dir.rename(data)
    assert until(lambda: lg.failing is None)
    parts[2]["verdict"], parts[2]["verdict_code"], parts[2]["error"] = "fault", 3, "PLC write failed"
    for r in parts:
        r["t_actuated"], r["latency_ms"] = time.time(), 12.5
        lg.finish(r)
    lg.close()
    got = rows(data / "results.sqlite", "part, verdict, latency_ms, image_state, note")
    assert [g[0] for g in got] == [1, 2, 3, 4, 5, 900, 901, 902]
    assert [g[1] for g in got[:5]] == ["pass", "pass", "fault", "pass", "pass"]
    assert all(g[2] == 12.5 and g[3] == "saved" for g in got[:5]), got
    assert got[2][4] == "PLC write failed"
    assert all(g[1] == "reject" and g[2] != 12.5 for g in got[5:])     # the other rows untouched
