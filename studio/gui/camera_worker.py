"""Live view: a thread that opens a camera, keeps grabbing and analysing; the GUI only paints.

The worker never waits for the GUI: it stores the newest frame with its
analysis (``studio.lighting.live``: display copy with clipping / focus
peaking painted in, histogram, levels) and emits ``frame_ready`` only when
the GUI has taken the previous one, so a slow screen drops frames instead
of queueing them. The camera is wrapped in ``Reconnecting``: a lost camera
is reported (``camera_event("lost", ...)``) and re-opened on its own.
Feature changes (exposure, gain, ...) are queued to this thread, which owns
the camera, and answered with ``feature_done``.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any

from PySide6.QtCore import QThread, Signal


class CameraWorker(QThread):
    opened = Signal(dict)           # camera info
    features_ready = Signal(dict)   # {name: {available, writable, value, min, max, choices}}
    frame_ready = Signal()
    camera_event = Signal(str, dict)   # "lost" / "reconnected", payload with a message
    feature_done = Signal(str, bool, str)   # name, ok, why not
    failed = Signal(object)         # the exception (CameraError for camera trouble)

    def __init__(self, spec: str, settings: dict[str, Any] | None = None, *, max_fps: float = 25.0,
                 retry_s: float = 0.5, grab_timeout: float = 1.0):
        super().__init__()
        self.spec = spec
        self.settings = dict(settings or {})
        self.min_period = 1.0 / max_fps if max_fps > 0 else 0.0
        self.retry_s, self.grab_timeout = retry_s, grab_timeout
        self.info: dict[str, Any] = {}
        self.clipping = True
        self.peaking = False
        self.analyse = True
        self.display_width = 1280       # the GUI sets it to what the view shows (zoom included)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Any = None
        self._pending = False
        self._requests: queue.Queue = queue.Queue()
        self.camera: Any = None
        self.frames = 0
        self.errors = 0
        self.fps = 0.0
        self.analysis_ms = 0.0

    def take_frame(self) -> Any:
        """GUI thread: the newest (frame, analysis or None) pair (or None); allows the next ``frame_ready``."""
        with self._lock:
            latest, self._pending = self._latest, False
        return latest

    def set_feature(self, name: str, value: Any) -> None:
        """GUI thread: ask the camera thread to write a feature; the answer comes as ``feature_done``."""
        self._requests.put((name, value))

    def stats(self) -> dict[str, Any]:
        cam = self.camera
        out = dict(cam.stats()) if cam is not None else {}
        out.update({"shown_fps": round(self.fps, 1), "analysis_ms": round(self.analysis_ms, 1),
                    "grabbed": self.frames, "errors": self.errors})
        return out

    def stop(self, timeout_ms: int = 5000) -> bool:
        self._stop.set()
        return self.wait(timeout_ms)

    def _handle_requests(self) -> None:
        changed = False
        while True:
            try:
                name, value = self._requests.get_nowait()
            except queue.Empty:
                break
            ok, why = self.camera.set_feature(name, value)
            changed = changed or ok
            self.feature_done.emit(name, ok, why)
        if changed:
            self.features_ready.emit(self.camera.features())

    def run(self) -> None:
        from studio.capture.camera import open_camera
        from studio.capture.reconnect import Reconnecting
        from studio.core.errors import CameraError
        from studio.lighting.live import analyse

        try:
            self.camera = Reconnecting(open_camera(self.spec, self.settings), retry_s=self.retry_s,
                                       on_event=lambda kind, payload: self.camera_event.emit(kind, payload))
            self.info = self.camera.info()
            self.opened.emit(dict(self.info))
            self.features_ready.emit(self.camera.features())
            last = time.monotonic()
            while not self._stop.is_set():
                t0 = time.monotonic()
                self._handle_requests()
                try:
                    frame = self.camera.grab(timeout=self.grab_timeout)
                except CameraError:
                    self.errors += 1             # reported through camera_event; the wrapper retries
                    self._stop.wait(0.05)
                    continue
                analysis = None
                if self.analyse:
                    a0 = time.perf_counter()
                    analysis = analyse(frame.image, clipping=self.clipping, peaking=self.peaking,
                                       max_width=max(64, int(self.display_width)))
                    self.analysis_ms = 0.8 * self.analysis_ms + 0.2 * (time.perf_counter() - a0) * 1000
                self.frames += 1
                now = time.monotonic()
                self.fps = 0.8 * self.fps + 0.2 / max(now - last, 1e-6) if self.fps else 1 / max(now - last, 1e-6)
                last = now
                with self._lock:
                    self._latest = (frame, analysis)
                    notify, self._pending = not self._pending, True
                if notify:
                    self.frame_ready.emit()
                rest = self.min_period - (time.monotonic() - t0)
                if rest > 0:
                    self._stop.wait(rest)
        except BaseException as e:  # shown on the page, never a crash
            if not self._stop.is_set():
                self.failed.emit(e)
        finally:
            if self.camera is not None:
                try:
                    self.camera.close()
                except Exception:
                    pass
