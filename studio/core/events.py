"""A tiny synchronous event emitter for Qt-free models.

Models below ``studio/gui`` emit events; Qt views subscribe and marshal to
the GUI thread themselves (napari's evented-model idea, without Qt).
"""
from __future__ import annotations

import threading
from typing import Any, Callable


class Emitter:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[str, dict[str, Any]], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(kind, payload)`` for every event; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, kind: str, **payload: Any) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(kind, payload)
            except Exception:  # a broken view must never stop the station
                import logging

                logging.getLogger(__name__).exception("event subscriber failed on %s", kind)
