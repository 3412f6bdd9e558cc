"""The inspection station: camera -> model -> PLC -> result log, on-line.

``Station`` owns the resources (camera, model, PLC link, result log), the
pipeline threads and the heartbeat, and tells the world what happens through
``events`` (kinds ``state``, ``part``, ``alert``, ``stats``). The kiosk and the
CLI only subscribe; neither drives the pipeline.

States: ``starting`` -> ``running`` -> ``stopped``. ``faulted`` is either
passing (the camera is lost and being reopened; back to ``running`` when it
returns) or final (an internal fault: a stage crashed or hung, the PLC write
failed); either way the heartbeat stops while faulted.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from studio.core.events import Emitter
from studio.plc import register_map as rm
from studio.results.policy import LogPolicy
from studio.results.schema import FILE_NAME as LOG_FILE
from studio.station.camera_feed import CameraFeed
from studio.station.data_dir import resolve_data_dir
from studio.station.dispatch import EventPump
from studio.station.heartbeat import Heartbeat
from studio.station.log_health import LogHealth, alert_kind
from studio.station.pipeline import Pipeline
from studio.station.stats import StationStats

log = logging.getLogger(__name__)

FIRST_PART_HANG_S = 60.0    # the first part may include model warm-up (CUDA, cuDNN) and camera start
ALERT_REPEAT_S = 10.0       # the same kind of alert at most this often; the rest are counted
STATS_EVERY_S = 1.0


class Station:
    def __init__(self, project: Any, camera_spec: str | None = None, plc_spec: str | None = "sim", *,
                 model: Any = None, model_id: str | None = None, data_dir: str | Path | None = None,
                 max_parts: int | None = None, interval_s: float = 0.0, camera: Any = None, plc: Any = None,
                 deadline_ms: float = 50.0, heartbeat_s: float = 0.5, hang_s: float = 10.0):
        self.project = project
        settings = project.station_settings()
        configured = settings.get("camera")
        if isinstance(configured, dict):            # station.yaml may say camera: {spec: ...}
            configured = configured.get("spec")
        self.camera_spec = camera_spec or configured or project.camera_spec
        self.plc_spec = plc_spec or settings.get("plc") or "sim"
        self.data_dir = resolve_data_dir(project, data_dir, settings)
        self.log_path = self.data_dir / LOG_FILE
        self.log_policy = LogPolicy.from_settings(settings, file=Path(project.root) / "station.yaml")
        self._log_health = LogHealth(self, self.log_policy.on_failure)
        self.max_parts, self.interval_s = max_parts, interval_s
        self.deadline_s, self.heartbeat_s, self.hang_s = deadline_ms / 1000.0, heartbeat_s, hang_s
        self.model, self.model_id = model, model_id
        self._camera, self._plc_given = camera, plc
        self.plc: Any = plc
        self.events = Emitter()
        self.state = "stopped"
        self.fault: str | None = None       # the final fault, in words
        self._counts = StationStats()
        self.log: Any = None
        self.feed: CameraFeed | None = None
        self.pipeline: Pipeline | None = None
        self.lighting: Any = None               # the lighting watch (when the project has a baseline)
        self.heartbeat: Heartbeat | None = None
        self._pump: EventPump | None = None
        self._lock = threading.RLock()         # start/stop
        self._fault_lock = threading.Lock()     # separate: a stage may fault while stop() holds _lock
        self._ended = threading.Event()
        self._finished = False                  # the pipeline saw its last part through
        self._completed = False                 # ... and that was max_parts parts
        self._misses = 0
        self._alerted: dict[str, list[float]] = {}      # key -> [last time, suppressed count]
        self._last_stats = 0.0

    # ---- life cycle ---------------------------------------------------
    def start(self) -> None:
        """Open camera, model, PLC link and log, then run. Errors here reach the user as they are."""
        with self._lock:
            if self.pipeline is not None:
                return
            self._pump = EventPump(self.events)
            self._ended.clear()
            self.fault = None
            self._finished = self._completed = False
            self._counts = StationStats()       # figures are per run
            self._set_state("starting")
            try:
                self._open()
                first_part = self.log.next_part()      # after any number the PLC can have seen
                if self.log.skipped_parts:
                    first, last = self.log.skipped_parts
                    self._alert(f"the last run did not close its result log: part numbers {first}..{last} "
                                "are skipped, so none the PLC may have seen is given out again", "warning",
                                key="log")
                self.plc.set_model(self.model_id)
                self.plc.set_state(rm.STATE_RUNNING)
                self.plc.beat()                 # the PLC sees the start at once, however short the run
            except BaseException:
                self._close_resources()
                self._set_state("stopped")
                self._pump.close()
                raise
            self.pipeline = Pipeline(
                feed=self.feed, model=self.model, model_id=self.model_id, plc=self.plc,
                deliver=self._deliver, record=self.log.commit,      # the row is committed before the PLC write
                on_end=self._on_end, alert=self._alert, fault=self._fault,
                first_part=first_part, max_parts=self.max_parts,
                interval_s=self.interval_s, deadline_s=self.deadline_s, frame_check=self.lighting)
            self.heartbeat = Heartbeat(self.plc, self._healthy, interval_s=self.heartbeat_s,
                                       check=self._watchdog, on_error=self._fault)
            self._set_state("running")
            self.pipeline.start()
            self.heartbeat.start()

    def describe(self) -> str:
        """One line for the operator: what runs and where the results go."""
        plc = self.plc.describe() if self.plc is not None else self.plc_spec
        return (f"camera {self.camera_spec}; PLC: {plc}; model {self.model_id or '(not loaded)'}; "
                f"results in {self.data_dir}")

    def _open(self) -> None:
        from studio.results.log import ResultLog

        self.log = ResultLog(self.log_path, on_error=lambda message: self._alert(message, "warning", key="log"),
                             on_health=self._log_health, policy=self.log_policy)
        if self.model is None:
            from studio.inference import InspectionModel

            self.model = InspectionModel.load(self.project, self.model_id)
        self.model_id = getattr(self.model, "model_id", None) or self.model_id
        if self.plc is None:
            from studio.plc import open_plc

            self.plc = open_plc(self.plc_spec)
        elif hasattr(self.plc, "start"):
            self.plc.start()
        self.feed = CameraFeed(self.camera_spec, dict(self.project.camera_settings), self._camera,
                               alert=self._alert, on_health=self._camera_health)
        self.feed.open()
        from studio.lighting.drift import watch_for

        self.lighting = watch_for(self.project, lambda m, level="warning": self._alert(
            m, level, key="lighting" if level != "info" else "lighting-back"))

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the parts already taken, then close everything. Idempotent."""
        with self._lock:
            pipeline = self.pipeline
            if pipeline is None:
                return
            pipeline.request_stop()
            if not pipeline.join(timeout):
                self._alert("the station did not stop in time; abandoning the parts in progress", "error")
                pipeline.abort()
                pipeline.join(1.0)
            if self.heartbeat is not None:
                self.heartbeat.stop()
            if self.fault is None:
                self._plc_state(rm.STATE_STOPPED)
            self._close_resources()
            self._completed = self._completed or pipeline.completed
            self._misses = pipeline.deadline_misses
            self.pipeline = None
            self._ended.set()
            self._set_state("stopped")
            self._pump.close()

    def _close_resources(self) -> None:
        for close in (lambda: self.feed and self.feed.close(),
                      lambda: self.log and self.log.close(),
                      lambda: self._plc_given is None and self.plc and self.plc.stop()):
            try:
                close()
            except Exception as e:      # closing one thing must not keep the others open
                log.warning("closing the station: %s", e)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the station ends; True when it finished ``max_parts`` parts."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ended.is_set():
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                return False
            self._ended.wait(left)      # short waits: Ctrl-C gets through at once
        pipeline = self.pipeline
        return self.fault is None and (self._completed if pipeline is None else pipeline.completed)

    def run(self, timeout: float | None = None) -> bool:
        """Start, wait for the end (or Ctrl-C), stop. True when ``max_parts`` were all inspected."""
        self.start()
        try:
            return self.wait(timeout)
        except KeyboardInterrupt:
            self._alert("stopped by the operator", "info")
            return False
        finally:
            self.stop()

    # ---- what the threads call ----------------------------------------
    def _deliver(self, result: Any) -> None:
        """Actuation thread, after the PLC write (the row is committed): image and actuation
        time to the log's writer, count, tell the views. Never blocks."""
        result.image_path = self.log.finish(result)
        self._counts.record(result)
        self._pump.post("part", result=result)

    def _on_end(self) -> None:
        """Actuation thread, after the last part: the registers keep showing it."""
        pipeline = self.pipeline
        self._finished = True           # no beat after the end
        self._completed = bool(pipeline and pipeline.completed)
        self._plc_state(rm.STATE_STOPPED)
        if not self.log.flush(30.0):
            self._alert("the result log is still writing", "warning")
        self._set_state("stopped")
        self._pump.post("stats", stats=self.stats())
        self._pump.flush(2.0)
        self._ended.set()

    def _fault(self, message: str) -> None:
        """An internal fault: final. The PLC sees state 2 and a frozen heartbeat."""
        with self._fault_lock:
            if self.fault is not None:
                return
            self.fault = message
        self._plc_state(rm.STATE_FAULTED)
        self._set_state("faulted")
        self._alert(message, "error")
        if self.pipeline is not None:
            self.pipeline.abort()
        self._ended.set()

    def _camera_health(self, ok: bool) -> None:
        if self.fault is not None or self.state not in ("running", "faulted"):
            return
        self._plc_state(self._log_health.running_code() if ok else rm.STATE_FAULTED)
        self._set_state("running" if ok else "faulted")

    def _healthy(self) -> bool:
        pipeline, feed = self.pipeline, self.feed
        return (self.state == "running" and self.fault is None and not self._finished
                and pipeline is not None and feed is not None and feed.ok
                and not any(s.crashed for s in pipeline.stages) and not self._hung())

    def _hung(self) -> str | None:
        for stage in self.pipeline.stages if self.pipeline else ():
            limit = self.hang_s if stage.done_one else max(self.hang_s, FIRST_PART_HANG_S)
            busy = stage.busy_for()
            if busy > limit:
                return f"the {stage.name} has been busy with part {stage.busy_part} for {busy:.1f} s"
        return None

    def _watchdog(self) -> None:
        """Heartbeat thread, before each beat."""
        pipeline = self.pipeline
        if pipeline is None or self.fault is not None:
            return
        hung = self._hung()
        if hung:
            self._fault(f"{hung}: the station is stuck")
        now = time.monotonic()
        if self.state in ("running", "faulted") and now - self._last_stats >= STATS_EVERY_S:
            self._last_stats = now
            self._pump.post("stats", stats=self.stats())

    # ---- events -------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._pump is not None:
                self._pump.post("state", state=state)

    def _plc_state(self, code: int) -> None:
        try:
            if self.plc is not None:
                self.plc.set_state(code)
        except Exception as e:
            log.warning("could not write the station state to the PLC: %s", e)

    def _alert(self, message: str, level: str = "warning", key: str | None = None) -> None:
        """Tell the operator; an alert of the same ``key`` repeats at most every ALERT_REPEAT_S."""
        if key is not None:
            now = time.monotonic()
            last = self._alerted.setdefault(key, [-ALERT_REPEAT_S, 0])
            if now - last[0] < ALERT_REPEAT_S:
                last[1] += 1
                return
            if last[1]:
                message = f"{message} (and {last[1]} more like it)"
            self._alerted[key] = [now, 0]
        # info, not warning: the event is the channel; a warning would print twice in the CLI
        log.info("%s: %s", level, message)
        if self.log is not None:            # every alert raised is in the log (via its writer: never blocks)
            self.log.alert(alert_kind(key, message), level, message)
        if self._pump is not None:
            self._pump.post("alert", message=message, level=level)

    def stats(self) -> dict[str, Any]:
        out = self._counts.snapshot()
        pipeline = self.pipeline
        out.update({
            "state": self.state,
            "model_id": self.model_id,
            "model_short_id": rm.model_short_id(self.model_id),
            "heartbeats": self.heartbeat.beats if self.heartbeat else 0,
            "deadline_misses": pipeline.deadline_misses if pipeline else self._misses,
            "log_dropped": self.log.dropped if self.log else 0,
            "log_held": self.log.held if self.log else 0,
            "camera_errors": self.feed.errors if self.feed else 0,
            "lighting": self.lighting.state() if self.lighting else None,
            "data_dir": str(self.data_dir),
        })
        if self.fault:
            out["fault"] = self.fault
        return out
