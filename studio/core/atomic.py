"""Atomic file writes: a file is either the old version or the new one.

Write to a temporary file in the same folder, fsync, then ``os.replace``.
A crash, a full disk or a pulled plug never leaves a half-written project
file behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def atomic_write_bytes(path: str | Path, data: bytes, *, fsync: bool = True, within: str | Path | None = None) -> None:
    """``fsync=False``: still atomic against a crash of the process (the data is in the OS
    before the rename), not against a power loss; for files written by the thousand.

    ``within``: missing folders are created only below this one, which must exist (a data
    directory that was unplugged is never re-created on the mount point)."""
    path = Path(path)
    if within is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        base = Path(within)
        if not base.is_dir():
            raise FileNotFoundError(f"{base} is gone")
        for folder in [p for p in reversed(path.parent.parents) if base in p.parents] + [path.parent]:
            folder.mkdir(exist_ok=True)     # parents=False: never past ``within``
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_write_yaml(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))
