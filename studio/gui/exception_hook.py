"""Unexpected errors end up in a dialog, never silently: ``install_excepthook`` (the studio and the kiosk)."""
from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

_installed = False
_shown = 0
MAX_ERROR_DIALOGS = 5          # an error in a timer must not bury the screen in dialogs


def show_unexpected(exc_type: type, exc: BaseException, tb: Any) -> None:
    """sys.excepthook: a plain dialog with the message, the traceback under "details"."""
    global _shown
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.__stderr__ and sys.__stderr__.write(details)
    app = QApplication.instance()
    if app is None or _shown >= MAX_ERROR_DIALOGS:
        return
    from studio.core.errors import StudioError
    from studio.gui.widgets.errors import error_dialog

    _shown += 1
    if isinstance(exc, StudioError):
        error_dialog(app.activeWindow(), exc)
        return
    error_dialog(app.activeWindow(),
                 f"Something unexpected went wrong: {exc or exc_type.__name__}\n\nYour project files are "
                 "safe (every save is atomic). If this happens again, copy the details into a bug report.",
                 "Unexpected error", details=details)


def install_excepthook() -> None:
    """Unexpected errors, in the GUI thread or any other, end up in a dialog, never silently."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.excepthook = show_unexpected

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        # another thread: hand the error to the GUI thread
        app = QApplication.instance()
        if app is not None:
            QTimer.singleShot(0, app, lambda: show_unexpected(args.exc_type, args.exc_value, args.exc_traceback))
        else:
            sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)

    threading.excepthook = thread_hook
