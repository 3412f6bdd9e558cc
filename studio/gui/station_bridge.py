"""Station events, from the station's threads to the GUI thread.

``Station.events`` calls subscribers on its own event thread; this bridge
re-emits each event as a Qt signal on the GUI thread (queued), so views
never touch widgets from another thread and never slow the station.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class StationBridge(QObject):
    part = Signal(object)           # the PartResult
    alert = Signal(str, str)        # message, level
    state = Signal(str)
    stats = Signal(dict)
    _raw = Signal(str, object)

    def __init__(self, station: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.station = station
        self._raw.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = station.events.subscribe(self._on_event)

    def _on_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Any thread: queue the event for the GUI thread."""
        try:
            self._raw.emit(kind, payload)
        except RuntimeError:        # the bridge is already deleted: the view is gone
            pass

    @Slot(str, object)
    def _dispatch(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "part" and payload.get("result") is not None:
            self.part.emit(payload["result"])
        elif kind == "alert":
            self.alert.emit(str(payload.get("message", "")), str(payload.get("level", "warning")))
        elif kind == "state":
            self.state.emit(str(payload.get("state", "")))
        elif kind == "stats" and isinstance(payload.get("stats"), dict):
            self.stats.emit(payload["stats"])

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
