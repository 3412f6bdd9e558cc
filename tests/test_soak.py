"""The soak's short version: the same run and the same assertions as ``benchmarks/soak.py``.

Parts from the simulated camera through the real Modbus server, polled by a
real pymodbus client; the SQLite log must hold exactly the parts the PLC
link published, the client's reads must match logged parts, and memory,
open files and threads must not grow. The data directory is on tmpfs where
there is one: the soak measures the station, not this machine's disk.
"""
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

import pymodbus  # noqa: E402,F401  a core dependency: a broken install fails, never skips
import onnx  # noqa: E402,F401  a core dependency: a broken install fails, never skips

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


@pytest.fixture(scope="module")
def soak():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_dir(tmp_path):
    shm = Path("/dev/shm")
    # a container's /dev/shm may be 64 MB: the 2,000 images need ~50 MB, so ask for room to spare
    if shm.is_dir() and shutil.disk_usage(shm).free > 256 * 2**20:
        folder = Path(tempfile.mkdtemp(prefix="test-soak-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path / "data"


@pytest.fixture(scope="module")
def project(soak, tmp_path_factory):
    return soak.plain_project(tmp_path_factory.mktemp("soak") / "p")


def test_short_soak_logs_every_published_part(soak, project, data_dir):
    lines = []
    report = soak.run_soak(project, parts=2000, every=500, data_dir=data_dir, out=lines.append)
    assert report["failures"] == [], "\n".join(lines)
    assert report["published"] == report["rows"] == 2000
    assert [w["parts"] for w in report["windows"]] == ["1-500", "501-1000", "1001-1500", "1501-2000"]
    assert all(w["published"] == w["rows"] == 500 for w in report["windows"])
    assert all(0 <= w["latency_ms_median"] <= w["latency_ms_p99"] for w in report["windows"])
    assert len(report["samples"]) == 4 and all(s["fds"] and s["rss_mb"] > 0 for s in report["samples"])
    # the threshold sits where about a fifth of the simulated parts reject: both verdicts occur
    assert report["verdicts"].get("pass", 0) > 0 and report["verdicts"].get("reject", 0) > 0
    assert report["client"]["changes_seen"] > 10 and report["client"]["read_errors"] == 0
    assert report["client"]["last"][1] == 2000 and report["images_kept"] <= 2000


def test_the_soak_catches_a_part_the_log_lost(soak, project, data_dir):
    import sqlite3

    def lose_part_7(log_path):          # the PLC got part 7; the log has lost it
        with sqlite3.connect(log_path) as con:
            con.execute("DELETE FROM results WHERE part = 7")

    report = soak.run_soak(project, parts=60, every=30, data_dir=data_dir, out=lambda line: None,
                           after_run=lose_part_7)
    assert any("59 rows logged vs 60 parts published" in f for f in report["failures"])
    assert any("parts published but not logged: [7]" in f for f in report["failures"])
    assert any(f.startswith("parts 1-30: 29 rows vs 30 published") for f in report["failures"])


def test_short_soak_over_opcua_every_part_has_its_event_and_its_row(soak, project, data_dir):
    """The same soak through the OPC UA server with a subscribing client: one ResultReady event per part,
    each matching its logged row."""
    port = soak.free_port()
    lines = []
    report = soak.run_soak(project, parts=500, every=250, data_dir=data_dir, out=lines.append,
                           plc_spec=f"opcua-server://127.0.0.1:{port}?anonymous=1&security=none")
    assert report["failures"] == [], "\n".join(lines)
    assert report["published"] == report["rows"] == 500
    assert report["client"]["changes_seen"] == 500 and report["client"]["read_errors"] == 0
