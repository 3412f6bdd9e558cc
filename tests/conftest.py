import inspect
import os
import re
import warnings
from pathlib import Path

# GUI tests run offscreen; nothing downloads at run time.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _station_config(tmp_path_factory, monkeypatch):
    """Each test gets its own empty station configuration folder (the line PC's user list),
    so an account made on this machine never switches access control on in a test."""
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path_factory.mktemp("station-config")))
    monkeypatch.delenv("STUDIO_USER", raising=False)
    monkeypatch.delenv("STUDIO_PASSWORD", raising=False)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared industrial images at {SHARED_DATA} "
                    "(set STUDIO_SHARED_DATA to their folder)")
    return SHARED_DATA


@pytest.fixture
def demo_project(tmp_path):
    from studio.project import Project

    return Project.create(tmp_path / "demo", template="demo")


# ---- markers, applied here by what a test uses, so each means the same in every file ----
# gui:  uses qtbot, or imports Qt (PySide6, pyqtgraph, studio.gui) in its module or its body
# data: uses the shared_data fixture (../shared/data)
# slow: trains a model or runs a station end to end: the files, fixtures and tests below,
#       chosen by measuring each file with --durations and CPU time (docs/ARCHITECTURE.md,
#       "Tests and checks"); a new slow test is added here (or marked in its file).
# `pytest -m "not slow"` is the quick loop; CI runs everything.
SLOW_FILES = {
    "tests/test_end_to_end.py",                 # the whole line: camera, model, PLC, log
}
SLOW_FIXTURES = {"trained", "peer"}             # module fixtures of test_training_* that train a model
SLOW_TESTS = {
    "tests/test_bakeoff.py::test_side_by_side_table",                      # trains each candidate
    "tests/test_bakeoff.py::test_cli_bakeoff_json",
    "tests/test_training_augment.py::test_classification_reports_synthetic_defects_separately",
    "tests/test_training_gui_panels.py::test_bakeoff_table_fills_row_by_row",
    "tests/test_training_runner.py::test_anomaly_end_to_end_in_a_subprocess",
    "tests/test_training_anomaly_peer.py::test_grouped_greedy_matches_anomalib_k_center_greedy_coverage",  # 17 s
    "tests/test_gui_lighting_drift.py::test_kiosk_shows_the_lighting_drift_alert",   # a 200-part station
    "tests/test_evaluation_review_station.py::test_station_sends_review_to_the_plc_with_a_real_model",
    "tests/test_gui_threshold_picker.py::test_mistake_gallery_and_heat_map",          # 6 s of CPU
    "tests/test_selfcheck.py::test_selfcheck_passes_on_a_whole_installation",         # imports everything
}
_QT_AT_TOP = re.compile(r"^(from|import)\s+(PySide6|pyqtgraph|studio\.gui)\b", re.M)
_QT_ANYWHERE = re.compile(r"^\s*(from|import)\s+(PySide6|pyqtgraph|studio\.gui)\b", re.M)


def _uses_qt(item, sources: dict) -> bool:
    if "qtbot" in getattr(item, "fixturenames", ()):
        return True
    path = Path(str(item.fspath))
    if path not in sources:
        sources[path] = bool(_QT_AT_TOP.search(path.read_text(encoding="utf-8")))
    if sources[path]:
        return True
    function = getattr(item, "function", None)
    try:
        return function is not None and bool(_QT_ANYWHERE.search(inspect.getsource(function)))
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    sources: dict = {}
    files, named = set(), set()
    for item in items:
        file, _, name = item.nodeid.partition("::")
        files.add(file)
        named.add(f"{file}::{name.split('[')[0]}")
        if (file in SLOW_FILES or f"{file}::{name.split('[')[0]}" in SLOW_TESTS
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)
        if _uses_qt(item, sources):
            item.add_marker(pytest.mark.gui)
    # a renamed slow test would silently lose its marker: say so
    for missing in sorted(t for t in SLOW_TESTS - named if t.partition("::")[0] in files):
        warnings.warn(pytest.PytestWarning(f"conftest SLOW_TESTS names {missing}, which is not collected"),
                      stacklevel=2)


# ---- PostgreSQL (the central store): a real server for the session, a fresh database per test ----
@pytest.fixture(scope="session")
def pg_server():
    from pg_server import PgServer, bin_dir

    if bin_dir() is None:
        pytest.skip("needs PostgreSQL's server (installer/setup.sh installs Debian's postgresql)")
    server = PgServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server, request):
    import uuid

    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
