"""A station handle: what a view (the kiosk) needs of a station, here or in another process.

A view uses only this: ``project``, ``data_dir``, ``events`` (an ``Emitter`` of
``part``, ``state``, ``alert`` and ``stats``, as ``Station.events``), ``state``,
``fault``, ``attached`` (False: the station runs in this process), ``stop()``
(stop the station; ``stop(by=NAME, reason=TEXT)`` when a person is known: its
``station.stopped`` entry names them) and ``close()`` (the view lets go; the
station goes on).

* ``studio.station.Station`` is a handle as it is (a view reads ``attached`` with
  ``getattr(station, "attached", False)``; it has no ``close``: the view that
  made it stops it).
* ``AttachedStation(data_dir)`` follows a station running in another process
  through its data directory: the parts from the result log (read-only, WAL),
  the state, figures and alerts from ``station-status.json``
  (``status_file.py``); ``stop()`` writes a stop request the station obeys.
  It survives the station's restarts (a new run is picked up) and its own
  (a new handle shows the newest parts at once).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.events import Emitter
from studio.results import rates
from studio.results.schema import FILE_NAME as LOG_FILE
from studio.station import status_file

log = logging.getLogger(__name__)

POLL_S = 0.2
PENDING_WAIT_S = 3.0    # a row whose image is still pending is shown at most this late (without it)
SHOWN_KEPT = 2000       # parts remembered to add to figures older than them (seconds of parts)
BACKLOG = 8             # parts shown at once by a new handle (the kiosk's strip)
ABSENT = "no station"   # the state while no station process writes the data directory
SILENT = "not responding"   # its process is there, but it has not written its status for STALE_S


@dataclass
class LoggedPart:
    """A part as the result log has it, with its image read back (what the kiosk shows)."""

    part: int
    verdict: str
    score: float = math.nan
    defect_class: str | None = None
    part_id: str = ""
    model_id: str | None = None
    latency_ms: float = 0.0
    image_path: str | None = None
    t_decided: float = 0.0
    image: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: dict[str, Any], data_dir: Path, with_image: bool = True) -> "LoggedPart":
        score = row.get("score")
        out = cls(part=int(row["part"]), verdict=str(row.get("verdict") or "fault"),
                  score=float(score) if score is not None else math.nan, defect_class=row.get("defect_class"),
                  part_id=row.get("part_id") or "", model_id=row.get("model_id"),
                  latency_ms=float(row.get("latency_ms") or 0.0), image_path=row.get("image_path"),
                  t_decided=float(row.get("t_decided") or 0.0))
        if with_image and out.image_path:
            out.image = read_image(data_dir / out.image_path)
        return out


def read_image(path: Path) -> np.ndarray | None:
    """A part image as RGB, or None (not written yet, pruned, unreadable)."""
    import cv2

    try:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except Exception:  # noqa: BLE001 - a damaged file is only a missing picture
        return None
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def resolve(target: str | Path) -> Path:
    """The data directory named by ``target``: a data directory (it has a result log or a station
    status, or is still empty), or a project folder (its station data directory, as ``studio station
    run`` uses)."""
    path = Path(target).expanduser()
    if not path.exists():
        raise StudioError("no such folder", file=path,
                          hint="give the station's data directory or its project folder")
    if any((path / name).exists() for name in (LOG_FILE, status_file.STATUS_FILE, status_file.STATION_FILE)):
        return path
    if path.is_dir() and not any(path.iterdir()):
        return path         # a data directory the station has not written to yet (the kiosk starts first)
    if (path / "project.yaml").exists():
        from studio.project import Project
        from studio.station.data_dir import resolve_data_dir

        return resolve_data_dir(Project.open(path))
    raise StudioError("neither a station data directory nor a project", file=path,
                      hint="give the folder holding results.sqlite, or the project folder")


class AttachedStation:
    """A station in another process, followed through its data directory. ``start()`` begins to
    follow it (a thread polls every ``POLL_S``), ``close()`` ends that; the station goes on."""

    attached = True

    def __init__(self, data_dir: str | Path, *, project: Any = None, poll_s: float = POLL_S,
                 resolved: bool = False):
        # resolved: ``data_dir`` came from ``resolve`` (a project's data directory the station has not
        # made yet is followed too: the kiosk waits for the station)
        self.data_dir = Path(data_dir) if resolved else resolve(data_dir)
        self.log_path = self.data_dir / LOG_FILE
        self.poll_s = poll_s
        self.events = Emitter()
        self.state = ABSENT
        self.fault: str | None = None
        self.status: dict[str, Any] | None = None
        self._project = project
        self._reader: Any = None
        self._last_id = 0
        self._run_started: float | None = None
        self._alerts_seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown: deque[tuple[int, str]] = deque(maxlen=SHOWN_KEPT)     # (part, verdict) emitted

    # ---- what a view reads ---------------------------------------------------
    @property
    def project(self) -> Any:
        """The station's project (from ``station.json``), opened on first use; None when unknown."""
        if self._project is None:
            info = status_file.read_station(self.data_dir) or {}
            root = info.get("project") or (self.status or {}).get("project")
            if root:
                from studio.project import Project

                try:
                    self._project = Project.open(root)
                except StudioError as e:
                    log.warning("the station's project %s cannot be opened: %s", root, e)
        return self._project

    def stats(self) -> dict[str, Any]:
        return dict((self.status or {}).get("stats") or {})

    def describe(self) -> str:
        return f"the station writing to {self.data_dir} ({self.state})"

    # ---- life ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-attached", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def stop(self, by: str | None = None, reason: str = "") -> None:
        """Ask the station to stop (it finishes the parts it has taken); returns at once."""
        from studio.audit.trail import default_actor

        if self.state in (ABSENT, "stopped"):
            return
        status_file.request(self.data_dir, "stop", by=by or default_actor(), reason=reason)

    def wait_stopped(self, timeout: float = 10.0) -> bool:
        """After ``stop()``: wait until the station says it stopped (or is gone)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if self.state in ("stopped", ABSENT):
                return True
            time.sleep(self.poll_s)
        return False

    # ---- following ------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - a view's reader never dies of a bad read
                log.warning("following the station in %s: %s", self.data_dir, e)
            self._stop.wait(self.poll_s)

    def poll(self) -> None:
        """Read the status and the new rows once; emit what changed."""
        status = status_file.read_status(self.data_dir)
        live = status_file.liveness(status)
        running = live == "live"
        if status is not None and status.get("started") != self._run_started:
            self._run_started = status.get("started")          # a new run: its alerts count from 0
            self._alerts_seen = 0
        self.status = status
        state = str(status.get("state") or "starting") if status and running else (
            SILENT if live == "silent" else "stopped" if status and status.get("state") == "stopped" else ABSENT)
        fault = (status or {}).get("fault") if running else None
        if state != self.state or fault != self.fault:
            self.state, self.fault = state, fault
            self.events.emit("state", state=state)
        if status and running:
            for alert in status.get("alerts") or []:
                if int(alert.get("seq") or 0) > self._alerts_seen:
                    self._alerts_seen = int(alert["seq"])
                    self.events.emit("alert", message=alert.get("message") or "", level=alert.get("level") or
                                     "warning", key=alert.get("key"))
        self._read_parts()
        if status and running and isinstance(status.get("stats"), dict) and status["stats"]:
            self.events.emit("stats", stats=self._figures(status))

    def _figures(self, status: dict[str, Any]) -> dict[str, Any]:
        """The station's figures (written about once a second) and the parts read since them: what a
        view shows is never behind the parts it shows."""
        stats = dict(status["stats"])
        through = status.get("stats_through_part")
        if not isinstance(through, int):
            return stats
        try:
            counts = rates.from_stats(stats)
        except (KeyError, TypeError, ValueError):
            return stats
        for part, verdict in self._shown:
            if part > through:
                rates.add(counts, verdict)
        stats.update({"parts": counts["parts"], **{rates.STATS_KEYS[b]: counts[b] for b in rates.BUCKETS},
                      "reject_rate": rates.reject_rate(counts), "review_rate": rates.review_rate(counts)})
        return stats

    def _read_parts(self) -> None:
        if self._reader is None:
            if not self.log_path.exists():
                return
            from studio.results.reader import ResultReader

            self._reader = ResultReader(self.log_path)
        if self._last_id == 0:
            rows = self._reader.recent(BACKLOG)          # newest first: a new view shows the newest parts
        else:
            rows = self._reader.after(self._last_id)
        now = time.time()
        for row in sorted(rows, key=lambda r: r["id"]):
            if row.get("image_state") == "pending" and now - float(row.get("t_decided") or 0) < PENDING_WAIT_S:
                break                   # its image is on its way: show the part once it is there
            self._last_id = row["id"]
            part = LoggedPart.from_row(row, self.data_dir)
            self._shown.append((part.part, part.verdict))
            self.events.emit("part", result=part)
