"""The station's camera: one frame per trigger, reopened when it fails.

A lost camera (unplugged cable, driver restart, a frame timeout) must not
end a shift: the feed reports it, waits a little longer after each failed
try, reopens the camera and goes on.

The part that was in front of the camera when it failed is a fault: the
first failed grab of an outage returns a ``MissedFrame`` (no image, the
error in words), which the pipeline turns into a fault verdict for that
part, so the PLC rejects it instead of waiting for a verdict that never
comes. No part is invented for the rest of the outage (the station is
faulted, the PLC sees state 2); the part counter continues with the next
frame.

A camera that waits for its hardware trigger (``waits_for_trigger``) gets no
frame while the line pauses: there a grab timeout (``CameraTimeout``) is no
fault. The feed asks the camera a feature (``ping``) and, when it answers,
simply waits on; only a real loss (device lost, stream error, no answer to
the feature read) is a camera error, and since such a camera waited for a
part, its failure gives no part.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from studio.core.errors import CameraTimeout

log = logging.getLogger(__name__)

RETRY_S = (0.5, 1.0, 2.0, 5.0)      # wait before reopening, after the 1st, 2nd, 3rd and later failures


@dataclass
class MissedFrame:
    """The grab for a part failed: the part gets no image and becomes a fault."""
    error: str
    image: Any = None
    frame_id: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


class CameraFeed:
    def __init__(self, spec: str | None, settings: dict[str, Any] | None = None, camera: Any = None, *,
                 alert: Callable[..., None] = lambda *a, **k: None,
                 on_health: Callable[[bool], None] = lambda ok: None,
                 grab_timeout: float = 2.0, retry_s: tuple[float, ...] | None = None,
                 waits_for_trigger: bool = False):
        self.spec = spec
        self.settings = settings or {}
        self.camera = camera
        self.owned = camera is None         # an injected camera belongs to the caller
        self.alert = alert
        self.on_health = on_health
        self.grab_timeout = grab_timeout
        self.retry_s = retry_s or RETRY_S
        self.waits_for_trigger = waits_for_trigger
        self.ok = True
        self.errors = 0
        self.missed = 0                     # parts that became faults because the camera failed under them
        self._failures = 0                  # failed grabs in a row (the back-off)
        self.pauses = 0                     # grab timeouts of a waiting camera: the line paused

    def open(self) -> None:
        """Open the camera once, at start: here an error goes straight to the user."""
        if self.camera is None:
            from studio.capture import open_camera

            self.camera = open_camera(self.spec, self.settings)

    def grab(self, stop: threading.Event,
             busy: Callable[[], ContextManager] = contextlib.nullcontext) -> Any:
        """The next frame, retrying through camera errors; None once ``stop`` is set.

        The first failure of an outage returns a ``MissedFrame`` for the part in flight."""
        while not stop.is_set():
            if self._failures:
                if stop.wait(self.retry_s[min(self._failures, len(self.retry_s)) - 1]):
                    return None
            try:
                if self.camera is None:
                    self.open()
                with busy():
                    frame = self.camera.grab(self.grab_timeout)
            except CameraTimeout as timeout:
                problem: Exception | None = timeout
                if self.waits_for_trigger:
                    problem = self._no_answer()     # a feature read: None when the camera answers
                    if problem is None:             # alive and waiting: the line pauses
                        self.pauses += 1
                        continue
                missed = self._failed(problem)
                if missed is not None:
                    return missed
                continue
            except Exception as e:  # every driver fails its own way; all mean "no frame"
                missed = self._failed(e)
                if missed is not None:
                    return missed
                continue
            self._failures = 0
            self._set_ok(True)
            return frame
        return None

    def _hardware_triggered(self) -> bool:
        if self.waits_for_trigger:
            return True
        camera = self.camera
        return getattr(camera, "mode", None) == "hardware" or getattr(camera, "trigger", None) == "hardware"

    def _failed(self, error: Exception) -> "MissedFrame | None":
        """Report and close; the back-off waits before the next try. The first failure of an
        outage with a part in flight gives that part's ``MissedFrame``."""
        in_flight = self.ok and not self._hardware_triggered()
        self._failures += 1
        self.errors += 1
        self._set_ok(False)
        delay = self.retry_s[min(self._failures, len(self.retry_s)) - 1]
        part = "the part in front of it is a fault; " if in_flight else ""
        self.alert(f"camera error: {error} — {part}reopening the camera in {delay:g} s", "error", key="camera")
        self._close_for_retry()
        if in_flight:
            self.missed += 1
            return MissedFrame(f"no image: the camera failed ({error})")
        return None

    def _no_answer(self) -> Exception | None:
        """The camera's answer to a feature read: None when it answers (or has nothing to ask)."""
        ping = getattr(self.camera, "ping", None)
        if ping is None:
            return None
        try:
            ping()
        except Exception as e:
            return e
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
