"""The one place passwords and PINs are hashed: Argon2id (salted, memory-hard).

A stored hash is the Argon2 string (``$argon2id$v=19$m=65536,t=3,p=4$salt$hash``):
it carries its own salt and cost parameters, so changing the costs later
keeps old hashes verifiable. Plain text is never stored. The PLC accounts
(``studio.plc.accounts``) and the people's accounts (``studio.access.users``)
both hash here.
"""
from __future__ import annotations

from typing import Any

PREFIX = "$argon2"


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()         # Argon2id, 64 MiB, 3 passes, 16-byte random salt


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches the stored hash; False for any mismatch, no hash or a damaged hash."""
    if not stored or not isinstance(stored, str) or password is None:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def is_hash(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
