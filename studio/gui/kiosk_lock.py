"""The locked kiosk: full screen without window decorations, and only an engineer leaves it.

``lock_kiosk(window, station)`` makes the kiosk window frameless and on top
and filters its events: Esc, Alt+F4 (the window manager's close), any other
close and the stop that follows all first ask for an engineer's PIN (or
password). A wrong one, or a person without the engineer role, never leaves
the kiosk: the event is swallowed, the kiosk says so, and the attempt is a
``signin.refused`` (or ``action.refused``) entry of the station's audit trail
(its data directory); leaving is ``kiosk.left``. The window closing by itself
(the station finished its ``--parts``) needs nobody.

Before the first account exists (``studio users add``) there is no PIN to ask
for and the lock is off; ``locked`` says which. A window manager that kills
the process is beyond any application; the installer's kiosk session (cage)
covers that.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from studio.access.roles import AccessDenied, holds
from studio.access.users import UserList, user_list
from studio.audit.trail import AuditTrail

Credentials = tuple[str, str]


class PinDialog(QDialog):
    """An engineer's name and PIN (or password), on top of the kiosk."""

    def __init__(self, what: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Engineer PIN")
        self.setModal(True)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        lay = QVBoxLayout(self)
        text = QLabel(f"{what} needs an engineer. Enter your name and PIN.")
        text.setWordWrap(True)
        lay.addWidget(text)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Name", self.name_edit)
        form.addRow("PIN", self.pin_edit)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def credentials(self) -> Credentials:
        return self.name_edit.text().strip(), self.pin_edit.text()


def ask_pin(parent: QWidget | None, what: str) -> Credentials | None:
    dialog = PinDialog(what, parent)
    return dialog.credentials() if dialog.exec() == QDialog.DialogCode.Accepted else None


class KioskLock(QObject):
    """Guards one kiosk window (see the module's text)."""

    def __init__(self, window: QWidget, users: UserList, trail: AuditTrail | None,
                 ask: Callable[[QWidget | None, str], Credentials | None] | None = None):
        super().__init__(window)
        self.window = window
        self.users = users
        self.trail = trail
        self.ask = ask or (lambda parent, what: ask_pin(parent, what))
        self.unlocked = False
        self.unlocked_by: str | None = None     # the engineer who gave the PIN (stop_as: who stops the station)
        self.released = False
        try:
            self.locked = users.enforced
        except Exception:  # noqa: BLE001 - a missing or damaged user list keeps the kiosk locked
            self.locked = True
        if self.locked:
            window.setWindowFlags(window.windowFlags() | Qt.WindowType.FramelessWindowHint
                                  | Qt.WindowType.WindowStaysOnTopHint)
        window.installEventFilter(self)

    def release(self) -> None:
        """The program itself is ending (the station finished): let the window go."""
        self.released = True
        self.window.removeEventFilter(self)

    def unlock(self, what: str) -> bool:
        """Ask for an engineer's PIN; True when one gave it (a ``kiosk.left`` entry)."""
        creds = self.ask(self.window, what)
        if creds is None:
            return False
        name, secret = creds
        try:
            user = self.users.sign_in(name, secret, pin=None, trail=self.trail, where="kiosk")
        except (AccessDenied, Exception) as e:  # noqa: BLE001 - nothing here may leave the kiosk
            self._say(f"Wrong name or PIN: the kiosk stays. ({getattr(e, 'message', e)})")
            return False
        if not holds(user.roles, "engineer"):
            if self.trail is not None:
                self.trail.append("action.refused", actor=user.name, what="kiosk.left", after={"role": "engineer"})
            self._say(f"{user.name} is no engineer: the kiosk stays.")
            return False
        if self.trail is not None:
            self.trail.append("kiosk.left", actor=user.name, what=what, meaning="responsibility")
        self.unlocked, self.unlocked_by = True, user.name
        return True

    def _say(self, text: str) -> None:
        show = getattr(self.window, "on_alert", None)
        if callable(show):
            show(text, "warning")

    def _relock(self) -> None:
        """After Esc the engineer may choose to stay (No to stopping): lock again."""
        if self.window.isVisible() and not self.released:
            self.unlocked, self.unlocked_by = False, None
            if self.locked and not self.window.isFullScreen():
                self.window.showFullScreen()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is not self.window or self.released or not self.locked or self.unlocked:
            return False
        kind = event.type()
        if kind == QEvent.Type.Close:
            if getattr(self.window, "finished", False) and getattr(self.window, "owns_station", False):
                return False                    # the station finished its parts: the kiosk closes itself
            if self.unlock("Closing the kiosk"):
                return False
            event.ignore()
            return True
        if kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            if self.unlock("Leaving the kiosk"):
                QTimer.singleShot(0, self._relock)
                return False                    # the kiosk's own Esc: leave full screen, ask to stop
            return True
        return False


def lock_kiosk(window: QWidget, station: Any, **kwargs: Any) -> KioskLock:
    """Lock ``window`` (a ``KioskWindow``) with the accounts governing ``station.project``."""
    root = getattr(getattr(station, "project", None), "root", None)
    data_dir = getattr(station, "data_dir", None) or root
    lock = KioskLock(window, user_list(root), AuditTrail(data_dir) if data_dir is not None else None, **kwargs)
    window.kiosk_lock = lock
    return lock


def stop_as(window: QWidget) -> dict[str, str]:
    """``stop()``'s ``by``/``reason`` when the station is stopped from ``window``: the engineer who unlocked
    its kiosk; ``{}`` when nobody did (without accounts the lock is off: the station records the OS login)."""
    name = getattr(getattr(window, "kiosk_lock", None), "unlocked_by", None)
    return {"by": name, "reason": "stopped at the kiosk"} if name else {}
