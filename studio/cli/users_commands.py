"""``studio users``: the people's accounts and roles (``studio.access``)."""
from __future__ import annotations

import argparse
import sys

from studio.cli.credentials import add_credentials
from studio.cli.output import emit


def add_parsers(sub: argparse._SubParsersAction) -> None:
    h = __name__ + ":"
    us = sub.add_parser("users", help="people's accounts and roles (operator, labeler, reference, engineer, admin)",
                        description="Accounts live in the line PC's user list (users.yaml in $STUDIO_CONFIG_DIR, "
                                    "/etc/inspection-studio or ~/.config/inspection-studio) or, for commissioning, "
                                    "in the project's users.yaml. The first account becomes admin without "
                                    "credentials; every later change needs an admin (--user NAME).")
    usub = us.add_subparsers(dest="users_command", required=True)

    a = usub.add_parser("add", help="add an account (the first one becomes admin)")
    a.add_argument("project")
    a.add_argument("name")
    a.add_argument("--roles", required=True, help="comma-separated: operator, labeler, reference, engineer, admin")
    a.add_argument("--password-stdin", action="store_true", help="read the password from a line of stdin")
    a.add_argument("--pin-stdin", action="store_true",
                   help="read the kiosk PIN from a line of stdin (after the password when both)")
    a.add_argument("--scope", choices=["station", "project"], default=None,
                   help="which list: the line PC's (default, unless the project has its own) or the project's")
    a.add_argument("--json", action="store_true")
    add_credentials(a, reason=True)
    a.set_defaults(handler=h + "cmd_add")

    ls = usub.add_parser("list", help="the accounts and their roles (never the hashes)")
    ls.add_argument("project")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=h + "cmd_list")

    rm = usub.add_parser("remove", help="remove an account")
    rm.add_argument("project")
    rm.add_argument("name")
    rm.add_argument("--json", action="store_true")
    add_credentials(rm, reason=True)
    rm.set_defaults(handler=h + "cmd_remove")

    pw = usub.add_parser("passwd", help="a new password and/or PIN (an admin's, or your own)")
    pw.add_argument("project")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    pw.add_argument("--pin-stdin", action="store_true")
    pw.add_argument("--json", action="store_true")
    add_credentials(pw, reason=True)
    pw.set_defaults(handler=h + "cmd_passwd")

    ro = usub.add_parser("roles", help="set an account's roles")
    ro.add_argument("project")
    ro.add_argument("name")
    ro.add_argument("--roles", required=True)
    ro.add_argument("--json", action="store_true")
    add_credentials(ro, reason=True)
    ro.set_defaults(handler=h + "cmd_roles")

    idle = usub.add_parser("idle", help="minutes without input before the GUI falls back to the operator role")
    idle.add_argument("project")
    idle.add_argument("minutes", type=float)
    idle.add_argument("--json", action="store_true")
    add_credentials(idle, reason=True)
    idle.set_defaults(handler=h + "cmd_idle")


def _list(args: argparse.Namespace):
    from studio.access.users import user_list
    from studio.project import Project

    project = Project.open(args.project)
    return user_list(project.root, scope=getattr(args, "scope", None))


def _admin(args: argparse.Namespace, users) -> object:
    """The admin making the change (None for the first account: nobody to ask)."""
    from studio.access.users import user_list
    from studio.cli.credentials import signed_in

    if not users.enforced:
        station = user_list(None, scope="station")
        if users.scope == "project" and station.enforced:
            # a project's own list would govern it instead of the line PC's: a station admin's decision
            return signed_in(args, "admin", project=args.project, trail=station.trail, reason_required=False,
                             action="users add --scope project")
        return None
    return signed_in(args, "admin", project=args.project, trail=users.trail, reason_required=False,
                     action=f"users {args.users_command}")


def _secrets(args: argparse.Namespace, *, interactive_password: bool) -> tuple[str | None, str | None]:
    from studio.core.errors import StudioError

    password = pin = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    if password is None and pin is None and interactive_password:
        import getpass

        if not sys.stdin.isatty():
            raise StudioError("no password given", hint="pipe it in with --password-stdin (and --pin-stdin)")
        password = getpass.getpass(f"new password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise StudioError("the two passwords differ", hint="type the same password twice")
    return password, pin


def _words(u) -> str:
    return f"{u.name} ({', '.join(u.roles) or 'operator'})"


def cmd_add(args: argparse.Namespace) -> int:
    users = _list(args)
    by = _admin(args, users)
    password, pin = _secrets(args, interactive_password=True)
    user = users.add(args.name, args.roles, password=password, pin=pin, by=by, reason=args.reason)
    emit(args, {**user.public(), "file": str(users.path), "scope": users.scope},
         f"account {_words(user)} added to {users.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    users = _list(args)
    people = [u.public() for u in users.users().values()]
    lines = [f"{users.scope} list {users.path}: " + (f"{len(people)} accounts, idle fall-back after "
                                                     f"{users.idle_minutes:g} min" if people else
                                                     "no accounts (access control is off)")]
    lines += [f"  {p['name']:<16} {', '.join(p['roles']):<40} "
              f"{'password' if p['has_password'] else '':<9}{'PIN' if p['has_pin'] else ''}" for p in people]
    emit(args, {"file": str(users.path), "scope": users.scope, "enforced": bool(people),
                "idle_minutes": users.idle_minutes, "users": people}, "\n".join(lines))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    users = _list(args)
    users.remove(args.name, by=_admin(args, users), reason=args.reason)
    emit(args, {"removed": args.name, "file": str(users.path)}, f"account {args.name} removed from {users.path}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from studio.cli.credentials import signed_in

    users = _list(args)
    if users.enforced and (args.user or "") == args.name:       # your own: your current password
        by = signed_in(args, "operator", project=args.project, trail=users.trail, action="users passwd")
    else:
        by = _admin(args, users)
    password, pin = _secrets(args, interactive_password=True)
    user = users.set_secret(args.name, password=password, pin=pin, by=by, reason=args.reason)
    emit(args, user.public(), f"{args.name}: " + " and ".join(
        w for w, v in (("password", password), ("PIN", pin)) if v is not None) + " changed")
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    users = _list(args)
    user = users.set_roles(args.name, args.roles, by=_admin(args, users), reason=args.reason)
    emit(args, user.public(), f"account {_words(user)}")
    return 0


def cmd_idle(args: argparse.Namespace) -> int:
    users = _list(args)
    users.set_idle_minutes(args.minutes, by=_admin(args, users), reason=args.reason)
    emit(args, {"idle_minutes": users.idle_minutes}, f"the GUI falls back to the operator after "
                                                     f"{users.idle_minutes:g} minutes without input")
    return 0
