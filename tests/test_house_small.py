"""Small things found by trying the studio: lock files stay out of git, the PLC tooltip's specs parse."""
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_label_lock_files_in_the_demo_project_are_ignored_by_git():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for name in ("labels.jsonl.lock", "criteria.yaml.lock", "labeling.yaml.lock"):
        rel = f"projects/demo/{name}"
        r = subprocess.run(["git", "check-ignore", "-q", rel], cwd=REPO)
        assert r.returncode == 0, f"{rel} would show as an untracked file"


def test_a_label_save_in_the_demo_project_leaves_git_status_clean(tmp_path):
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    from studio.core.locking import file_lock

    lock = REPO / "projects" / "demo" / "labels.jsonl.lock"
    existed = lock.exists()
    with file_lock(REPO / "projects" / "demo" / "labels.jsonl"):
        pass
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "projects/demo"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        assert "lock" not in out
    finally:
        if not existed:
            lock.unlink(missing_ok=True)


@pytest.mark.gui
def test_the_plc_tooltip_gives_specs_that_parse():
    import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
    from studio.gui.pages.station import plc_spec_tooltip
    from studio.plc.base import PLC_LINKS, parse_spec

    tip = plc_spec_tooltip()
    examples = re.findall(r"\b([a-z][a-z0-9-]*://[0-9.]+:[0-9]+)", tip)
    assert "modbus-server://0.0.0.0:5020" in examples
    assert "modbus:0.0.0.0" not in tip
    for spec in examples + ["sim"]:
        name, arg = parse_spec(spec)
        assert name in PLC_LINKS, spec
        PLC_LINKS.get(name).from_spec(arg, spec)            # builds (not started): the spec is valid
