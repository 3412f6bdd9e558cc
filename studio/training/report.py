"""How a training function tells the world what it is doing.

Trainers take a ``Report`` and call ``status``, ``progress``, ``metric`` and
``check``. In the worker process the report prints JSON lines (the event
format the runner reads); in tests it just collects the events; in-process
callers can wrap a ``TaskContext`` so cancel works without a subprocess.

Event format, one JSON object per line::

    {"event": "status",   "text": "..."}
    {"event": "progress", "fraction": 0.0..1.0}
    {"event": "metric",   "name": "loss", "step": 3, "value": 0.41}
    {"event": "done",     "model_id": ..., "task": ..., "metrics": {...}, "seconds": ...}
    {"event": "error",    "message": "..."}
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import IO, Any


class Report:
    """Collects events in ``self.events``; subclasses send them somewhere."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._last_fraction = -1.0

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def status(self, text: str) -> None:
        self.emit({"event": "status", "text": str(text)})

    def progress(self, fraction: float) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        # a progress bar needs ~200 steps, not one per patch: keep the pipe quiet
        if fraction < 1.0 and abs(fraction - self._last_fraction) < 0.005:
            return
        self._last_fraction = fraction
        self.emit({"event": "progress", "fraction": round(fraction, 4)})

    def metric(self, name: str, step: int, value: float) -> None:
        value = float(value)
        self.emit({"event": "metric", "name": name, "step": int(step),
                   "value": value if math.isfinite(value) else None})

    def check(self) -> None:
        """Raise ``Cancelled`` when cancel was requested (never, for a plain report)."""

    def sub(self, start: float, end: float) -> "SubReport":
        """A report whose progress 0..1 maps onto ``start..end`` of this one."""
        return SubReport(self, start, end)


class SubReport:
    def __init__(self, parent: Report, start: float, end: float):
        self.parent, self.start, self.end = parent, start, end

    def status(self, text: str) -> None:
        self.parent.status(text)

    def progress(self, fraction: float) -> None:
        self.parent.progress(self.start + (self.end - self.start) * max(0.0, min(1.0, fraction)))

    def metric(self, name: str, step: int, value: float) -> None:
        self.parent.metric(name, step, value)

    def check(self) -> None:
        self.parent.check()


class JsonLinesReport(Report):
    """Prints each event as one JSON line (flushed) and appends it to ``events.jsonl``."""

    def __init__(self, stream: IO[str], events_file: Path | None = None):
        super().__init__()
        self.stream = stream
        self.events_file = Path(events_file) if events_file else None
        if self.events_file:
            self.events_file.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: dict[str, Any]) -> None:
        event = {**event, "time": round(time.time(), 3)}
        line = json.dumps(event, default=str)
        # the file first: whatever the studio has read is already on disk
        if self.events_file:
            with open(self.events_file, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        self.stream.write(line + "\n")
        self.stream.flush()


class TaskReport(Report):
    """Forwards progress and status to a ``TaskContext``; ``check`` honours its cancel."""

    def __init__(self, task_ctx):
        super().__init__()
        self.task_ctx = task_ctx

    def emit(self, event: dict[str, Any]) -> None:
        super().emit(event)
        if event["event"] == "progress":
            self.task_ctx.progress(event["fraction"])
        elif event["event"] == "status":
            self.task_ctx.status(event["text"])

    def check(self) -> None:
        self.task_ctx.check()
