"""The result log: SQLite in WAL mode, images next to it, a writer that never blocks the station."""
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from waiting import until

from studio.core.errors import StudioError
from studio.results import ResultLog, ResultReader
from studio.results import log as log_module
from studio.results import schema
from studio.results.schema import COLUMNS

REPO = Path(__file__).resolve().parents[1]


def result(part, verdict="pass", image=True, t=None, **extra):
    t = time.time() if t is None else t
    code = {"pass": 1, "reject": 2, "fault": 3}[verdict]
    img = None
    if image:
        img = np.zeros((12, 16, 3), np.uint8)
        img[..., 0] = part % 256            # red channel: checks RGB stays RGB on disk
        img[0, 0] = (1, 2, 3)
    row = dict(part=part, frame_id=part + 100, verdict=verdict, verdict_code=code,
               score=np.float32(0.25 * code), defect_class="scratch" if code == 2 else None,
               class_id=1 if code == 2 else 0, model_id="m1", image=img, t_trigger=t - 0.01,
               t_captured=t - 0.008, t_decided=t - 0.002, t_actuated=t, latency_ms=10.0,
               error="model failed" if code == 3 else None)
    row.update(extra)
    return row


@pytest.fixture
def errors():
    return []


@pytest.fixture
def log(tmp_path, errors):
    lg = ResultLog(tmp_path / "data" / "results.sqlite", on_error=errors.append)
    yield lg
    lg.close()


