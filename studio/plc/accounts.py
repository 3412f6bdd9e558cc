"""PLC user accounts: who may log in to the station's OPC UA server.

``station.yaml`` keeps, under ``plc_users``, each account's name and an
Argon2id hash of its password (salted, memory-hard, with its own cost
parameters in the string): never the password. ``studio station plc-user``
adds, changes or removes an account; the server reads them when it starts.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studio.access.passwords import hash_password, verify_password  # noqa: F401  (the one place for hashing)
from studio.core.errors import StudioError

KEY = "plc_users"
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8


def users(settings: dict[str, Any], file: str | Path | None = None) -> dict[str, str]:
    """name -> hash from station.yaml's ``plc_users``; a clear error when the entry is malformed."""
    entry = settings.get(KEY) or {}
    if not isinstance(entry, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in entry.items()):
        raise StudioError("is not a mapping of account names to password hashes", file=file, field=KEY,
                          hint="remove the entry and add the accounts again with "
                               "'studio station plc-user PROJECT NAME --password-stdin'")
    for name, stored in entry.items():
        if not stored.startswith("$argon2"):
            raise StudioError(f"account '{name}' holds no Argon2 hash (a plain password?)", file=file, field=KEY,
                              hint=f"set its password again: studio station plc-user PROJECT {name} --password-stdin")
    return dict(entry)


def check_name(name: str) -> str:
    if not NAME_RULE.match(name or ""):
        raise StudioError(f"'{name}' is not a usable account name",
                          hint="use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StudioError(f"the password is shorter than {MIN_PASSWORD} characters",
                          hint="choose a longer one (the PLC stores it, nobody types it daily)")
    return password


def set_user(project: Any, name: str, password: str | None, *, actor: str | None = None,
             reason: str | None = None) -> dict[str, Any]:
    """Add or change an account (``password``), or remove it (``None``); station.yaml is written atomically."""
    from studio.core.atomic import atomic_write_yaml
    from studio.project.project import STATION_FILE

    check_name(name)
    settings = project.station_settings()
    path = Path(project.root) / STATION_FILE
    accounts = users(settings, path)
    if password is None:
        if name not in accounts:
            raise StudioError(f"there is no PLC account '{name}'", file=path,
                              hint=f"accounts: {', '.join(sorted(accounts)) or '(none)'}")
        del accounts[name]
        action = "removed"
    else:
        action = "changed" if name in accounts else "added"
        accounts[name] = hash_password(check_password(password))
    if accounts:
        settings[KEY] = accounts
    else:
        settings.pop(KEY, None)
    atomic_write_yaml(path, settings)
    from studio.audit.trail import AuditTrail

    AuditTrail(project.root).append("station.settings", actor=actor, what=f"{STATION_FILE}:{KEY}",
                                    after={"account": name, "change": action}, reason=reason)
    return {"user": name, "action": action, "users": sorted(accounts), "file": str(path)}
