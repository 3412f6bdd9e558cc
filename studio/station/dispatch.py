"""Events leave the pipeline through their own thread.

Subscribers (the kiosk, the CLI printing to a pipe) run at their own pace;
the actuation thread only puts the event on a queue, so a slow view can
never delay the verdict of the next part. When a view falls more than
``maxsize`` events behind, it misses events (counted in ``lost``); the result
log still has every part.
"""
from __future__ import annotations

import queue
import threading
from typing import Any

from studio.core.events import Emitter

_CLOSE = object()


class EventPump:
    def __init__(self, emitter: Emitter, maxsize: int = 1000):
        self.emitter = emitter
        self.lost = 0
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._cond = threading.Condition()
        self._posted = self._emitted = 0
        self._thread = threading.Thread(target=self._run, name="station-events", daemon=True)
        self._thread.start()

    def post(self, kind: str, **payload: Any) -> None:
        with self._cond:
            try:
                self._queue.put_nowait((kind, payload))
            except queue.Full:
                self.lost += 1
                return
            self._posted += 1

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every event posted so far has reached the subscribers."""
        if threading.current_thread() is self._thread:
            return False                # a subscriber calling back into the station
        with self._cond:
            target = self._posted
            return self._cond.wait_for(lambda: self._emitted >= target, timeout)

    def close(self, timeout: float = 2.0) -> None:
        self.flush(timeout)
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            return
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _CLOSE:
            kind, payload = item
            self.emitter.emit(kind, **payload)      # Emitter already shields us from a failing view
            with self._cond:
                self._emitted += 1
                self._cond.notify_all()