def test_wal_mode_and_schema(log):
    con = sqlite3.connect(log.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(schema.SCHEMA_VERSION)
    assert con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000    # this reader's own default
    columns = [r[1] for r in con.execute("PRAGMA table_info(results)")]
    assert columns == ["id", *COLUMNS]
    con.close()


def test_200_rows_and_their_images(tmp_path, errors):
    lg = ResultLog(tmp_path / "results.sqlite", on_error=errors.append)
    t0 = time.time()
    paths = [lg.append(result(i, ("pass", "reject", "fault")[i % 3], t=t0 + i)) for i in range(1, 201)]
    lg.close()
    assert errors == [] and lg.dropped == 0
    assert paths[0] == f"images/{time.strftime('%Y%m%d', time.localtime(t0 + 1))}/part-000001.png"

    con = sqlite3.connect(tmp_path / "results.sqlite")
    rows = con.execute("SELECT part, verdict, verdict_code, score, class_id, image_path, note, frame_id "
                       "FROM results ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, 201))
    assert [r[1] for r in rows] == [("pass", "reject", "fault")[i % 3] for i in range(1, 201)]
    assert rows[0][2:5] == (2, 0.5, 1) and rows[0][7] == 101          # part 1: a reject of class 1
    assert rows[1][2:5] == (3, 0.75, 0) and rows[1][6] == "model failed"
    assert rows[2][2:5] == (1, 0.25, 0) and rows[2][6] is None
    assert [r[5] for r in rows] == paths
    for part, *_, image_path, _note, _frame in rows[:5] + rows[-5:]:
        bgr = cv2.imread(str(tmp_path / image_path))
        assert bgr is not None and bgr.shape == (12, 16, 3)
        assert bgr[5, 5, 2] == part % 256 and tuple(bgr[0, 0]) == (3, 2, 1)
    assert not list(tmp_path.rglob("*.tmp"))        # written atomically: no leftovers


def test_mono_images_and_rows_without_image(log):
    mono = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert log.append(result(1, image=False)) is None
    path = log.append(result(2) | {"image": mono})
    assert log.flush(5)
    assert np.array_equal(cv2.imread(str(log.data_dir / path), cv2.IMREAD_UNCHANGED), mono)
    assert [r["image_path"] for r in log.recent(2)] == [path, None]


def test_readers_see_rows_while_the_station_writes(log):
    other = sqlite3.connect(log.path)               # e.g. a report script
    reader = ResultReader(log.path)                 # read-only, as a dashboard would open it
    for batch in range(4):
        for i in range(25):
            log.append(result(batch * 25 + i + 1))
        assert log.flush(5)
        n = (batch + 1) * 25
        assert other.execute("SELECT COUNT(*) FROM results").fetchone()[0] == n
        assert reader.count() == n and log.count() == n
    # a second process too, while this one keeps the log open for writing
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from studio.results import ResultReader; "
            f"r = ResultReader({str(log.path)!r}); print(r.count(), r.recent(1)[0]['part'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["100", "100"]
    with pytest.raises(sqlite3.OperationalError):   # and it really is read-only
        reader._conn.execute("DELETE FROM results")
    reader.close()
    other.close()


def test_concurrent_reads_never_disturb_writes(log):
    stop = threading.Event()
    seen = []

    def poll():
        reader = ResultReader(log.path)
        while not stop.is_set():
            seen.append(reader.count())
        reader.close()

    poller = threading.Thread(target=poll)
    poller.start()
    for i in range(1, 151):
        log.append(result(i, image=False))
    assert log.flush(10)
    stop.set()
    poller.join(5)
    assert seen == sorted(seen) and log.count() == 150


def test_unwritable_image_folder_still_logs_the_row(tmp_path, errors):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the images folder should be")
    lg = ResultLog(tmp_path / "results.sqlite", images_dir=blocker / "images", on_error=errors.append)
    for i in (1, 2, 3):
        lg.append(result(i))
    lg.close()
    con = sqlite3.connect(tmp_path / "results.sqlite")
    rows = con.execute("SELECT part, image_path, note FROM results ORDER BY part").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert all(r[1] is None and "image not saved" in r[2] for r in rows)
    states = con.execute("SELECT image_state FROM results").fetchall()
    assert states == [("failed",)] * 3
    assert len(errors) == 3 and all("image not saved" in e for e in errors)
    assert lg.dropped == 0


def test_a_database_error_holds_rows_and_writes_them_when_it_is_back(tmp_path, errors):
    health = []
    lg = ResultLog(tmp_path / "results.sqlite", on_error=errors.append, watch_s=0.05,
                   on_health=lambda ok, why: health.append(ok))
    con = sqlite3.connect(lg.path)
    con.execute("DROP TABLE results")               # a broken log file, as far as the station can tell
    con.commit()
    assert lg.commit(result(1, image=False)) is True    # on_log_failure: continue
    lg.finish(result(1, image=False))
    assert lg.held == 1 and lg.failing and "cannot commit" in lg.failing
    assert until(lambda: health == [False])
    assert lg.commit(result(2, image=False)) is True and lg.held == 2
    con.executescript(log_module.schema._RESULTS_V1)     # the table comes back (in its v1 form, then v2's and v3's columns)
    for statement in ("part_id TEXT", "image_state TEXT", "image_bytes INTEGER", "watching INTEGER DEFAULT 0"):
        con.execute(f"ALTER TABLE results ADD COLUMN {statement}")
    con.commit()
    assert until(lambda: lg.held == 0 and lg.failing is None)
    assert until(lambda: health == [False, True])
    lg.close()
    assert [r[0] for r in con.execute("SELECT part FROM results ORDER BY part")] == [1, 2]
    assert lg.dropped == 0 and any("writes again: 2 held rows" in e for e in errors)
    con.close()




def test_append_never_blocks_when_the_writer_is_stuck(tmp_path, errors, monkeypatch):
    release = threading.Event()
    real = log_module.encode_png
    monkeypatch.setattr(log_module, "encode_png", lambda image: (release.wait(10), real(image))[1])
    image_bytes = result(1)["image"].nbytes
    lg = ResultLog(tmp_path / "results.sqlite", on_error=errors.append, max_pending=8,
                   max_image_bytes=3 * image_bytes)
    t0 = time.perf_counter()
    paths = [lg.append(result(i)) for i in range(1, 21)]
    elapsed = time.perf_counter() - t0
    release.set()
    lg.close()
    assert elapsed < 0.5, f"append blocked for {elapsed:.2f} s"
    con = sqlite3.connect(tmp_path / "results.sqlite")
    logged = con.execute("SELECT part, image_path, image_state FROM results ORDER BY part").fetchall()
    # every row is committed at once; only images wait, and those that do not fit are left out and counted
    assert [r[0] for r in logged] == list(range(1, 21)) and lg.dropped == 0
    assert lg.images_skipped > 0 and sum(p is not None for p in paths) <= 8
    with_image = [p for p, path, _ in logged if path]
    assert 1 <= len(with_image) <= 3
    assert all(state == "saved" for _, path, state in logged if path)
    assert {state for _, path, state in logged if not path} == {"skipped"}
    assert any("images not saved" in e for e in errors)


def test_figures_for_the_dashboard(log):
    hour = 3600.0 * 480_000                         # a clock hour, in seconds since the epoch
    verdicts = ["pass"] * 6 + ["reject"] * 3 + ["fault"]
    for i, v in enumerate(verdicts):
        log.append(result(i + 1, v, image=False, t=hour + 10 + i))      # hour 1: 4 of 10 rejected
    log.append(result(11, "pass", image=False, t=hour + 3600 + 5))     # hour 2: 0 of 2
    log.append(result(12, "pass", image=False, t=hour + 3600 + 6))
    log.append(result(13, "reject", image=False, t=hour + 7, shadow=1))  # a shadow verdict: not counted
    assert log.flush(5)
    assert log.count() == 12
    assert log.counts() == {"pass": 8, "reject": 3, "fault": 1}
    assert [r["part"] for r in log.recent(3)] == [12, 11, 10]
    assert log.last_part() == 13
    rates = log.reject_rate_per_hour(hours=3, now=hour + 3600 + 100)
    assert rates == [{"hour": hour, "parts": 10, "rejected": 4, "review": 0, "rate": 0.4},
                     {"hour": hour + 3600, "parts": 2, "rejected": 0, "review": 0, "rate": 0.0}]
    assert log.reject_rate_per_hour(hours=1, now=hour + 3600 + 100)[0]["hour"] == hour + 3600


def test_a_log_from_a_newer_studio_is_refused(tmp_path):
    path = tmp_path / "results.sqlite"
    ResultLog(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StudioError, match="newer than this studio"):
        ResultLog(path)


def test_an_unusable_data_folder_is_a_studio_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StudioError, match="cannot open the result log") as err:
        ResultLog(tmp_path / "file" / "results.sqlite")
    assert "--data-dir" in str(err.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_the_writer_thread_yields_the_cores_to_the_station(log):
    """The writer (PNG encoding) runs WRITER_NICE steps nicer than the station's threads."""
    import os

    assert until(lambda: getattr(log, "writer_niced", False), 5)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, log._writer.native_id) == min(19, mine + log_module.WRITER_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine      # only the writer
