"""People's accounts: names, roles, password and PIN hashes, in one ``users.yaml``.

Where the list lives (``user_list(project_root)``):

* the project's own ``users.yaml`` when it has one (commissioning: the
  accounts travel with the project until the line PC has its list), else
* the line PC's one list for all its projects, ``users.yaml`` in the station
  configuration folder (``config_dir()``): ``$STUDIO_CONFIG_DIR`` when set,
  else ``/etc/inspection-studio`` when that folder exists (the installer makes
  it), else ``$XDG_CONFIG_HOME/inspection-studio`` (``~/.config/...``).

Access control is on as soon as a list has an account. Before the first
account (a fresh installation) nothing is enforced and audit entries carry
the operating-system login. The first account becomes admin and needs no
credentials; every later change needs an admin's. The changes are entries of
the audit trail beside the list (``audit.jsonl`` in the same folder); a list
whose trail records accounts but whose file is gone is refused, so deleting
the file does not switch access control off.

The file holds Argon2id hashes only (``studio.access.passwords``), is written
atomically under its OS lock, and is readable by its owner only (0600).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from studio.access.passwords import hash_password, is_hash, verify_password
from studio.access.roles import ROLES, AccessDenied, parse_roles, require
from studio.audit.trail import AuditTrail, default_actor
from studio.core.errors import StudioError

FILE_NAME = "users.yaml"
CONFIG_ENV = "STUDIO_CONFIG_DIR"
SYSTEM_DIR = Path("/etc/inspection-studio")
VERSION = 1
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
PIN_RULE = re.compile(r"^[0-9]{4,12}$")
DEFAULT_IDLE_MINUTES = 10.0


def config_dir() -> Path:
    """The station configuration folder (see the module's text)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    if SYSTEM_DIR.is_dir():
        return SYSTEM_DIR
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "inspection-studio"


@dataclass
class User:
    name: str
    roles: list[str] = field(default_factory=list)
    password: str | None = None         # Argon2 hash
    pin: str | None = None              # Argon2 hash of the kiosk PIN
    added: str = ""
    added_by: str = ""
    open: bool = False                  # nobody signed in and no accounts: access control is off

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "has_password": bool(self.password),
                "has_pin": bool(self.pin), "added": self.added, "added_by": self.added_by}


def open_user() -> User:
    """Who acts where no account exists yet: the OS login, every role."""
    return User(name=default_actor(), roles=list(ROLES), open=True)


