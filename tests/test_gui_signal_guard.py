"""Hours of Qt calls must not crash the studio.

PySide6 6.12.0 on CPython 3.11 drops a reference to ``True`` per ``emit()`` and to
``None`` per void method call; ``studio.gui`` guards against it on import.
"""
import subprocess
import sys


import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips

SCRIPT = r"""
import studio.gui
from PySide6.QtCore import QObject, Signal

class Feed(QObject):
    part = Signal(object)
    progress = Signal(float)

feed = Feed()
feed.part.connect(lambda r: None)
for i in range(100_000):           # a few hours of a station's events and label updates
    feed.part.emit(i)
    feed.progress.emit(0.5)
    feed.setObjectName(str(i))
import gc
gc.collect()
print("still alive")
"""


def test_many_signal_emits_do_not_crash_the_process():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
                       cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "still alive" in r.stdout
