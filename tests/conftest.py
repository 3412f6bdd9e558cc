import os
from pathlib import Path

# GUI tests run offscreen; nothing downloads at run time.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))


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
