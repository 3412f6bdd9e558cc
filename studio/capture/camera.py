"""Cameras by spec string: one frame per ``grab()``, whatever the hardware.

A spec names a backend and its argument, e.g. ``sim:seed=7,defect_rate=0.3``,
``genicam:/opt/mvIMPACT/lib/producer.cti#4103221``, ``opencv:0``,
``video:line3.mp4`` or ``folder:/data/bracket/good``. The backend is found in
``CAMERAS`` and imported only when used, so ``sim`` never loads harvesters.

Every backend is a class constructed as ``Backend(argument, settings)``;
``open_camera`` builds it and opens it.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.core.errors import CameraError
from studio.core.registry import Registry

CAMERAS = Registry("camera")
CAMERAS.register("sim", "studio.capture.sim:SimCamera")
CAMERAS.register("genicam", "studio.capture.genicam:GenICamCamera")
CAMERAS.register("opencv", "studio.capture.opencv_cam:OpenCVCamera")
CAMERAS.register("video", "studio.capture.opencv_cam:VideoCamera")
CAMERAS.register("folder", "studio.capture.folder:FolderCamera")

# What a person can type; shown whenever a spec is wrong.
SPEC_FORMS = {
    "sim": ("sim[:k=v,...]", "simulated machined bracket, e.g. sim:seed=7,defect_rate=0.3"),
    "genicam": ("genicam:<producer.cti>[#serial]", "GenICam camera through its vendor's GenTL producer"),
    "opencv": ("opencv:<index>", "USB camera or webcam through OpenCV, e.g. opencv:0"),
    "video": ("video:<file>", "replay a video file"),
    "folder": ("folder:<dir>", "replay the images in a folder, in name order"),
}
# Backends that cannot work without an argument after the colon.
NEEDS_ARGUMENT = {"genicam", "opencv", "video", "folder"}


def spec_help() -> str:
    forms = [SPEC_FORMS.get(n, (f"{n}:...", "")) for n in CAMERAS.names()]
    return "use one of:" + "".join(f"\n    {form:<34} {what}" for form, what in forms)


@dataclass
class Frame:
    image: np.ndarray               # uint8, HxW mono or HxWx3 RGB
    frame_id: int
    timestamp: float                # time.time() when the frame reached us
    meta: dict[str, Any] = field(default_factory=dict)   # JSON-serialisable


class Camera(ABC):
    """One camera. ``grab`` returns exactly one new frame per call.

    ``open`` is idempotent, so ``with open_camera(spec) as cam:`` works even
    though ``open_camera`` already opened it.
    """

    spec: str = ""

    def __init__(self, spec: str = ""):
        self.spec = spec
        self.is_open = False

    @abstractmethod
    def open(self) -> None:
        ...

    @abstractmethod
    def grab(self, timeout: float = 2.0) -> Frame:
        """The next frame; ``CameraError`` on timeout or a lost camera."""

    def ping(self) -> None:
        """Ask the camera something (a feature read); ``CameraError`` when it does not answer.

        The station asks while a hardware-triggered camera waits, to tell a pause of the line
        from a lost camera. A backend with nothing to ask answers by returning."""
        self._require_open()

    @abstractmethod
    def close(self) -> None:
        ...

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """model, serial, width, height, pixel_format and whatever else the backend knows."""

    def stats(self) -> dict[str, Any]:
        """Counters: frames, incomplete, dropped, timeouts, ... (what the backend knows; {} if nothing)."""
        return {}

    def features(self) -> dict[str, dict[str, Any]]:
        """Camera features {name: {available, writable, value, ...}}; {} for a camera without any."""
        return {}

    def set_feature(self, name: str, value: Any) -> tuple[bool, str]:
        """Write a camera feature now: (ok, why not). Cameras without features say so."""
        return False, f"the {type(self).__name__} has no camera features"

    def _require_open(self) -> None:
        if not self.is_open:
            raise CameraError(f"camera '{self.spec}' is not open", hint="call open() before grab()")

    def __enter__(self) -> "Camera":
        if not self.is_open:
            self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec!r} {'open' if self.is_open else 'closed'}>"


def parse_spec(spec: str) -> tuple[str, str]:
    """``"genicam:C:/x.cti#2"`` -> ``("genicam", "C:/x.cti#2")``; CameraError if it names no backend."""
    if not isinstance(spec, str) or not spec.strip():
        raise CameraError("no camera given (the camera spec is empty)", field="camera.spec", hint=spec_help())
    # Split at the first colon only: Windows paths ("C:\...") keep theirs.
    backend, _, argument = spec.strip().partition(":")
    backend = backend.strip().lower()
    argument = argument.strip()
    if backend not in CAMERAS:
        raise CameraError(f"unknown camera '{backend}' in '{spec}'", field="camera.spec", hint=spec_help())
    if backend in NEEDS_ARGUMENT and not argument:
        raise CameraError(f"camera spec '{spec}' is missing its argument", field="camera.spec",
                          hint="write it as " + SPEC_FORMS[backend][0])
    return backend, argument


def parse_options(argument: str, spec: str = "") -> dict[str, str]:
    """``"seed=7,defect=scratch"`` -> ``{"seed": "7", "defect": "scratch"}``."""
    options: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in argument.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise CameraError(f"'{item}' in camera spec '{spec or argument}' is not key=value",
                              field="camera.spec", hint="write options as e.g. sim:seed=7,defect=scratch")
        options[key.strip().lower()] = value.strip()
    return options


def open_camera(spec: str, settings: dict[str, Any] | None = None) -> Camera:
    """Build the camera ``spec`` names, apply ``settings`` and open it."""
    backend, argument = parse_spec(spec)
    try:
        cls = CAMERAS.get(backend)
    except ImportError as e:
        raise CameraError(f"the '{backend}' camera backend cannot be loaded ({e})",
                          hint="reinstall Inspection Studio; its dependencies are incomplete") from None
    camera = cls(argument, settings)
    camera.spec = spec.strip()
    camera.open()
    return camera


def now() -> float:
    """Timestamp for a frame (wall clock, so it matches logs and file times)."""
    return time.time()
