"""Qt's part of ``studio selfcheck``, run in a child process (``python -m studio.gui.selfcheck``).

A missing system library makes Qt abort the process it runs in, so the CLI
runs this apart and reads one line: the Qt version, the platform, and whether
the desktop (xcb) platform plugin finds all its libraries.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def xcb_missing() -> list[str] | None:
    """Libraries the xcb (desktop) platform plugin needs and this machine lacks; None if not checkable."""
    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file() or shutil.which("ldd") is None:
        return None
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30).stdout
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(["studio-selfcheck"])
    label = QLabel("Inspection Studio")
    label.resize(200, 40)
    image = label.grab().toImage()
    if image.width() < 1 or image.height() < 1:
        print("Qt rendered an empty widget", file=sys.stderr)
        return 1
    missing = xcb_missing()
    if missing:
        print(f"the desktop platform plugin (xcb) lacks {', '.join(missing)}: run installer/setup.sh "
              "or installer/install-offline.sh", file=sys.stderr)
        return 1
    xcb = "xcb libraries present" if missing == [] else "xcb not checked"
    print(f"PySide6 {pyside_version}, platform {app.platformName()}, rendered {image.width()}x{image.height()}, {xcb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
