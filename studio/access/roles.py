"""Roles and the one rule of who may do what.

operator   runs the kiosk, acknowledges alerts, sends a wrong verdict back (every account)
labeler    labels images (the label's labeler is the signed-in person)
reference  the reference labeler: decides review cases (labels too)
engineer   thresholds, training, models, criteria, station settings, stopping the station, leaving the kiosk
admin      manages the accounts
"""
from __future__ import annotations

from typing import Any, Iterable

from studio.core.errors import StudioError

ROLES = ("operator", "labeler", "reference", "engineer", "admin")
ROLE_WORDS = {"operator": "operator", "labeler": "labeler", "reference": "reference labeler",
              "engineer": "engineer", "admin": "admin"}
# a role also grants these (every account is an operator; the reference labeler labels)
IMPLIES = {"reference": ("labeler",)}


class AccessDenied(StudioError):
    """An action was refused: nobody signed in, a wrong password or PIN, or a role missing.

    ``role`` is the role the action needs, ``user`` who asked (None: nobody signed in).
    The CLI exits with status 4."""

    def __init__(self, message: str, *, role: str | None = None, user: str | None = None,
                 hint: str | None = None):
        self.role = role
        self.user = user
        super().__init__(message, hint=hint)


def parse_roles(text: str | Iterable[str]) -> list[str]:
    items = [r.strip().lower() for r in (text.split(",") if isinstance(text, str) else text) if r.strip()]
    aliases = {"reference labeler": "reference", "reference_labeler": "reference", "reference-labeler": "reference"}
    items = [aliases.get(r, r) for r in items]
    bad = [r for r in items if r not in ROLES]
    if bad:
        raise StudioError(f"unknown role {', '.join(repr(b) for b in bad)}",
                          hint=f"roles are {', '.join(ROLES)} (comma-separated, e.g. --roles engineer,labeler)")
    return [r for r in ROLES if r in items]


def holds(roles: Iterable[str], role: str) -> bool:
    """Whether an account with ``roles`` may act as ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    have = set(roles) | {"operator"}
    for r in list(have):
        have.update(IMPLIES.get(r, ()))
    return role in have


def require(role: str, user: Any) -> Any:
    """``user`` (a ``studio.access.users.User`` or None) when it holds ``role``; else ``AccessDenied``."""
    if user is None:
        raise AccessDenied(f"nobody is signed in; this needs the {ROLE_WORDS[role]} role", role=role,
                           hint=f"sign in as a person with the {ROLE_WORDS[role]} role")
    if not holds(getattr(user, "roles", ()), role):
        name = getattr(user, "name", str(user))
        raise AccessDenied(f"{name} lacks the {ROLE_WORDS[role]} role", role=role, user=name,
                           hint=f"sign in as a person with the {ROLE_WORDS[role]} role, or ask an admin "
                                f"to give it: studio users roles PROJECT {name} --roles ...")
    return user
