"""The production monitor beside a running station, off the actuation path.

``Monitor`` subscribes to ``station.events``: for each ``part`` event the
event thread only copies the figures it needs (part, time, verdict, score,
defect class, a reference to the model's anomaly map: never the image) onto
a bounded queue, without waiting; when the monitor is behind, parts are
dropped from monitoring and counted (``dropped``; the result log still has
every part), and beyond ``MAPS_PENDING`` maps waiting a part goes on without
its map (``maps_skipped``). The monitor's own thread pools the anomaly map to 16×16, runs
``studio.monitoring.live.LineMonitor`` and raises what it finds through the
station's alert path (``Station._alert``: the alerts table, the kiosk, the
Station page), and keeps ``monitoring.json`` in the data directory up to
date (the expected rate and where it comes from, the drift, new defect
groups) for ``studio station report``. The PLC write never waits for any of it.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from studio.core.atomic import atomic_write_bytes
from studio.monitoring.live import LineMonitor
from studio.monitoring.reference import coarse_map

log = logging.getLogger(__name__)

STATE_FILE = "monitoring.json"
QUEUE_PARTS = 2000
MAPS_PENDING = 64           # anomaly maps waiting at most (a segmentation map can be megabytes)
SAVE_EVERY_S = 5.0
_STOP = object()


class Monitor:
    def __init__(self, card: dict[str, Any] | None, settings: dict[str, Any] | None, *,
                 alert: Callable[..., None], data_dir: str | Path | None = None, model_id: str | None = None,
                 prefill: list[dict[str, Any]] | None = None):
        self._settings = settings
        self.engine = LineMonitor(card, settings, model_id=model_id)
        if self.engine.reference is not None:
            import scipy.stats  # noqa: F401  at start, not mid-run: an import holds the GIL
        for h in prefill or ():                 # the log's hours before this run, for the chart
            self.engine.hours[float(h["hour"])] = [int(h["parts"]), int(h["rejected"])]
        self.alert = alert
        self.state_path = Path(data_dir) / STATE_FILE if data_dir is not None else None
        self.dropped = 0
        self.maps_skipped = 0           # parts monitored without their anomaly map (too many maps queued)
        self._maps_in = self._maps_out = 0      # maps queued (event thread) and pooled (monitor thread): one writer each
        self.seen = 0
        self.raised = 0
        self.cost_s = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_PARTS)
        self._lock = threading.Lock()           # the engine: its thread writes, views read snapshots
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last_save = 0.0

    @classmethod
    def for_station(cls, station: Any) -> "Monitor":
        """The monitor of ``station`` (its model's card, station.yaml, its data directory)."""
        prefill = None
        try:
            if station.log is not None:
                prefill = station.log.reader.reject_rate_per_hour(hours=24)
        except Exception as e:      # a dashboard figure is never worth refusing to start
            log.warning("monitor: could not read the log's hours: %s", e)
        return cls(getattr(station.model, "card", None), station.project.station_settings(),
                   alert=lambda m, level, key, figures: station._alert(m, level, key=key, always=True,
                                                                        figures=figures),
                   data_dir=station.data_dir, model_id=station.model_id, prefill=prefill)

    # ---- life -----------------------------------------------------------------
    def start(self, events: Any = None) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="station-monitor", daemon=True)
        self._thread.start()
        if events is not None:
            self._unsubscribe = events.subscribe(self.on_event)
        self._save(force=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Look at the parts still queued, save the state, end the thread."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)
        self._thread = None
        self._save(force=True)

    # ---- feeding: the event thread, never waits -------------------------------
    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        if kind != "part":
            return
        r = payload.get("result")
        if r is None:
            return
        self.put(getattr(r, "part", 0), getattr(r, "t_decided", 0.0) or time.time(), getattr(r, "verdict", "fault"),
                 getattr(r, "score", None), getattr(r, "anomaly_map", None), getattr(r, "defect_class", None))

    def put(self, part: int, t: float, verdict: str, score: Any, amap: Any = None, defect_class: Any = None) -> bool:
        if amap is not None:
            if self._maps_in - self._maps_out >= MAPS_PENDING:   # big maps would fill memory: figures only
                amap = None
                self.maps_skipped += 1
            else:
                self._maps_in += 1
        try:
            self._queue.put_nowait((part, t, verdict, score, amap, defect_class))
            return True
        except queue.Full:
            if amap is not None:
                self._maps_in -= 1
            self.dropped += 1
            return False

    # ---- the monitor's thread ---------------------------------------------------
    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            try:
                self._one(*item)
            except Exception as e:      # a monitoring bug must never touch inspection
                log.warning("monitor: %s", e)
            if time.monotonic() - self._last_save > SAVE_EVERY_S:
                self._save()

    def _one(self, part: int, t: float, verdict: str, score: Any, amap: Any, defect_class: Any) -> None:
        t0 = time.perf_counter()
        try:
            s = float(score) if score is not None else None
        except (TypeError, ValueError):
            s = None
        coarse = None
        if amap is not None:
            coarse = coarse_map(amap)
            self._maps_out += 1
        with self._lock:
            found = self.engine.add(int(part), float(t), str(verdict), s, coarse, defect_class)
            self.seen += 1
        self.cost_s += time.perf_counter() - t0
        for a in found:
            if self.dropped:
                a["figures"] = {**a["figures"], "monitor_dropped": self.dropped}
            self.raised += 1
            try:
                self.alert(a["message"], a["level"], a["key"], a["figures"])
            except Exception as e:
                log.warning("monitor alert: %s", e)

    def use_model(self, card: dict[str, Any] | None, model_id: str | None) -> None:
        """A reloaded model: its card's reference and expected rate from the next part (the hours stay)."""
        with self._lock:
            hours = self.engine.hours
            self.engine = LineMonitor(card, self._settings, model_id=model_id)
            self.engine.hours = hours

    def snapshot(self) -> dict[str, Any]:
        """The monitor's figures now (the views poll it): see ``LineMonitor.snapshot``."""
        with self._lock:
            out = self.engine.snapshot()
        out.update({"seen": self.seen, "dropped": self.dropped, "maps_skipped": self.maps_skipped,
                    "alerts_raised": self.raised})
        return out

    def _save(self, force: bool = False) -> None:
        if self.state_path is None:
            return
        self._last_save = time.monotonic()
        try:
            snap = self.snapshot()
            snap.pop("histogram", None)
            e = self.engine
            snap.update({"saved": time.time(), "threshold": e.cut if e.cut != float("inf") else None,
                         "reference": e.reference, "shifts_setting": [{"name": n, "start": f"{m // 60:02d}:{m % 60:02d}"}
                                                                     for n, m in e.shifts]})
            data = (json.dumps(snap, indent=1, default=str) + "\n").encode("utf-8")
            # within the data directory: one that went away is never re-created from here
            atomic_write_bytes(self.state_path, data, fsync=False, within=self.state_path.parent)
        except Exception as e:      # a full disk: the log's own alerts say so
            log.debug("monitor state not saved: %s", e)
