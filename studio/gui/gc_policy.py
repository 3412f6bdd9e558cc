"""Python's cycle collector runs on the GUI thread only.

CPython's automatic collection runs on whichever thread happens to allocate
when a generation fills up. In the studio that is usually one of the
station's threads (capture, inference, the result log), so a reference cycle
that holds a Qt object (a closed kiosk window and its station bridge) could be
freed there; shiboken then defers the C++ delete to the GUI thread, and that
deferred delete crashed the process (SIGSEGV in ``QObject::~QObject`` from
``Shiboken::BindingManager::runDeletionInMainThread``, PySide6 6.12, caught
by the test suite: a kiosk test's window collected while the next test's
station ran). The known remedy, pyqtgraph's ``GarbageCollector``, switches
automatic collection off and collects on a GUI timer (once a second, by the
same generation thresholds), so cycles are only ever freed on the GUI thread.
Objects freed by reference counting are unaffected.
"""
from __future__ import annotations

from typing import Any

_PROPERTY = "_studio_gc_on_gui_thread"


def collect_on_gui_thread(app: Any, interval_s: float = 1.0) -> Any:
    """Collect cycles only on ``app``'s thread from now on (once per application; returns the collector)."""
    collector = getattr(app, _PROPERTY, None)
    if collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        collector = GarbageCollector(interval=interval_s)
        setattr(app, _PROPERTY, collector)
    return collector
