"""An inter-process lock on a project file, so two labelers saving at once lose nothing.

``file_lock(path)`` holds an exclusive OS lock on ``path + '.lock'`` for the
duration of a ``with`` block (``fcntl.flock`` on Linux/macOS, ``msvcrt`` on
Windows). A read-modify-write of a shared project file (the label log, the
criteria document, the labeling settings) happens inside one.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from studio.core.errors import ProjectError

_THREAD_LOCKS: dict[str, threading.RLock] = {}
_GUARD = threading.Lock()


def _thread_lock(key: str) -> threading.RLock:
    with _GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.RLock())


@contextlib.contextmanager
def file_lock(path: str | Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold the exclusive lock for ``path`` (other threads and processes wait)."""
    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock(str(lock_path.resolve())):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            _acquire(fd, lock_path, timeout)
            try:
                yield
            finally:
                _release(fd)
        finally:
            os.close(fd)


def _acquire(fd: int, lock_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise ProjectError("another program has held the project lock for too long",
                                   file=lock_path,
                                   hint="close the other studio window or command using this project; "
                                        "if none is running, delete the .lock file") from None
            time.sleep(0.01)


def _release(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
