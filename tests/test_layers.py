"""The layer diagram of docs/ARCHITECTURE.md holds (import-linter's contracts in pyproject.toml), in the test loop too."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_imports_point_down_the_layers_and_qt_stays_in_the_gui():
    lint = Path(sys.executable).parent / "lint-imports"          # import-linter, of the dev extra
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([str(lint), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "2 kept, 0 broken" in r.stdout
