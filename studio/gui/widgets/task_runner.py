"""Run long work off the GUI thread, with progress, status, cancel, and errors in a dialog.

``TaskRunner.start(fn)`` calls ``fn(task_ctx)`` on a QThread. Everything the
work reports (``task_ctx.progress/status``, ``runner.emit_event(obj)``) and
its end (``finished(result)``, ``failed(err)``, ``cancelled()``) reaches the
receivers on the GUI thread: the worker's signals are queued to this object,
which re-emits them from the GUI thread.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QWidget


class _Worker(QThread):
    progress = Signal(float)
    status = Signal(str)
    event = Signal(object)
    done = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, fn: Callable[[Any], Any]):
        super().__init__()
        from studio.core.task import TaskContext

        self.fn = fn
        self.ctx = TaskContext(on_progress=self.progress.emit, on_status=self.status.emit)

    def run(self) -> None:
        from studio.core.errors import Cancelled

        try:
            result = self.fn(self.ctx)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as e:  # every failure reaches the person
            self.failed.emit(e)
        else:
            if self.ctx.cancelled():
                self.cancelled.emit()
            else:
                self.done.emit(result)


class TaskRunner(QObject):
    progress = Signal(float)
    status = Signal(str)
    event = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, show_errors: bool = True):
        super().__init__(parent)
        self._parent_widget = parent
        self.show_errors = show_errors
        self._worker: _Worker | None = None

    # ---- control ----------------------------------------------------------
    def start(self, fn: Callable[[Any], Any]) -> bool:
        """Run ``fn(task_ctx)``; False (and nothing started) when work is already running."""
        if self.is_running():
            return False
        w = _Worker(fn)
        q = Qt.ConnectionType.QueuedConnection
        w.progress.connect(self._on_progress, q)
        w.status.connect(self._on_status, q)
        w.event.connect(self._on_event, q)
        w.done.connect(self._on_done, q)
        w.failed.connect(self._on_failed, q)
        w.cancelled.connect(self._on_cancelled, q)
        self._worker = w
        w.start()
        self.running_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.ctx.cancel()

    def is_running(self) -> bool:
        return self._worker is not None

    def emit_event(self, obj: Any) -> None:
        """Thread-safe: hand ``obj`` to the ``event`` signal on the GUI thread."""
        w = self._worker
        if w is not None:
            w.event.emit(obj)

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until the work ends (for shutdown and tests); True when it did."""
        w = self._worker
        return True if w is None else w.wait(timeout_ms)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel and wait: called when the page or window goes away."""
        w = self._worker
        if w is not None:
            w.ctx.cancel()
            w.wait(timeout_ms)

    # ---- GUI-thread side ----------------------------------------------------
    @Slot(float)
    def _on_progress(self, f: float) -> None:
        self.progress.emit(f)

    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.status.emit(text)

    @Slot(object)
    def _on_event(self, obj: Any) -> None:
        self.event.emit(obj)

    def _end(self) -> None:
        w, self._worker = self._worker, None
        if w is not None:
            w.wait(5000)
            w.deleteLater()
        self.running_changed.emit(False)

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        self._end()
        self.finished.emit(result)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        self._end()
        if self.show_errors:
            from studio.gui.widgets.errors import error_dialog

            error_dialog(self._parent_widget, err)
        self.failed.emit(err)

    @Slot()
    def _on_cancelled(self) -> None:
        self._end()
        self.cancelled.emit()
