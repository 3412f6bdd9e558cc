"""What a running station tells other processes, and what it takes from them, through its data directory.

The kiosk is not the station: it runs in a process of its own (``studio kiosk``)
and may die, be killed or be restarted while the station goes on inspecting.
The result log (WAL, readable from any process) has every part; the live rest
is published here:

``station.json``         which project this data directory belongs to (written at
                         each start, kept: ``studio trace`` finds the project by it)
``station-status.json``  the live state: state, fault, model, the figures, the last
                         alerts, the process id and when it was last written
``station-control.json`` a request to the station (``{"action": "stop", "by", "reason",
                         "time"}``), written by ``request()``; the station obeys it and
                         deletes it. Whoever may write into the data directory may ask.

``StatusPublisher`` runs off the actuation path: it subscribes to
``Station.events`` (whose pump thread only updates a dict here) and a thread of
its own writes the file atomically, at most every ``WRITE_EVERY_S`` and at least
every ``ALIVE_EVERY_S`` (so a reader tells a silent station from a dead one),
and looks for a control request. A disk that fails only loses the status file,
never a part.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from studio.core.atomic import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

STATION_FILE = "station.json"
STATUS_FILE = "station-status.json"
CONTROL_FILE = "station-control.json"
WRITE_EVERY_S = 0.25        # at most this often
ALIVE_EVERY_S = 2.0         # at least this often, even when nothing changed
STALE_S = 10.0              # a status older than this, from a process that is gone: no station
ALERTS_KEPT = 20
ACTIONS = ("stop",)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when missing, unreadable or not an object."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def read_station(data_dir: str | Path) -> dict[str, Any] | None:
    """``station.json`` of ``data_dir``: ``project`` (absolute path), ``project_name``, ``started``, ..."""
    return read_json(Path(data_dir) / STATION_FILE)


def read_status(data_dir: str | Path) -> dict[str, Any] | None:
    return read_json(Path(data_dir) / STATUS_FILE)


def liveness(status: dict[str, Any] | None, now: float | None = None) -> str:
    """``live``, ``silent`` (its process is there but has not written for ``STALE_S`` while running: hung)
    or ``gone`` (no status, its process ended, or, from another host, silent for ``STALE_S``)."""
    if not status:
        return "gone"
    now = time.time() if now is None else now
    fresh = now - float(status.get("updated") or 0) < STALE_S
    pid, host = status.get("pid"), status.get("host")
    if isinstance(pid, int) and host == socket.gethostname() and os.name != "nt":    # signal 0 is Ctrl-C there
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "gone"
        except PermissionError:
            pass                # there, under another user
        return "live" if fresh or status.get("state") == "stopped" else "silent"
    return "live" if fresh else "gone"


def alive(status: dict[str, Any] | None, now: float | None = None) -> bool:
    """Whether the process that wrote ``status`` still runs and answers (``liveness`` is ``live``)."""
    return liveness(status, now) == "live"


def request(data_dir: str | Path, action: str, *, by: str, reason: str = "") -> dict[str, Any]:
    """Ask the station running on ``data_dir`` to ``action`` (``stop``); returns the request written."""
    from studio.core.errors import StudioError

    if action not in ACTIONS:
        raise StudioError(f"the station takes no request '{action}'", hint=f"ask one of: {', '.join(ACTIONS)}")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise StudioError("no station data directory here", file=folder,
                          hint="give the data directory the station writes to")
    body = {"action": action, "by": by, "reason": reason, "time": time.time()}
    atomic_write_json(folder / CONTROL_FILE, body)
    return body


class StatusPublisher:
    """Publishes ``station``'s live state to ``station-status.json`` and obeys ``station-control.json``.

    ``on_request(request)`` is called (on the publisher's thread) for a request
    made after this publisher started; the default stops the station on a
    thread of its own.
    """

    def __init__(self, station: Any, on_request: Callable[[dict[str, Any]], None] | None = None):
        self.station = station
        self.data_dir = Path(station.data_dir)
        self.path = self.data_dir / STATUS_FILE
        self.control = self.data_dir / CONTROL_FILE
        self.on_request = on_request or self._stop_station
        self.started = time.time()
        self.requests: list[dict[str, Any]] = []
        self.write_errors = 0
        self.writes = 0
        self._lock = threading.Lock()
        self._alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_KEPT)
        self._status: dict[str, Any] = {
            "pid": os.getpid(), "host": socket.gethostname(), "started": self.started,
            "project": str(Path(station.project.root).resolve()) if getattr(station, "project", None) else None,
            "state": getattr(station, "state", "starting"), "fault": None, "model_id": None,
            "stats": {}, "stats_through_part": None, "alerts": [], "alerts_seen": 0, "last_part": None, "updated": self.started,
        }
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ---- life ---------------------------------------------------------------
    def start(self) -> "StatusPublisher":
        self._write_station_file()
        self._clear_old_request()
        self._unsubscribe = self.station.events.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="station-status", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write the last status (the station stopped) and end the thread."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        with self._lock:
            self._status["state"] = getattr(self.station, "state", "stopped")
            self._status["fault"] = getattr(self.station, "fault", None)
        self._write()

    # ---- the station's events (its pump thread: only a dict changes) ---------
    def _on_event(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            s = self._status
            if kind == "state":
                s["state"] = payload.get("state")
                s["fault"] = getattr(self.station, "fault", None)
            elif kind == "stats" and isinstance(payload.get("stats"), dict):
                s["stats"] = payload["stats"]
                s["stats_through_part"] = s["last_part"]     # events arrive in order: the figures count it
                s["model_id"] = payload["stats"].get("model_id")
            elif kind == "alert":
                self._seq += 1
                self._alerts.append({"seq": self._seq, "time": time.time(), "message": payload.get("message"),
                                     "level": payload.get("level"), "key": payload.get("key")})
                s["alerts"] = list(self._alerts)
                s["alerts_seen"] = self._seq
            elif kind == "part" and payload.get("result") is not None:
                r = payload["result"]
                s["last_part"] = getattr(r, "part", None)
                s["model_id"] = getattr(r, "model_id", None) or s["model_id"]
            else:
                return
        self._dirty.set()

    # ---- the publisher's thread --------------------------------------------
    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._dirty.wait(WRITE_EVERY_S)
            now = time.monotonic()
            if self._dirty.is_set() or now - last >= ALIVE_EVERY_S:
                self._dirty.clear()
                self._write()
                last = now
            self._check_request()
            self._stop.wait(WRITE_EVERY_S)

    def _write(self) -> None:
        with self._lock:
            self._status["updated"] = time.time()
            data = json.dumps(self._status, default=str).encode("utf-8")
        try:
            # fsync=False: atomic against a crash of the station; the status is live, not a record
            atomic_write_bytes(self.path, data, fsync=False, within=self.data_dir)
            self.writes += 1
        except OSError as e:
            self.write_errors += 1
            if self.write_errors == 1:
                log.warning("the station status cannot be written (%s); the kiosk will not see it", e)

    def _write_station_file(self) -> None:
        project = getattr(self.station, "project", None)
        if project is None:
            return
        old = read_station(self.data_dir) or {}
        root = str(Path(project.root).resolve())
        history = [h for h in old.get("history", []) if isinstance(h, dict)][-19:]
        if old.get("project") and old.get("project") != root:
            history.append({"project": old.get("project"), "until": self.started})
        body = {"project": root, "project_name": getattr(project, "name", None), "started": self.started,
                "pid": os.getpid(), "host": socket.gethostname(), "history": history}
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.data_dir / STATION_FILE, body)
        except OSError as e:
            log.warning("could not record the project in %s: %s", self.data_dir / STATION_FILE, e)

    def _clear_old_request(self) -> None:
        req = read_json(self.control)
        if req is not None and float(req.get("time") or 0) < self.started:
            try:
                self.control.unlink()       # a request to a station that is gone is not for this one
            except OSError:
                pass

    def _check_request(self) -> None:
        if not self.control.exists():
            return
        req = read_json(self.control)
        try:
            self.control.unlink()
        except OSError:
            pass
        if req is None or req.get("action") not in ACTIONS or float(req.get("time") or 0) < self.started:
            return
        self.requests.append(req)
        log.info("station request: %s by %s", req.get("action"), req.get("by"))
        try:
            self.on_request(req)
        except Exception as e:  # a request never takes the publisher down
            log.warning("station request %s failed: %s", req.get("action"), e)

    def _stop_station(self, req: dict[str, Any]) -> None:
        if req.get("action") == "stop":
            alert = getattr(self.station, "_alert", None)
            if alert is not None:
                why = f": {req['reason']}" if req.get("reason") else ""
                alert(f"stopped by {req.get('by') or 'someone'} from the kiosk{why}", "info")
            who = {"by": str(req.get("by") or "") or None,      # station.stopped under this name (station_audit.py)
                   "reason": str(req.get("reason") or "") or "asked to stop from the kiosk"}
            threading.Thread(target=self.station.stop, kwargs=who, name="station-stop-request", daemon=True).start()
