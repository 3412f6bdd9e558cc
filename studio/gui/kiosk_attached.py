"""``studio kiosk DATA_DIR``: the kiosk in a process of its own, attached to a running station.

The window is ``kiosk.KioskWindow`` on an ``AttachedStation`` handle
(``studio.station.handle``): the parts come from the result log, the state,
figures and alerts from the station's status file. Killing this process leaves
the station inspecting; a new kiosk shows the newest parts at once.
``companion``: started by ``studio station run --kiosk`` (the station
supervises it), it closes when the station ends.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication


def run_attached_kiosk(data_dir: str | Path, *, companion: bool = False, windowed: bool = False) -> int:
    """Show the kiosk on the station writing to ``data_dir`` until it is closed (0)."""
    from studio.gui.exception_hook import install_excepthook
    from studio.gui.kiosk import KioskWindow, _QuitOnClose
    from studio.gui.style import STYLE_SHEET, app_icon
    from studio.station.handle import ABSENT, AttachedStation

    handle = AttachedStation(data_dir, resolved=True)     # the caller resolved it (studio.station.handle.resolve)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
    install_excepthook()
    from studio.gui.gc_policy import collect_on_gui_thread

    collect_on_gui_thread(app)
    window = KioskWindow(handle, owns_station=companion)
    quit_on_close = _QuitOnClose(window, app)
    from studio.gui.kiosk_lock import lock_kiosk

    lock = lock_kiosk(window, handle)       # after _QuitOnClose: only an engineer's PIN closes the kiosk
    if companion:       # the station process is gone without saying it stopped (killed): so is its kiosk
        seen = set()

        def on_state(state: str) -> None:
            seen.add(state)
            if state == ABSENT and seen - {ABSENT}:
                lock.release()          # the station ended: its kiosk goes with it, no PIN
                window.close()

        window.bridge.state.connect(on_state)
    try:
        handle.start()
        if windowed:
            window.resize(1280, 800)
            window.show()
        else:
            window.showFullScreen()
        app.exec()
    finally:
        window.removeEventFilter(quit_on_close)
        lock.release()
        handle.close()
        window.bridge.detach()
        window.close()
    return 0
