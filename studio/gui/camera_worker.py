"""Live view: a thread that opens a camera and keeps grabbing; the GUI only ever sees the latest frame.

The worker never waits for the GUI: it stores the newest frame and emits
``frame_ready`` only when the GUI has taken the previous one, so a slow
screen drops frames instead of queueing them.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QThread, Signal


class CameraWorker(QThread):
    opened = Signal(dict)           # camera info
    frame_ready = Signal()
    failed = Signal(object)         # the exception (CameraError for camera trouble)

    def __init__(self, spec: str, settings: dict[str, Any] | None = None, *, max_fps: float = 25.0):
        super().__init__()
        self.spec = spec
        self.settings = dict(settings or {})
        self.min_period = 1.0 / max_fps if max_fps > 0 else 0.0
        self.info: dict[str, Any] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Any = None
        self._pending = False
        self.frames = 0

    def take_frame(self) -> Any:
        """GUI thread: the newest frame (or None); allows the next ``frame_ready``."""
        with self._lock:
            frame, self._pending = self._latest, False
        return frame

    def stop(self, timeout_ms: int = 5000) -> bool:
        self._stop.set()
        return self.wait(timeout_ms)

    def run(self) -> None:
        from studio.capture.camera import open_camera

        camera = None
        try:
            camera = open_camera(self.spec, self.settings)
            self.info = camera.info()
            self.opened.emit(dict(self.info))
            while not self._stop.is_set():
                t0 = time.monotonic()
                frame = camera.grab(timeout=2.0)
                self.frames += 1
                with self._lock:
                    self._latest = frame
                    notify, self._pending = not self._pending, True
                if notify:
                    self.frame_ready.emit()
                rest = self.min_period - (time.monotonic() - t0)
                if rest > 0:
                    self._stop.wait(rest)
        except BaseException as e:  # noqa: BLE001  shown on the page, never a crash
            if not self._stop.is_set():
                self.failed.emit(e)
        finally:
            if camera is not None:
                try:
                    camera.close()
                except Exception:  # noqa: BLE001
                    pass