def check_name(name: str) -> str:
    if not NAME_RULE.match(name or ""):
        raise StudioError(f"'{name}' is not a usable account name",
                          hint="use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise StudioError(f"the password is shorter than {MIN_PASSWORD} characters", hint="choose a longer one")
    return password


def check_pin(pin: str) -> str:
    if not PIN_RULE.match(pin or ""):
        raise StudioError("a PIN is 4 to 12 digits", hint="choose e.g. a 6-digit PIN")
    return pin


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class UserList:
    """The accounts in ``path`` (a ``users.yaml``); ``scope`` is ``station`` or ``project``."""

    def __init__(self, path: str | Path, scope: str = "station"):
        self.path = Path(path)
        self.scope = scope
        self.trail = AuditTrail(self.path.parent / "audit.jsonl")

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            if self.trail.path.exists() and self.trail.last("user.added") is not None:
                raise StudioError("the user list is gone although the audit trail beside it records accounts",
                                  file=self.path,
                                  hint="restore users.yaml from a backup; access control stays on without it")
            return {"version": VERSION, "idle_minutes": DEFAULT_IDLE_MINUTES, "users": {}}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise StudioError(f"cannot read the user list: {e}", file=self.path,
                              hint="restore it from a backup") from e
        if not isinstance(data, dict) or not isinstance(data.get("users") or {}, dict):
            raise StudioError("is not a user list", file=self.path, hint="restore it from a backup")
        for name, u in (data.get("users") or {}).items():
            if not isinstance(u, dict):
                raise StudioError(f"account '{name}' is not a mapping", file=self.path, field="users")
            for key in ("password", "pin"):
                if u.get(key) is not None and not is_hash(u[key]):
                    raise StudioError(f"account '{name}' holds no Argon2 hash for its {key} (plain text?)",
                                      file=self.path, field=f"users.{name}.{key}",
                                      hint=f"set it again: studio users passwd PROJECT {name}")
        data.setdefault("users", {})
        return data

    def users(self) -> dict[str, User]:
        out = {}
        for name, u in (self._read().get("users") or {}).items():
            out[name] = User(name=name, roles=parse_roles(u.get("roles") or []), password=u.get("password"),
                             pin=u.get("pin"), added=str(u.get("added", "")), added_by=str(u.get("added_by", "")))
        return out

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    @property
    def enforced(self) -> bool:
        """Access control is on: the list has an account (or its file went missing, which raises)."""
        return bool(self._read()["users"])

    @property
    def idle_minutes(self) -> float:
        return float(self._read().get("idle_minutes") or DEFAULT_IDLE_MINUTES)

    # -- signing in ------------------------------------------------------------------------
    def sign_in(self, name: str, secret: str, *, pin: bool | None = None, trail: AuditTrail | None = None,
                where: str = "") -> User:
        """The account when ``secret`` is its password (``pin=False``), PIN (``True``) or either (``None``).

        Each attempt is an entry of ``trail`` (``signin`` or ``signin.refused``); a refusal raises
        ``AccessDenied`` that does not say whether the name or the secret was wrong."""
        user = self.get(name) if name else None
        ok = False
        if user is not None and secret:
            if pin is not True and verify_password(user.password, secret):
                ok = True
            elif pin is not False and verify_password(user.pin, secret):
                ok = True
        kind = "PIN" if pin else "password" if pin is False else "password or PIN"
        if trail is not None:
            trail.append("signin" if ok else "signin.refused", actor=name or "(nobody)", what=where or None,
                         after={"by": kind})
        if not ok:
            raise AccessDenied(f"wrong name or {kind}", user=name or None,
                               hint="try again; an admin can set a new one with 'studio users passwd'")
        return user  # type: ignore[return-value]

    # -- changing --------------------------------------------------------------------------
    @contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        from studio.core.atomic import atomic_write_text
        from studio.core.locking import file_lock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.path):
            data = self._read()
            yield data
            atomic_write_text(self.path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            try:
                os.chmod(self.path, 0o600)
            except OSError:
                pass

    def _admin(self, data: dict[str, Any], by: User | None) -> str:
        """The acting admin's name; the first account needs nobody."""
        if not data["users"]:
            return by.name if by is not None and not by.open else default_actor()
        if by is None or by.open:
            raise AccessDenied("changing the accounts needs an admin's credentials", role="admin",
                               hint="give --user with an admin's name (the password is asked)")
        require("admin", by)
        return by.name

    def add(self, name: str, roles: list[str] | str, *, password: str | None = None, pin: str | None = None,
            by: User | None = None, reason: str | None = None) -> User:
        check_name(name)
        roles = parse_roles(roles)
        if password is None and pin is None:
            raise StudioError("an account needs a password or a PIN", hint="give --password-stdin and/or --pin-stdin")
        pw = hash_password(check_password(password)) if password is not None else None
        ph = hash_password(check_pin(pin)) if pin is not None else None
        with self._changing() as data:
            first = not data["users"]
            actor = self._admin(data, by)
            if name in data["users"]:
                raise StudioError(f"there is already an account '{name}'", file=self.path,
                                  hint="change it with 'studio users roles' or 'studio users passwd'")
            if first and "admin" not in roles:
                roles = parse_roles([*roles, "admin"])          # the first account is the admin
            data["users"][name] = {"roles": roles, "password": pw, "pin": ph, "added": _now(), "added_by": actor}
        self.trail.append("user.added", actor=actor, what=name, after={"roles": roles, "scope": self.scope},
                          reason=reason or ("the first account: admin" if first else None))
        return self.get(name)  # type: ignore[return-value]

    def remove(self, name: str, *, by: User | None, reason: str | None = None) -> None:
        with self._changing() as data:
            actor = self._admin(data, by)
            if name not in data["users"]:
                raise StudioError(f"there is no account '{name}'", file=self.path,
                                  hint=f"accounts: {', '.join(sorted(data['users'])) or '(none)'}")
            before = {"roles": data["users"][name].get("roles")}
            del data["users"][name]
            self._keep_an_admin(data)
        self.trail.append("user.removed", actor=actor, what=name, before=before, reason=reason)

    def set_roles(self, name: str, roles: list[str] | str, *, by: User | None, reason: str | None = None) -> User:
        roles = parse_roles(roles)
        with self._changing() as data:
            actor = self._admin(data, by)
            if name not in data["users"]:
                raise StudioError(f"there is no account '{name}'", file=self.path)
            before = list(data["users"][name].get("roles") or [])
            data["users"][name]["roles"] = roles
            self._keep_an_admin(data)
        self.trail.append("user.roles", actor=actor, what=name, before={"roles": before}, after={"roles": roles},
                          reason=reason)
        return self.get(name)  # type: ignore[return-value]

    def set_secret(self, name: str, *, password: str | None = None, pin: str | None = None, by: User | None,
                   reason: str | None = None) -> User:
        """A new password and/or PIN: by an admin, or by the person themselves."""
        if password is None and pin is None:
            raise StudioError("give a new password or a new PIN")
        pw = hash_password(check_password(password)) if password is not None else None
        ph = hash_password(check_pin(pin)) if pin is not None else None
        with self._changing() as data:
            if name not in data["users"]:
                raise StudioError(f"there is no account '{name}'", file=self.path)
            actor = by.name if by is not None and by.name == name and not by.open else self._admin(data, by)
            if pw:
                data["users"][name]["password"] = pw
            if ph:
                data["users"][name]["pin"] = ph
        self.trail.append("user.password", actor=actor, what=name,
                          after={"changed": [k for k, v in (("password", pw), ("pin", ph)) if v]}, reason=reason)
        return self.get(name)  # type: ignore[return-value]

    def set_idle_minutes(self, minutes: float, *, by: User | None, reason: str | None = None) -> None:
        """After this long without input the GUI falls back to the operator role (set by an admin)."""
        if not minutes > 0:
            raise StudioError("the idle time is a number of minutes above 0")
        with self._changing() as data:
            actor = self._admin(data, by)
            before = data.get("idle_minutes")
            data["idle_minutes"] = float(minutes)
        self.trail.append("access.settings", actor=actor, what="idle_minutes", before=before, after=float(minutes),
                          reason=reason)

    def _keep_an_admin(self, data: dict[str, Any]) -> None:
        if data["users"] and not any("admin" in (u.get("roles") or []) for u in data["users"].values()):
            raise StudioError("that would leave no admin", file=self.path,
                              hint="give another account the admin role first")


def user_list(project_root: str | Path | None = None, *, scope: str | None = None) -> UserList:
    """The list that governs ``project_root``: its own ``users.yaml`` if it has one, else the station's.

    ``scope='project'`` / ``'station'`` picks one explicitly (e.g. to create a project's list)."""
    if scope == "project" or (scope is None and project_root is not None
                              and (Path(project_root) / FILE_NAME).exists()):
        if project_root is None:
            raise StudioError("a project's user list needs the project")
        return UserList(Path(project_root) / FILE_NAME, scope="project")
    return UserList(config_dir() / FILE_NAME, scope="station")
