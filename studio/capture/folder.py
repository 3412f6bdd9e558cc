"""Replay a folder of images as a camera: ``folder:<dir>``.

For trying a model on saved images, or running the station against images
from another system. Files are served in natural name order (``img2`` before
``img10``), one per grab, and the replay starts over when all were served.
A file that cannot be decoded is skipped and listed in ``meta["skipped"]``:
one bad file in a thousand must not stop a replay.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studio.capture.camera import Camera, Frame, now
from studio.core.errors import CameraError, StudioError
from studio.dataset.store import IMAGE_SUFFIXES, read_image


def natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class FolderCamera(Camera):
    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        super().__init__(f"folder:{argument}")
        self.folder = Path(argument).expanduser()
        self.unsupported = list(settings or {})      # a folder has no features to set
        self.files: list[Path] = []
        self.skipped: list[str] = []
        self._next = 0
        self._loop = 0
        self._count = 0

    def open(self) -> None:
        if self.is_open:
            return
        if not self.folder.is_dir():
            raise CameraError("image folder not found", file=self.folder, hint="check the path after 'folder:'")
        self.files = sorted((p for p in self.folder.iterdir()
                             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: natural_key(p.name))
        if not self.files:
            raise CameraError("the folder holds no images", file=self.folder,
                              hint=f"put image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in it")
        self.skipped, self._next, self._loop, self._count = [], 0, 0, 0
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        # At most one full pass: if nothing in it decodes, the folder is unusable.
        for _ in range(len(self.files)):
            if self._next >= len(self.files):
                self._next, self._loop = 0, self._loop + 1
            path = self.files[self._next]
            self._next += 1
            if path.name in self.skipped:
                continue
            try:
                image = read_image(path)
            except StudioError:
                self.skipped.append(path.name)
                continue
            self._count += 1
            return Frame(image, self._count, now(), {"file": path.name, "path": str(path), "loop": self._loop,
                                                      "skipped": list(self.skipped)})
        raise CameraError("none of the images in the folder can be read", file=self.folder,
                          hint=f"skipped as unreadable: {', '.join(self.skipped[:10])}")

    def info(self) -> dict[str, Any]:
        return {"backend": "folder", "model": "image folder", "serial": str(self.folder),
                "images": len(self.files), "skipped": list(self.skipped), "width": None, "height": None,
                "pixel_format": None, "unsupported_features": list(self.unsupported)}
