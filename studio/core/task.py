"""Progress, status and cancellation for long work (Orange3's TaskState idea).

Long-running functions take a ``TaskContext`` and call ``progress``,
``status`` and ``check()``; the GUI runs them off its thread and wires the
context to a progress bar and a cancel button; the CLI uses a context that
prints or stays silent.
"""
from __future__ import annotations

import threading
from typing import Callable

from studio.core.errors import Cancelled


class TaskContext:
    """Reports progress and answers whether the work was cancelled.

    ``on_progress(fraction)`` and ``on_status(text)`` are called from the
    worker thread; receivers must marshal to their own thread if needed.
    """

    def __init__(self, on_progress: Callable[[float], None] | None = None,
                 on_status: Callable[[str], None] | None = None):
        self._on_progress = on_progress
        self._on_status = on_status
        self._cancel = threading.Event()

    def progress(self, fraction: float) -> None:
        if self._on_progress is not None:
            self._on_progress(max(0.0, min(1.0, float(fraction))))

    def status(self, text: str) -> None:
        if self._on_status is not None:
            self._on_status(text)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when cancel was requested."""
        if self._cancel.is_set():
            raise Cancelled()


def null_task() -> TaskContext:
    """A context that reports nowhere and is never cancelled."""
    return TaskContext()
