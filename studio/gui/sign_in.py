"""Who is at the studio: the sign-in dialog, the session, the status-bar badge.

``session_for(project)`` is the one ``Session`` of a project's window: the
signed-in person (``None``: nobody, the operator role), signed out after the
admin's idle time without keyboard or mouse input (``studio users idle``).
Pages ask it before an action that needs a role::

    ok = session_for(self.project).authorize(self, "engineer", "Setting the threshold", action="threshold.set")
    if ok is None:
        return                      # refused: the person was told and asked to sign in
    user, reason = ok               # reason: asked for engineer actions

The labeler of every label is ``session.labeler()``: the signed-in person,
never a typed name. Before the first account exists (``studio users add``)
nothing is enforced and the person is the OS login. Sign-ins and refusals are
entries of the project's audit trail.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QInputDialog,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from studio.core.folders import project_folder
from studio.access.roles import ROLE_WORDS, AccessDenied, holds
from studio.access.users import User, UserList, open_user, user_list
from studio.audit.trail import AuditTrail

IDLE_CHECK_MS = 5000
_INPUT_EVENTS = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                 QEvent.Type.TouchBegin}


class Session(QObject):
    """The person signed in to one project's window (``None``: the operator role)."""

    changed = Signal(object)            # the User, or None

    def __init__(self, users: UserList, trail: AuditTrail | None, parent: QObject | None = None):
        super().__init__(parent)
        self.users = users
        self.trail = trail
        self.user: User | None = None
        self.last_input = time.monotonic()
        self.idle_s: float | None = None            # None: the admin's setting in the user list
        # how a refused person is asked to sign in, and how a reason is asked: replaceable (tests, kiosk)
        self.sign_in_prompt: Callable[[QWidget | None, str, str], User | None] = self._dialog_prompt
        self.reason_prompt: Callable[[QWidget | None, str], str | None] = _ask_reason
        self.timer = QTimer(self)
        self.timer.setInterval(IDLE_CHECK_MS)
        self.timer.timeout.connect(self.check_idle)
        self.timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    # ---- who -------------------------------------------------------------------------
    @property
    def enforced(self) -> bool:
        """Access control is on (cached on the list file's change time: pages ask often)."""
        try:
            st = self.users.path.stat()
            stamp: Any = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if getattr(self, "_enforced_at", ()) != stamp:
            try:
                value = self.users.enforced
            except Exception:  # noqa: BLE001 - a missing or broken list: enforced (it says why on sign-in)
                value = True
            self._enforced_at, self._enforced = stamp, value
        return self._enforced

    def current(self) -> User | None:
        """The signed-in person; without any account the OS login with every role."""
        if self.user is not None:
            return self.user
        return None if self.enforced else open_user()

    def labeler(self) -> str:
        """The name labels are recorded under: the signed-in person ('' when nobody is)."""
        u = self.current()
        return u.name if u is not None else ""

    def describe(self) -> str:
        u = self.current()
        if u is None:
            return "Operator (nobody signed in)"
        if u.open:
            return f"{u.name} (no accounts yet: access control is off)"
        return f"Signed in: {u.name} ({', '.join(ROLE_WORDS[r] for r in u.roles) or 'operator'})"

    # ---- signing in and out ----------------------------------------------------------
    def sign_in(self, name: str, secret: str) -> User:
        """Check the password (or PIN); raises ``AccessDenied``. Each attempt is an audit entry."""
        user = self.users.sign_in(name.strip(), secret, pin=None, trail=self.trail, where="studio")
        self.user = user
        self.touch()
        self.changed.emit(user)
        return user

    def sign_out(self) -> None:
        if self.user is not None:
            self.user = None
            self.changed.emit(None)

    def touch(self) -> None:
        self.last_input = time.monotonic()

    def idle_limit_s(self) -> float:
        if self.idle_s is not None:
            return self.idle_s
        try:
            return self.users.idle_minutes * 60.0
        except Exception:  # noqa: BLE001
            return 600.0

    @Slot()
    def check_idle(self, now: float | None = None) -> bool:
        """Fall back to the operator after the idle time; True when it did."""
        if self.user is None:
            return False
        if (now if now is not None else time.monotonic()) - self.last_input >= self.idle_limit_s():
            self.sign_out()
            return True
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in _INPUT_EVENTS:
            self.last_input = time.monotonic()
        return False

    # ---- asking before an action -----------------------------------------------------
    def allow(self, parent: QWidget | None, role: str, what: str, *, action: str = "") -> User | None:
        """The person who may do ``what`` (needing ``role``), after asking to sign in if need be; None: refused."""
        u = self.current()
        if u is not None and holds(u.roles, role):
            return u
        who = "nobody is signed in" if u is None else f"{u.name} lacks the {ROLE_WORDS[role]} role"
        word = ROLE_WORDS[role]
        message = f"{what} needs the {word} role ({who}). Sign in as {'an' if word[0] in 'aeiou' else 'a'} {word}."
        signed = self.sign_in_prompt(parent, role, message)
        if signed is not None and holds(signed.roles, role):
            return signed
        if self.trail is not None:
            self.trail.append("action.refused", actor=(signed or u).name if (signed or u) else "(nobody)",
                              what=action or what, after={"role": role})
        return None

    def authorize(self, parent: QWidget | None, role: str, what: str, *, action: str = "",
                  reason: bool | None = None) -> tuple[User, str | None] | None:
        """``allow``, then for an engineer action its reason (asked; required while access control is on)."""
        u = self.allow(parent, role, what, action=action)
        if u is None:
            return None
        if reason is None:
            reason = role == "engineer"
        if not reason or u.open:            # no accounts yet: nothing is asked (as in the CLI)
            return u, None
        text = self.reason_prompt(parent, what)
        if text is None or not text.strip():
            return None
        return u, text.strip()

    def _dialog_prompt(self, parent: QWidget | None, role: str, message: str) -> User | None:
        dialog = SignInDialog(self, parent, message=message)
        return self.user if dialog.exec() == QDialog.DialogCode.Accepted else None


