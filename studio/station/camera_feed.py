"""The station's camera: one frame per trigger, reopened when it fails.

A lost camera (unplugged cable, driver restart, a frame timeout) must not
end a shift: the feed reports it, waits a little longer after each failed
try, reopens the camera and goes on. No part is invented for the time the
camera was away; the part counter simply continues with the next frame.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Callable, ContextManager

log = logging.getLogger(__name__)

RETRY_S = (0.5, 1.0, 2.0, 5.0)      # wait before reopening, after the 1st, 2nd, 3rd and later failures


class CameraFeed:
    def __init__(self, spec: str | None, settings: dict[str, Any] | None = None, camera: Any = None, *,
                 alert: Callable[..., None] = lambda *a, **k: None,
                 on_health: Callable[[bool], None] = lambda ok: None,
                 grab_timeout: float = 2.0, retry_s: tuple[float, ...] | None = None):
        self.spec = spec
        self.settings = settings or {}
        self.camera = camera
        self.owned = camera is None         # an injected camera belongs to the caller
        self.alert = alert
        self.on_health = on_health
        self.grab_timeout = grab_timeout
        self.retry_s = retry_s or RETRY_S
        self.ok = True
        self.errors = 0

    def open(self) -> None:
        """Open the camera once, at start: here an error goes straight to the user."""
        if self.camera is None:
            from studio.capture import open_camera

            self.camera = open_camera(self.spec, self.settings)

    def grab(self, stop: threading.Event,
             busy: Callable[[], ContextManager] = contextlib.nullcontext) -> Any:
        """The next frame, retrying through camera errors; None once ``stop`` is set."""
        failures = 0
        while not stop.is_set():
            try:
                if self.camera is None:
                    self.open()
                with busy():
                    frame = self.camera.grab(self.grab_timeout)
            except Exception as e:  # every driver fails its own way; all mean "no frame"
                failures += 1
                self.errors += 1
                self._set_ok(False)
                delay = self.retry_s[min(failures, len(self.retry_s)) - 1]
                self.alert(f"camera error: {e} — reopening the camera in {delay:g} s", "error", key="camera")
                self._close_for_retry()
                if stop.wait(delay):
                    return None
                continue
            self._set_ok(True)
            return frame
        return None

    def _set_ok(self, ok: bool) -> None:
        if ok != self.ok:
            self.ok = ok
            if ok:
                self.alert("camera is back; inspection continues", "info")
            self.on_health(ok)

    def _close_for_retry(self) -> None:
        camera = self.camera
        if camera is None:
            return
        if self.owned:
            self.camera = None          # reopened from the spec on the next try
            self._close(camera)
        elif hasattr(camera, "open"):
            self._close(camera)
            try:
                camera.open()
            except Exception as e:
                log.info("camera did not reopen yet: %s", e)
        # an injected camera without open(): just try grab() again

    @staticmethod
    def _close(camera: Any) -> None:
        try:
            camera.close()
        except Exception as e:
            log.info("closing the failed camera: %s", e)

    def close(self) -> None:
        if self.owned and self.camera is not None:
            self._close(self.camera)
            self.camera = None
