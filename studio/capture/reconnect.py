"""A camera that comes back: ``Reconnecting(camera)`` re-opens it when it is lost.

When a grab fails (cable pulled, producer reset, camera power-cycled) the
failure is reported at once: the grab raises ``CameraError`` (so the part
that was waiting for that frame is a fault, never given a later frame) and
``on_event("lost", ...)`` fires. The wrapper then closes the camera and
retries opening it every ``retry_s`` seconds, on the following grabs (each
waits at most ``timeout``), until it opens: ``on_event("reconnected", ...)``
fires and frames flow again, carrying ``meta["epoch"]`` (how many times the
camera came back) so logs show which frames came after a reconnect.
Frame ids restart with a camera; ``meta["epoch"]`` keeps them apart.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from studio.capture.camera import Camera, Frame
from studio.core.errors import CameraError

log = logging.getLogger(__name__)


class Reconnecting(Camera):
    def __init__(self, camera: Camera, *, retry_s: float = 0.5,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None):
        super().__init__(camera.spec)
        self.camera = camera
        self.retry_s = retry_s
        self.on_event = on_event
        self.epoch = 0
        self.lost_since: float | None = None
        self.reconnects = 0
        self.last_error = ""
        self._next_try = 0.0
        self.is_open = camera.is_open

    # ---- Camera -------------------------------------------------------------
    def open(self) -> None:
        self.camera.open()
        self.is_open = True

    def close(self) -> None:
        self.is_open = False
        self.camera.close()

    def info(self) -> dict[str, Any]:
        out = dict(self.camera.info()) if self.lost_since is None else {"spec": self.spec}
        out["connection"] = self.connection()
        return out

    def stats(self) -> dict[str, Any]:
        return {**(self.camera.stats() if self.lost_since is None else {}),
                "reconnects": self.reconnects, "lost": self.lost_since is not None}

    def features(self) -> dict[str, dict[str, Any]]:
        return {} if self.lost_since is not None else self.camera.features()

    def set_feature(self, name: str, value: Any) -> tuple[bool, str]:
        if self.lost_since is not None:
            return False, "the camera is disconnected"
        return self.camera.set_feature(name, value)

    def last_mask(self) -> Any:
        fn = getattr(self.camera, "last_mask", None)
        return fn() if fn is not None else None

    def connection(self) -> dict[str, Any]:
        return {"state": "lost" if self.lost_since is not None else "connected", "epoch": self.epoch,
                "reconnects": self.reconnects, "lost_for_s": None if self.lost_since is None
                else round(time.monotonic() - self.lost_since, 2), "error": self.last_error}

    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        if self.lost_since is not None:
            self._try_reopen(timeout)
        try:
            frame = self.camera.grab(timeout)
        except CameraError as e:
            self._lost(e)
            raise
        frame.meta["epoch"] = self.epoch
        return frame

    # ---- the lost / found path --------------------------------------------------
    def _emit(self, kind: str, **payload: Any) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, {"spec": self.spec, **payload})
            except Exception:  # a listener's bug must not stop the camera
                log.exception("camera event listener failed")

    def _lost(self, error: CameraError) -> None:
        if self.lost_since is None:
            self.lost_since = time.monotonic()
            self.last_error = str(error)
            log.warning("camera %s lost: %s; retrying every %.1f s", self.spec, error, self.retry_s)
            self._emit("lost", message=f"camera lost: {error.message}", error=str(error))
        try:
            self.camera.close()
        except Exception as e:  # an unplugged camera may fail to close cleanly
            log.debug("closing lost camera %s: %s", self.spec, e)
        self._next_try = time.monotonic()

    def _try_reopen(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            wait = self._next_try - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    break
                time.sleep(wait)
            try:
                self.camera.open()
            except CameraError as e:
                self.last_error = str(e)
                self._next_try = time.monotonic() + self.retry_s
                if time.monotonic() >= deadline:
                    break
                continue
            lost_for = time.monotonic() - (self.lost_since or time.monotonic())
            self.lost_since = None
            self.epoch += 1
            self.reconnects += 1
            log.warning("camera %s is back after %.1f s", self.spec, lost_for)
            self._emit("reconnected", message=f"camera back after {lost_for:.1f} s", lost_for_s=lost_for)
            return
        raise CameraError(f"camera {self.spec} is still disconnected ({self.last_error})",
                          hint="check power and cable; the studio keeps retrying")
