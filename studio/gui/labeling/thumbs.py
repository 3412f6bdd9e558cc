"""Thumbnails for the image list, loaded a few at a time so a long list never blocks the window."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QSize, QTimer
from PySide6.QtGui import QIcon

THUMB = QSize(72, 54)


class ThumbLoader(QObject):
    def __init__(self, project: Any, on_icon: Callable[[str, QIcon], None], parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self._on_icon = on_icon
        self.icons: dict[str, QIcon] = {}
        self._queue: list[str] = []
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._load_some)

    def icon(self, image_id: str) -> QIcon:
        return self.icons.get(image_id, QIcon())

    def load(self, ids: list[str]) -> None:
        self._queue = [i for i in ids if i not in self.icons]
        if self._queue:
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _load_some(self) -> None:
        import cv2

        from studio.gui.widgets.image_view import to_pixmap

        for _ in range(12):
            if not self._queue:
                self._timer.stop()
                return
            image_id = self._queue.pop(0)
            try:
                path = self.project.dataset.path(self.project.dataset.get(image_id))
                img = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_4)
                if img is None:
                    continue
                icon = QIcon(to_pixmap(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), THUMB))
            except Exception:  # no thumbnail is fine
                continue
            self.icons[image_id] = icon
            self._on_icon(image_id, icon)
