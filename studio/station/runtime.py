"""The inspection station: camera -> model -> PLC -> result log, on-line.

``Station`` owns the resources (camera, model, PLC link, result log), the
pipeline threads and the heartbeat, and tells the world what happens through
``events`` (kinds ``state``, ``part``, ``alert``, ``stats``). The kiosk and the
CLI only subscribe; neither drives the pipeline.

States: ``starting`` -> ``running`` -> ``stopped``. ``faulted`` is either
passing (the camera is lost and being reopened, or the model hung and the
watchdog waits ``recover_s`` for it to answer; back to ``running`` when the
cause goes) or final (an internal fault: a stage crashed, the camera or PLC
write hung, the PLC write failed); either way the heartbeat stops while
faulted. The faults and their recoveries: ``faults.py``.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.core.events import Emitter
from studio.plant_bus import PlantBus
from studio.plc import register_map as rm
from studio.results.policy import LogPolicy
from studio.results.schema import FILE_NAME as LOG_FILE
from studio.station.camera_feed import CameraFeed
from studio.station.clock import StationClock, describe_step
from studio.station.cpu_latency import CpuLatency, CpuLatencyHold
from studio.station.data_dir import resolve_data_dir
from studio.station.dispatch import EventPump
from studio.station.faults import in_flight_fault, stage_kind
from studio.station.heartbeat import Heartbeat
from studio.station.log_health import LogHealth, alert_kind
from studio.station.pipeline import Pipeline
from studio.station import station_audit
from studio.station.plc_watch import POLICIES, PlcWatch
from studio.station.stats import StationStats
from studio.station.status_file import StatusPublisher
from studio.station.shadow import resolve_shadow
from studio.station.trial import Trial
from studio.station.watching import resolve_mode
from studio.station.triggers import PartWatch, check_plc_trigger, resolve_trigger, seconds_setting, wait_for_plc

log = logging.getLogger(__name__)

FIRST_PART_HANG_S = 60.0    # the first part may include model warm-up (CUDA, cuDNN) and camera start
ALERT_REPEAT_S = 10.0       # the same kind of alert at most this often; the rest are counted
STATS_EVERY_S = 1.0
RECOVER_S = 60.0            # after a model hang, how long to wait for the model to answer again
INFERENCE_THREADS = 2       # the live model's ONNX Runtime threads unless station.yaml says inference_threads
MAX_RECOVERIES = 3          # hang recoveries per run; after that a hang is final


class Station:
    def __init__(self, project: Any, camera_spec: str | None = None, plc_spec: str | None = "sim", *,
                 model: Any = None, model_id: str | None = None, data_dir: str | Path | None = None,
                 max_parts: int | None = None, interval_s: float = 0.0, camera: Any = None, plc: Any = None,
                 deadline_ms: float = 50.0, heartbeat_s: float = 0.5, hang_s: float = 10.0,
                 clock: StationClock | None = None, recover_s: float = RECOVER_S,
                 trigger: str | None = None, grab_timeout_s: float = 2.0,
                 shadow: Any = None, mode: str | None = None):
        self.project = project
        settings = project.station_settings()
        configured = settings.get("camera")
        if isinstance(configured, dict):            # station.yaml may say camera: {spec: ...}
            configured = configured.get("spec")
        self.camera_spec = camera_spec or configured or project.camera_spec
        self.plc_spec = plc_spec or settings.get("plc") or "sim"
        self.data_dir = resolve_data_dir(project, data_dir, settings)
        # what starts an inspection, and how the station watches the line (triggers.py, plc_watch.py)
        self.trigger = resolve_trigger(trigger, settings, dict(project.camera_settings))
        self.trigger_timeout_s = seconds_setting(settings, "trigger_timeout_s")
        self.plc_timeout_s = seconds_setting(settings, "plc_timeout_s")
        self.plc_timeout_policy = str(settings.get("plc_timeout_policy") or "alert").strip().lower()
        if self.plc_timeout_policy not in POLICIES:
            raise StudioError(f"plc_timeout_policy '{self.plc_timeout_policy}' is not known",
                              field="plc_timeout_policy",
                              hint="use alert (tell the operator, go on) or halt (the station stops with a fault)")
        self.grab_timeout_s = grab_timeout_s
        # the pilot trial: a shadow model beside the live one, or the whole station watching (trial.py)
        self.trial = Trial(resolve_mode(mode, settings), resolve_shadow(shadow, settings))
        self.plc_watch: PlcWatch | None = None
        self.part_watch: PartWatch | None = None
        self.log_path = self.data_dir / LOG_FILE
        self.log_policy = LogPolicy.from_settings(settings, file=Path(project.root) / "station.yaml")
        # the cores kept awake while running (cpu_latency.py): a sleeping core costs the next part ms
        self.cpu_latency = CpuLatency.from_settings(settings, file=Path(project.root) / "station.yaml")
        self.cpu_hold: CpuLatencyHold | None = None
        # the live model's ONNX Runtime threads (benchmarks/README.md, "Station at 5 MP": 2 the fastest
        # median, 1 the steadiest part time)
        self.inference_threads = int(settings.get("inference_threads") or INFERENCE_THREADS)   # checked by the table
        self._log_health = LogHealth(self, self.log_policy.on_failure)
        self.max_parts, self.interval_s = max_parts, interval_s
        self.deadline_s, self.heartbeat_s, self.hang_s = deadline_ms / 1000.0, heartbeat_s, hang_s
        self.model, self.model_id = model, model_id
        self.clock = clock or StationClock()    # injectable: a test steps the wall clock (clock.py)
        self.recover_s = recover_s              # 0: a model hang is final at once
        self.recoveries = 0
        self._recovering: tuple[Any, float] | None = None     # (the hung pipeline, give up at)
        if self.clock.on_step is None:
            self.clock.on_step = self._clock_stepped
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
        self.monitor: Any = None                # production monitoring, off the actuation path (monitor_watch.py)
        self.heartbeat: Heartbeat | None = None
        self._pump: EventPump | None = None
        self.status: StatusPublisher | None = None     # station-status.json for a kiosk in another process
        self._lock = threading.RLock()         # start/stop
        self._fault_lock = threading.Lock()     # separate: a stage may fault while stop() holds _lock
        self._ended = threading.Event()
        self._finished = False                  # the pipeline saw its last part through
        self._completed = False                 # ... and that was max_parts parts
        self._misses = 0
        self._held = False                      # the PLC said Halt/Stop: no new parts (``_plc_command``)
        self._alerted: dict[str, list[float]] = {}      # key -> [last time, suppressed count]
        self._last_stats = 0.0
        # live events on the plant's MQTT broker (studio/plant_bus; None without station.yaml's mqtt)
        self.plant_bus = PlantBus.for_station(settings, {"project": project.name}, alert=self._alert)
        self.central: Any = None                # the central store's forwarder (studio.central), when configured
        self.started_by = self.start_reason = self.stop_by = None    # who, why: station_audit.py

    # ---- life cycle ---------------------------------------------------
    def start(self) -> None:
        """Open camera, model, PLC link and log, then run. Errors here reach the user as they are."""
        with self._lock:
            if self.pipeline is not None:
                return
            self._pump = EventPump(self.events)
            self.status = StatusPublisher(self).start()
            self._ended.clear()
            self.fault = None
            self._recovering, self.recoveries = None, 0
            self._finished = self._completed = False
            self._counts = StationStats()       # figures are per run
            self._set_state("starting")
            try:
                self._open()
                if self.plant_bus is not None:      # after the log: its alerts are logged too
                    self.plant_bus.open(self.events, self.stats)     # returns at once; the broker may be away
                from studio.station.monitor_watch import Monitor

                self.monitor = Monitor.for_station(self)    # a wrong monitoring: setting refuses the start
                check_plc_trigger(self.trigger, self.plc)
                first_part = self.log.next_part()      # after any number the PLC can have seen
                if self.log.skipped_parts:
                    first, last = self.log.skipped_parts
                    self._alert(f"the last run did not close its result log: part numbers {first}..{last} "
                                "are skipped, so none the PLC may have seen is given out again", "warning",
                                key="log")
                self.trial.open(self)
                self.plc.set_model(self.model_id)
                self.plc.set_state(rm.STATE_RUNNING)
                self.plc.beat()                 # the PLC sees the start at once, however short the run
            except BaseException:
                self._close_resources()
                self._set_state("stopped")
                self._pump.close()
                self.status.close()
                if self.plant_bus is not None:
                    self.plant_bus.close()
                raise
            self.pipeline = self._new_pipeline(first_part, self.max_parts)
            self.heartbeat = Heartbeat(self.plc, self._healthy, interval_s=self.heartbeat_s,
                                       check=self._watchdog, on_error=lambda m: self._fault(m, "plc"))
            self._set_state("running")
            note = self.plc_watch.opening_note()
            if note:
                self._alert(note, "warning")
            self.part_watch.restart()
            self.monitor.start(self.events)
            self.pipeline.start()
            self.heartbeat.start()
            from studio.central.forwarder import for_station

            self.central = for_station(self)    # a background thread: the line never waits for it
            station_audit.record_started(self)      # station.started in the data directory's trail

    # commands from the PLC (OPC UA Machine Vision methods); in PLC-trigger mode the link itself
    # refuses or withdraws triggers, so only a free-running station needs holding
    HOLD_COMMANDS = {"halt": "Halt", "stop": "Stop", "abort": "Abort"}
    RUN_COMMANDS = {"start_continuous": "StartContinuous"}

    def _plc_command(self, name: str) -> None:
        """The PLC's command (link thread): hold or release new parts. Never blocks."""
        if name in self.HOLD_COMMANDS:
            held = True
        elif name in self.RUN_COMMANDS:
            held = False
        else:
            return
        if held == self._held:
            return
        self._held = held
        pipeline = self.pipeline
        if pipeline is not None:
            (pipeline.held.set if held else pipeline.held.clear)()
        word = self.HOLD_COMMANDS.get(name) or self.RUN_COMMANDS[name]
        self._alert(f"the PLC said {word}: " + ("no new parts until it says StartContinuous (the parts taken "
                                               "are finished)" if held else "inspection goes on"),
                    "info", key="plc-command")

    def _new_pipeline(self, first_part: int, max_parts: int | None) -> Pipeline:
        pipeline = Pipeline(
            feed=self.feed, model=self.model, model_id=self.model_id, plc=self.plc,
            deliver=self._deliver, record=self.trial.record(self.log.commit), on_end=self._on_end, alert=self._alert,
            fault=self._fault, first_part=first_part, max_parts=max_parts,
            interval_s=self.interval_s, deadline_s=self.deadline_s, frame_check=self.lighting,
            clock=self.clock,
            trigger=(lambda stop: wait_for_plc(self.plc, stop)) if self.trigger == "plc" else None,
            on_part=self.part_watch.part if self.part_watch is not None else None)
        if self._held:
            pipeline.held.set()
        return pipeline

    def describe(self) -> str:
        """One line for the operator: what runs and where the results go."""
        plc = self.plc.describe() if self.plc is not None else self.plc_spec
        watch = (f"PLC heartbeat watched ({self.plc_timeout_s:g} s, then {self.plc_timeout_policy})"
                 if self.plc_timeout_s else "PLC heartbeat not watched")
        trial = self.trial.describe()
        return (f"camera {self.camera_spec}; trigger {self.trigger}; PLC: {plc}; {watch}; "
                f"model {self.model_id or '(not loaded)'}; {trial + '; ' if trial else ''}results in {self.data_dir}"
                + (f"; live events on {self.plant_bus.settings.describe()}" if self.plant_bus is not None else ""))

    def _open(self) -> None:
        from studio.results.log import ResultLog

        self.log = ResultLog(self.log_path, on_error=lambda message: self._alert(message, "warning", key="log"),
                             on_health=self._log_health, policy=self.log_policy)
        if self.model is None:
            from studio.inference import InspectionModel
            from studio.project.live import live_model_id

            # the promoted live model when one is recorded (studio station promote), else the newest
            self.model = InspectionModel.load(self.project, self.model_id or live_model_id(self.project),
                                              threads=self.inference_threads)
        self.model_id = getattr(self.model, "model_id", None) or self.model_id
        if self.plc is None:
            from studio.plc import open_plc

            self.plc = open_plc(self.plc_spec, data_dir=self.data_dir, settings=self.project.station_settings())
        elif hasattr(self.plc, "start"):
            self.plc.start()
        if hasattr(self.plc, "on_command"):             # OPC UA Machine Vision: Halt, StartContinuous, ...
            self.plc.on_command = self._plc_command
        for note in getattr(self.plc, "notices", ()):     # e.g. OPC UA without security: said at start
            self._alert(note, "warning")
        camera_settings = dict(self.project.camera_settings)
        if self.trigger == "hardware" and str(self.camera_spec or "").startswith("genicam"):
            camera_settings.setdefault("trigger", "hardware")   # station.yaml's trigger arms the camera's input
        self.feed = CameraFeed(self.camera_spec, camera_settings, self._camera,
                               alert=self._alert, on_health=self._camera_health,
                               grab_timeout=self.grab_timeout_s, waits_for_trigger=self.trigger == "hardware")
        self.plc_watch = PlcWatch(self.plc, self.plc_timeout_s, self.plc_timeout_policy,
                                  alert=self._alert, halt=lambda m: self._fault(m, "plc"))
        self.part_watch = PartWatch(self.trigger_timeout_s, self._alert)
        self.feed.open()
        from studio.lighting.drift import watch_for

        self.lighting = watch_for(self.project, lambda m, level="warning": self._alert(
            m, level, key="lighting" if level != "info" else "lighting-back"))
        self.cpu_hold = self.cpu_latency.hold()
        if self.cpu_hold.note:
            self._alert(self.cpu_hold.note, "info", key="cpu-latency")

    def stop(self, timeout: float = 5.0, *, by: str | None = None, reason: str | None = None) -> None:
        """Finish the parts already taken, then close everything. Idempotent. ``by``/``reason``: who asked, why."""
        with self._lock:
            pipeline = self.pipeline
            if pipeline is None:
                return
            self.stop_by = (by, reason) if by or reason else self.stop_by
            pipeline.request_stop()
            if not pipeline.join(timeout):
                self._alert("the station did not stop in time; abandoning the parts in progress", "error")
                pipeline.abort()
                pipeline.join(1.0)
            if self.heartbeat is not None:
                self.heartbeat.stop()
            if self.fault is None:
                self._plc_state(rm.STATE_STOPPED)
            if self.monitor is not None:            # it sees the last parts, its alerts reach the log
                self._pump.flush(2.0)
                self.monitor.stop()
            self._close_resources()
            self._completed = self._completed or pipeline.completed
            self._misses = pipeline.deadline_misses
            self.pipeline = None
            self._ended.set()
            self._set_state("stopped")
            station_audit.record_stopped(self)
            if self.central is not None:
                self.central.stop()             # sends what the closed log has, for a few seconds at most
            self._pump.close()
            self.status.close()
            if self.plant_bus is not None:
                self.plant_bus.close()          # the last state reaches the plant, then a clean disconnect

    def _close_resources(self) -> None:
        for close in (self.trial.close, lambda: self.cpu_hold and self.cpu_hold.release(),
                      lambda: self.feed and self.feed.close(),
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
        self.trial.after_publish(result)
        self._counts.record(result)
        self._pump.post("part", result=result)

    def _on_end(self) -> None:
        """Actuation thread, after the last part: the registers keep showing it."""
        pipeline = self.pipeline
        self._finished = True           # no beat after the end
        self._completed = bool(pipeline and pipeline.completed)
        self._plc_state(rm.STATE_STOPPED)
        self.trial.drain()
        if not self.log.flush(30.0):
            self._alert("the result log is still writing", "warning")
        self._set_state("stopped")
        self._pump.post("stats", stats=self.stats())
        self._pump.flush(2.0)
        self._ended.set()

    def _fault(self, message: str, key: str = "station", final: bool = True) -> None:
        """An internal fault. The PLC sees state 2 and a frozen heartbeat. Final unless the
        watchdog waits for a hung model to come back (``final=False``, see ``_recover``)."""
        with self._fault_lock:
            if self.fault is not None:
                return
            self.fault = message
        self._plc_state(rm.STATE_FAULTED)
        self._set_state("faulted")
        self._alert(message, "error", key=key, always=True)
        if self.pipeline is not None:
            self.pipeline.abort()
        if final:
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
        stage = self._hung_stage()
        return None if stage is None else self._hung_message(stage)

    def _hung_stage(self) -> Any:
        for stage in self.pipeline.stages if self.pipeline else ():
            limit = self.hang_s if stage.done_one else max(self.hang_s, FIRST_PART_HANG_S)
            if stage.busy_for() > limit:
                return stage
        return None

    def _hung_message(self, stage: Any) -> str:
        model = f" (model {self.model_id})" if stage.name == "inference" else ""
        return f"the {stage.name} has been busy with part {stage.busy_part} for {stage.busy_for():.1f} s{model}"

    def _hang_fault(self, stage: Any) -> None:
        """A stage is stuck: final fault; the part it hangs on is published to the PLC as a fault."""
        part, pipeline = stage.busy_part, self.pipeline
        message = self._hung_message(stage)
        wait = (stage.name == "inference" and pipeline is not None and self.recover_s > 0
                and self.recoveries < MAX_RECOVERIES)
        if wait:
            self._recovering = (pipeline, time.monotonic() + self.recover_s)
        self._fault(f"{message}: the station is stuck" + (
            f"; it runs again if the model answers within {self.recover_s:g} s" if wait else ""),
            key=stage_kind(stage.name), final=not wait)
        if stage.name != "inference" or part is None or pipeline is None:
            return      # a stuck camera has no part yet; a stuck PLC write cannot take another one
        pipeline.settled.add(part)              # its late answer is not news: it is already a fault
        pipeline.actuation.thread.join(1.0)     # the parts before it are through: keep the PLC's order
        result = in_flight_fault(part, f"{message}: no verdict, rejected", model_id=self.model_id,
                                 t_trigger=self.clock.wall())
        self.log.commit(result)                 # the row before the PLC sees the verdict, as for every part
        try:
            self.plc.publish(part, result.verdict_code, result.score, result.class_id)
        except Exception as e:
            result.error += f"; PLC write failed: {e}"
        self._deliver(result)

    def _watchdog(self) -> None:
        """Heartbeat thread, before each beat."""
        pipeline = self.pipeline
        if self._recovering is not None:
            self._recover()
            return
        if pipeline is None or self.fault is not None:
            return
        self.clock.check()              # an idle line notices a clock step too
        stage = self._hung_stage()
        if stage is not None:
            self._hang_fault(stage)
        for watch in (self.plc_watch, self.part_watch):
            if watch is not None and self.fault is None and self.state in ("running", "faulted"):
                try:
                    watch.check()
                except Exception as e:      # a watch's bug must not stop the heartbeat
                    log.warning("station watch %s: %s", type(watch).__name__, e)
        now = time.monotonic()
        if self.state in ("running", "faulted") and now - self._last_stats >= STATS_EVERY_S:
            self._last_stats = now
            self._pump.post("stats", stats=self.stats())

    def _recover(self) -> None:
        """After a model hang: once the hung pipeline's threads are gone (the model answered), run
        a new pipeline from the next part number; give up (final fault) after ``recover_s``."""
        old, give_up = self._recovering
        if not self._lock.acquire(blocking=False):
            return                      # stop() is running: it ends the station
        try:
            if self.pipeline is not old or self._pump is None:
                self._recovering = None
                return
            if not old.join(0):
                if time.monotonic() > give_up:
                    self._recovering = None
                    self._alert(f"the model {self.model_id} did not answer within {self.recover_s:g} s: "
                                "the station stays stopped; restart it", "error", key="model", always=True)
                    self._ended.set()
                return
            self._recovering = None
            self.log.flush(10.0)
            done = self._counts.snapshot()["parts"]
            left = None if self.max_parts is None else self.max_parts - done
            # after every number the PLC can have seen (a row held in memory is not in the file yet)
            first = max(self.log.last_part(), self.log.highest_part) + 1
            self.recoveries += 1
            self.fault = None
            if left is not None and left <= 0:     # the hung part was the last one
                old.completed = old.ended = True
                self._on_end()
                return
            self.pipeline = self._new_pipeline(first, left)
            self._plc_state(rm.STATE_RUNNING)
            self._set_state("running")
            self.pipeline.start()
            self._alert(f"the model {self.model_id} answers again: inspection goes on from part {first} "
                        f"(recovery {self.recoveries} of {MAX_RECOVERIES})", "info", key="model-back", always=True)
        finally:
            self._lock.release()

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
                if code != rm.STATE_RUNNING and hasattr(self.plc, "stop_triggers"):
                    self.plc.stop_triggers()        # TriggerReady 0: no trigger is taken now
        except Exception as e:
            log.warning("could not write the station state to the PLC: %s", e)

    def _alert(self, message: str, level: str = "warning", key: str | None = None, always: bool = False,
               figures: dict[str, Any] | None = None) -> None:
        """Tell the operator; an alert of the same ``key`` repeats at most every ALERT_REPEAT_S
        (unless ``always``: a final fault, a refused model). ``key`` names the kind of cause (faults.py)."""
        if key is not None and not always:
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
            self.log.alert(alert_kind(key, message), level, message, figures)
        if self._pump is not None:
            self._pump.post("alert", message=message, level=level, key=key, figures=figures)

    def _clock_stepped(self, seconds: float) -> None:
        self._alert(describe_step(seconds), "warning" if seconds < 0 else "info", key="station")

    def reload_model(self, model_id: str | None = None) -> str:
        """Load the model again from the project (``model_id``: another one) and use it from the next part.

        A model that cannot be loaded (its file replaced or damaged) is refused with a ``ModelError``
        naming it, and a ``model`` alert; the station goes on with the model it has."""
        from studio.core.errors import StudioError
        from studio.inference import InspectionModel

        target = model_id or self.model_id
        try:
            model = InspectionModel.load(self.project, target, threads=self.inference_threads)
        except StudioError as e:
            self._alert(f"model {target} refused: {e.message}; the station keeps running "
                        f"{self.model_id or 'the model it has'}", "error", key="model", always=True)
            raise
        self.model, self.model_id = model, model.model_id
        if self.monitor is not None:            # the new card's reference and expected rate
            self.monitor.use_model(model.card, model.model_id)
        if self.pipeline is not None:
            self.pipeline.model_id = model.model_id
            self.pipeline.model = model
        if self.plc is not None:
            try:
                self.plc.set_model(model.model_id)
            except Exception as e:
                log.warning("could not write the model id to the PLC: %s", e)
        self._alert(f"model {model.model_id} loaded", "info")
        return model.model_id

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
            "camera_missed": self.feed.missed if self.feed else 0,     # parts faulted by a camera failure
            "recoveries": self.recoveries,                              # model hangs survived this run
            "trigger": self.trigger,
            "trigger_pauses": self.feed.pauses if self.feed else 0,
            "no_part_alerts": self.part_watch.alerts if self.part_watch else 0,
            "plc_listening": self.plc_watch.listening() if self.plc_watch else None,
            "plc_timeouts": self.plc_watch.timeouts if self.plc_watch else 0,
            "plc_link": self.plc.link_problem() if self.plc is not None and hasattr(self.plc, "link_problem")
                        else None,
            "lighting": self.lighting.state() if self.lighting else None,
            "plant_bus": self.plant_bus.status() if self.plant_bus is not None else None,
            "monitor_dropped": self.monitor.dropped if self.monitor else 0,   # parts the monitor had no time for
            "data_dir": str(self.data_dir),
            "central": self.central.lag() if self.central is not None else None,
            **self.trial.stats(),
        })
        if self.fault:
            out["fault"] = self.fault
        return out
