"""The one place a CLI command signs a person in and checks a role.

A command that changes what decides verdicts adds the options with
``add_credentials(parser, reason=True)`` and calls, before it changes
anything::

    user = signed_in(args, "engineer", project=args.project, action="threshold.set")

``--user NAME`` (or ``$STUDIO_USER``) names the person; the password comes
from ``--password-file FILE`` (its first line), else ``$STUDIO_PASSWORD``,
else a prompt (getpass) on a terminal. A refusal raises ``AccessDenied``
(the CLI exits 4 and names the missing role) and is an entry of the audit
trail (``signin.refused`` for a wrong password, ``action.refused`` for a
missing role). An engineer action needs ``--reason TEXT``. Before the first
account exists (a fresh installation) nothing is enforced: the person is the
OS login (or ``--user``) with every role, and the reason is optional.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from studio.core.folders import project_folder
from studio.access.roles import ROLE_WORDS, AccessDenied, require
from studio.access.users import User, open_user, user_list
from studio.audit.trail import AuditTrail
from studio.core.errors import StudioError

PASSWORD_ENV = "STUDIO_PASSWORD"
USER_ENV = "STUDIO_USER"


def add_credentials(p: argparse.ArgumentParser, *, reason: bool = False) -> None:
    g = p.add_argument_group("credentials")
    if not any("--user" in a.option_strings for a in p._actions):
        g.add_argument("--user", default=None, metavar="NAME",
                       help=f"sign in as NAME (default ${USER_ENV}); the password is asked, or read from "
                            f"--password-file or ${PASSWORD_ENV}")
    g.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    if reason and not any("--reason" in a.option_strings for a in p._actions):
        g.add_argument("--reason", metavar="TEXT", help="why (required for an engineer action)")


def _root(project: Any) -> Path | None:
    if project is None:
        return None
    return project_folder(project)


def _password(args: argparse.Namespace, name: str) -> str:
    path = getattr(args, "password_file", None)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").splitlines()[0] if Path(path).stat().st_size else ""
        except OSError as e:
            raise StudioError(f"cannot read the password file: {e}", file=path) from e
    if os.environ.get(PASSWORD_ENV) is not None:
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"password for {name}: ")
    raise AccessDenied(f"no password for {name}", user=name,
                       hint=f"run in a terminal to be asked, or give --password-file FILE or ${PASSWORD_ENV}")


def signed_in(args: argparse.Namespace, role: str, *, project: Any = None, trail: AuditTrail | str | Path | None = None,
              reason_required: bool | None = None, action: str = "") -> User:
    """The signed-in person holding ``role``, or ``AccessDenied``.

    ``project``: the project (or its folder) whose user list governs (default ``args.project``);
    ``trail``: where refusals are recorded (default the project's ``audit.jsonl``);
    ``reason_required``: default for the engineer role; ``action``: what was attempted, for the trail.
    The person is also left in ``args.signed_in``."""
    root = _root(project if project is not None else getattr(args, "project", None))
    users = user_list(root)
    if reason_required is None:
        reason_required = role == "engineer"
    if trail is None and root is not None:
        trail = AuditTrail(root)
    elif trail is not None and not isinstance(trail, AuditTrail):
        trail = AuditTrail(trail)
    name = getattr(args, "user", None) or os.environ.get(USER_ENV)
    if not users.enforced:
        user = open_user()
        if name:
            user.name = name
        args.signed_in = user
        return user
    if not name:
        if trail is not None:
            trail.append("action.refused", actor="(nobody)", what=action or None, after={"role": role})
        raise AccessDenied(f"this needs the {ROLE_WORDS[role]} role and nobody signed in", role=role,
                           hint=f"give --user NAME of a person with the {ROLE_WORDS[role]} role "
                                f"(the password is asked, or read from --password-file or ${PASSWORD_ENV})")
    user = users.sign_in(name, _password(args, name), pin=False, trail=trail, where=action or "cli")
    try:
        require(role, user)
    except AccessDenied:
        if trail is not None:
            trail.append("action.refused", actor=name, what=action or None, after={"role": role})
        raise
    if reason_required and not (getattr(args, "reason", None) or "").strip():
        raise StudioError(f"{action or 'this engineer action'} needs its reason", field="--reason",
                          hint="say why with --reason TEXT (it goes into the audit trail)")
    args.signed_in = user
    return user


def actor(args: argparse.Namespace) -> str | None:
    """The signed-in person's name after ``signed_in`` (None before)."""
    u = getattr(args, "signed_in", None)
    return u.name if u is not None else None


def reason(args: argparse.Namespace) -> str | None:
    r = (getattr(args, "reason", None) or "").strip()
    return r or None


def identity(args: argparse.Namespace, given: str | None, fallback: str, *, option: str = "--labeler") -> str:
    """The name a label or an edit is recorded under: the signed-in person.

    Before the first account (access control off) it is ``given`` or ``fallback``; after it,
    naming someone else is refused, so nobody labels or reviews in another's name."""
    user = getattr(args, "signed_in", None)
    if user is None or user.open:
        return given or fallback
    if given and given != user.name:
        raise AccessDenied(f"{user.name} cannot act as '{given}': {option} is the signed-in person", user=user.name,
                           hint=f"leave out {option}, or sign in as {given} with --user {given}")
    return user.name


# ``studio station run`` options that change what the station runs (not just where it logs):
# an engineer's decision. Starting it as configured stays open (it starts on boot, unattended).
RUN_CHANGES = ("model", "shadow", "mode")


def station_run_guard(args: argparse.Namespace, project: Any) -> User | None:
    """Sign in an engineer when ``studio station run`` is told to run something else than configured."""
    changed = [f"--{k}" for k in RUN_CHANGES if getattr(args, k, None)]
    if not changed:
        return None
    user = signed_in(args, "engineer", project=project, action=f"station run {' '.join(changed)}")
    AuditTrail(project_folder(project)).append(
        "station.settings", actor=user.name, what="station run", reason=reason(args),
        after={k: getattr(args, k) for k in RUN_CHANGES if getattr(args, k, None)}, meaning="responsibility")
    return user
