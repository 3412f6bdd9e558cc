"""Only studio/gui may import PySide6 or pyqtgraph (the Qt boundary).

Every other module is imported in a fresh interpreter with Qt blocked: an
import of PySide6/pyqtgraph anywhere below the GUI fails there, so the
station and every CLI command keep running on a machine with no display.
"""
import re
import subprocess
import sys
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"
QT_IMPORT = re.compile(r"^\s*(from|import)\s+(PySide6|pyqtgraph|PyQt5|PyQt6|shiboken6)\b", re.M)

BLOCKER = r"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6'):
            raise ImportError(f'Qt is blocked below studio/gui: {name}')
        return None
sys.meta_path.insert(0, Block())
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as e:
        failed.append(f'{name}: {type(e).__name__}: {e}')
print('\n'.join(failed))
sys.exit(1 if failed else 0)
"""


def non_gui_modules() -> list[str]:
    names = []
    for path in sorted(STUDIO.rglob("*.py")):
        rel = path.relative_to(STUDIO.parent).with_suffix("")
        parts = rel.parts
        if parts[1:2] == ("gui",) or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_no_qt_import_statements_outside_gui():
    offenders = [str(p.relative_to(STUDIO.parent)) for p in STUDIO.rglob("*.py")
                 if "gui" not in p.relative_to(STUDIO).parts[:1] and QT_IMPORT.search(p.read_text())]
    assert offenders == []


def test_every_non_gui_module_imports_with_qt_blocked():
    modules = non_gui_modules()
    assert "studio.station" in modules and "studio.cli.main" in modules
    proc = subprocess.run([sys.executable, "-c", BLOCKER, *modules], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_blocker_really_blocks():
    proc = subprocess.run([sys.executable, "-c", BLOCKER, "pyqtgraph"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and "blocked" in proc.stdout
