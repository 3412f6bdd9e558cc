"""Guard against PySide6 builds that drop references to Python's singletons (seen: 6.12.0 on CPython 3.11).

Such a build returns ``None`` from every void Qt method and ``True`` from
``Signal.emit()`` without taking a reference (correct only where these
objects are immortal, Python 3.12+). Each ``label.setText()``, ``update()``
or ``emit()`` then drops one reference; after a few thousand calls CPython
frees ``None`` or ``True`` and aborts ("none_dealloc: deallocating None") —
a station view would die within minutes.

These singletons are never freed anyway, so when the leak is detected
their counts get a margin of 2**40 references: what Python 3.12 does by
making them immortal. Nothing changes on a build without the leak.
"""
from __future__ import annotations

import sys

MARGIN = 1 << 40
PROBES = 32
SINGLETONS = (None, True, False, NotImplemented, Ellipsis)
applied = False


def leaking_singletons() -> list[object]:
    """The singletons this PySide6 drops references to (empty for a sound build)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()

    def calls(n: int) -> None:
        for _ in range(n):
            probe.setObjectName("probe")      # a void method: returns None
            probe.ping.emit()                 # returns True

    calls(4)                                  # first calls fill caches that keep references
    before = [sys.getrefcount(o) for o in SINGLETONS]
    calls(PROBES)
    after = [sys.getrefcount(o) for o in SINGLETONS]
    return [o for o, b, a in zip(SINGLETONS, before, after) if b - a >= PROBES // 2]


def guard_signal_refcounts() -> bool:
    """Apply the margin when this PySide6 leaks; True when applied (now or before)."""
    global applied
    if applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False            # immortal singletons, or a debug build whose object layout differs
    if not leaking_singletons():
        return False
    import ctypes

    done = []
    for obj in SINGLETONS:
        before = sys.getrefcount(obj)
        cell = ctypes.c_ssize_t.from_address(id(obj))      # ob_refcnt, the first field of every object
        cell.value += MARGIN
        if sys.getrefcount(obj) != before + MARGIN:         # not the layout we expected: undo everything
            cell.value -= MARGIN
            for o in done:
                ctypes.c_ssize_t.from_address(id(o)).value -= MARGIN
            return False
        done.append(obj)
    applied = True
    return True