def _ask_reason(parent: QWidget | None, what: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Reason", f"{what}: why? (goes into the audit trail)")
    return text if ok else None


class SignInDialog(QDialog):
    """Name and password (or PIN); a wrong one says so and stays open."""

    def __init__(self, session: Session, parent: QWidget | None = None, *, message: str = ""):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Sign in")
        self.setMinimumWidth(380)
        lay = QVBoxLayout(self)
        self.message = QLabel(message or "Sign in to change what decides the verdicts.")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("account name")
        self.secret_edit = QLineEdit()
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText("password or PIN")
        form.addRow("Name", self.name_edit)
        form.addRow("Password or PIN", self.secret_edit)
        lay.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d93025; font-weight: 600;")
        self.error.hide()
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.name_edit.setFocus()

    @Slot()
    def attempt(self) -> None:
        try:
            self.session.sign_in(self.name_edit.text(), self.secret_edit.text())
        except AccessDenied as e:
            self.error.setText(e.message)
            self.error.show()
            self.secret_edit.clear()
            self.secret_edit.setFocus()
            return
        except Exception as e:  # noqa: BLE001 - a broken user list: say so, stay open
            self.error.setText(str(e))
            self.error.show()
            return
        self.accept()


class SignInStatus(QWidget):
    """The status bar's badge: who is signed in, with Sign in / Sign out."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: Session | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton("Sign in")
        self.button.setFlat(True)
        self.button.clicked.connect(self._clicked)
        lay.addWidget(self.label)
        lay.addWidget(self.button)

    def set_session(self, session: Session | None) -> None:
        if self.session is not None:
            try:
                self.session.changed.disconnect(self._show)
            except (RuntimeError, TypeError):
                pass
        self.session = session
        if session is not None:
            session.changed.connect(self._show)
        self._show()

    @Slot()
    def _show(self, *_: Any) -> None:
        s = self.session
        self.label.setText("" if s is None else s.describe())
        signed = s is not None and s.user is not None
        self.button.setText("Sign out" if signed else "Sign in")
        self.button.setVisible(s is not None and (signed or s.enforced))

    @Slot()
    def _clicked(self) -> None:
        if self.session is None:
            return
        if self.session.user is not None:
            self.session.sign_out()
        else:
            SignInDialog(self.session, self.window()).exec()


_SESSIONS: dict[str, Session] = {}


def operator_name(project: Any) -> str:
    """Who acknowledges an alert or sends a part back: the signed-in person, else the PC's login
    (every account is an operator; nobody need sign in at the kiosk for that)."""
    name = session_for(project).labeler() if project is not None else ""
    return name or os.environ.get("USER") or "operator"


def session_for(project: Any) -> Session:
    """The one session of ``project`` (its user list, its audit trail), made on first use."""
    root = project_folder(project)
    key = str(root)
    s = _SESSIONS.get(key)
    if s is None:
        s = Session(user_list(root), AuditTrail(root))
        _SESSIONS[key] = s
    return s


def forget_sessions() -> None:
    """Drop every session (tests; a new project list)."""
    for s in _SESSIONS.values():
        s.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(s)
    _SESSIONS.clear()


def stop_allowed(parent: QWidget | None, project: Any, station: Any, *, what: str = "Stopping the station") -> bool:
    """Ask for an engineer (and a reason) before the station stops; the station records the stop under that
    name and reason (``station.stop_by``: its ``station.stopped`` entry, ``studio.station.station_audit``)."""
    ok = session_for(project).authorize(parent, "engineer", what, action="station.stopped")
    if ok is None:
        return False
    station.stop_by = (ok[0].name, ok[1])
    return True


def engineer_change(parent: QWidget | None, project: Any, what: str, action: str) -> Callable[..., None] | None:
    """Authorize an engineer change; returns ``record(what=, before=, after=)`` for after it succeeded, or None.

    ``record`` writes the ``action`` entry to the project's trail with the person and the reason asked."""
    ok = session_for(project).authorize(parent, "engineer", what, action=action)
    if ok is None:
        return None
    user, reason = ok

    def record(**fields: Any) -> None:
        AuditTrail(project_folder(project)).append(action, actor=user.name, reason=reason,
                                                         **{"meaning": "responsibility", **fields})

    return record
