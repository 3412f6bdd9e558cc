"""Cameras through OpenCV: ``opencv:<index>`` (USB/webcam) and ``video:<file>`` (replay).

Good enough to collect a first data set with a webcam or to replay a clip
recorded on the line; an industrial camera belongs on ``genicam``.
Settings are OpenCV capture properties by name, e.g. ``{"exposure": -6,
"width": 1280, "height": 720}`` (``CAP_PROP_<NAME>``); names OpenCV does
not know are listed as unsupported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio.capture.camera import Camera, Frame, now
from studio.core.errors import CameraError


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return image.copy()


class _CaptureCamera(Camera):
    """Shared by webcam and video: a ``cv2.VideoCapture`` and its properties."""

    backend = ""

    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        super().__init__(f"{self.backend}:{argument}")
        self.argument = argument
        self.settings = dict(settings or {})
        self.unsupported: list[str] = []
        self._cap: cv2.VideoCapture | None = None
        self._count = 0

    def _source(self) -> Any:
        raise NotImplementedError

    def _not_opened(self) -> CameraError:
        raise NotImplementedError

    def open(self) -> None:
        if self.is_open:
            return
        cap = cv2.VideoCapture(self._source())
        if not cap.isOpened():
            cap.release()
            raise self._not_opened()
        self.unsupported = []
        for name, value in self.settings.items():
            prop = getattr(cv2, f"CAP_PROP_{str(name).upper()}", None)
            if prop is None or not cap.set(prop, float(value)):
                self.unsupported.append(name)
        self._cap, self._count, self.is_open = cap, 0, True

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap, self.is_open = None, False

    def _read(self) -> np.ndarray | None:
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend, "model": f"OpenCV {self.backend}", "serial": self.argument,
                               "pixel_format": "RGB8", "unsupported_features": list(self.unsupported)}
        if self._cap is not None:
            out["width"] = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            out["height"] = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            out["fps"] = float(self._cap.get(cv2.CAP_PROP_FPS))
        return out


class OpenCVCamera(_CaptureCamera):
    backend = "opencv"

    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        try:
            self.index = int(argument)
        except ValueError:
            raise CameraError(f"'opencv:{argument}' needs a camera number", field="camera.spec",
                              hint="write e.g. opencv:0 for the first camera OpenCV finds") from None
        super().__init__(argument, settings)

    def _source(self) -> int:
        return self.index

    def _not_opened(self) -> CameraError:
        return CameraError(f"no camera at OpenCV index {self.index}",
                           hint="plug the camera in, try another index (opencv:0, opencv:1 ...), and close "
                                "other programs using it")

    def open(self) -> None:
        super().open()
        # Keep one frame queued, so a grab shows the part under the camera now, not a backlog.
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        image = self._read()
        if image is None:
            raise CameraError(f"camera opencv:{self.index} stopped delivering frames",
                              hint="check the cable, then open the camera again")
        self._count += 1
        return Frame(_rgb(image), self._count, now(), {"index": self.index})


class VideoCamera(_CaptureCamera):
    backend = "video"

    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        super().__init__(argument, settings)
        self.path = Path(argument).expanduser()

    def _source(self) -> str:
        if not self.path.is_file():
            raise CameraError("video file not found", file=self.path, hint="check the path after 'video:'")
        return str(self.path)

    def _not_opened(self) -> CameraError:
        return CameraError("cannot be read as a video", file=self.path,
                           hint="convert it to MP4 (H.264) or AVI (MJPEG), or replay extracted images with folder:")

    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        position = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
        image = self._read()
        if image is None:
            raise CameraError(f"video ended after {self._count} frames", file=self.path,
                              hint="capture fewer frames, or open the video again to replay it")
        self._count += 1
        return Frame(_rgb(image), position, now(), {"file": str(self.path), "position": position})
