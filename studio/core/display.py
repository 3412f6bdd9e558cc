"""Is there a screen to open a window on? Asked before Qt is imported.

Without one Qt aborts the process with a misleading message about xcb
plugins; the studio says what is wrong instead.
"""
from __future__ import annotations

import os
import sys

from studio.core.errors import StudioError


def require_display() -> None:
    """Raise a ``StudioError`` when no window can be opened (Linux without X11 or Wayland)."""
    if not sys.platform.startswith("linux"):
        return
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    raise StudioError(
        "there is no display to open the studio window on (neither DISPLAY nor WAYLAND_DISPLAY is set)",
        hint="run it from a desktop session; over SSH use 'ssh -X' or 'xvfb-run -a studio gui PROJECT'; "
             "every step also runs headless from the command line (studio --help)")
