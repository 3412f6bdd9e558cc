"""acquisition -> inference -> actuation: three threads, two bounded queues.

Queues of two parts keep the latency low and the memory fixed: when
inference falls behind, acquisition waits instead of piling up frames, and no
part is ever dropped silently. Stopping is graceful (no new triggers, the
parts already taken are finished); aborting, after an internal fault, leaves
at once and reports what was left unfinished.

Each stage remembers since when it has been busy with one part, so the
heartbeat's watchdog can tell a stuck camera, model or PLC link from a quiet
line.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any, Callable, Iterator

from studio.plc.register_map import VERDICT_FAULT
from studio.station.clock import StationClock
from studio.station.decide import decide, fault
from studio.station.part import PartResult

END = None          # sent down the queues after the last part
POLL_S = 0.1        # how often a waiting stage looks at the stop/abort flags


class Stage:
    """One worker thread of the pipeline."""

    def __init__(self, name: str, target: Callable[[], None], on_crash: Callable[[str, BaseException], None]):
        self.name = name
        self._target = target
        self._on_crash = on_crash
        self.busy_since: float | None = None
        self.busy_part: int | None = None
        self.done_one = False           # the first part may take longer (model warm-up, camera start)
        self.crashed = False
        self.thread = threading.Thread(target=self._run, name=f"station-{name}", daemon=True)

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as e:      # a bug in a stage: the station must fault, not hang silently
            self.crashed = True
            self._on_crash(self.name, e)

    @contextlib.contextmanager
    def busy(self, part: int | None = None) -> Iterator[None]:
        self.busy_part = part
        self.busy_since = time.monotonic()
        try:
            yield
        finally:
            self.busy_since = None
            self.done_one = True

    def busy_for(self) -> float:
        since = self.busy_since
        return 0.0 if since is None else time.monotonic() - since


class Pipeline:
    def __init__(self, *, feed: Any, model: Any, model_id: str | None, plc: Any,
                 deliver: Callable[[PartResult], None], on_end: Callable[[], None],
                 record: Callable[[PartResult], bool] | None = None,
                 alert: Callable[..., None], fault: Callable[..., None],
                 first_part: int = 1, max_parts: int | None = None, interval_s: float = 0.0,
                 deadline_s: float = 0.05, frame_check: Callable[[Any], Any] | None = None,
                 clock: StationClock | None = None,
                 trigger: Callable[[threading.Event], Any] | None = None,
                 on_part: Callable[[], None] | None = None):
        self.feed, self.model, self.model_id, self.plc = feed, model, model_id, plc
        self.deliver, self.on_end, self.alert, self.fault = deliver, on_end, alert, fault
        self.record = record                # commits the part's row before the PLC sees its verdict
        self.first_part, self.max_parts = first_part, max_parts
        self.interval_s, self.deadline_s = max(0.0, float(interval_s or 0.0)), deadline_s
        self.frame_check = frame_check      # e.g. the lighting watch; runs after the part is handed on
        self.clock = clock or StationClock()    # wall time for the log, monotonic for durations (clock.py)
        self.trigger = trigger              # PLC trigger: waits for the PLC's next PlcTrigger (None: stopping)
        self.on_part = on_part              # a part was taken (the "no part for too long" watch)
        self.frames: queue.Queue = queue.Queue(maxsize=2)
        self.decided: queue.Queue = queue.Queue(maxsize=2)
        self.stopping = threading.Event()   # no new triggers; finish the parts already taken
        self.held = threading.Event()       # the PLC said Halt/Stop (OPC UA Machine Vision): no new parts for now
        self.aborted = threading.Event()    # leave now (internal fault)
        self.acquired = 0
        self.completed = False              # max_parts were all taken and actuated
        self.ended = False                  # the actuation stage saw the last part through
        self.deadline_misses = 0
        self.settled: set[int] = set()      # parts the station has already given a verdict (a hang)
        self.last_publish_ms = 0.0
        self.acquisition = Stage("acquisition", self._acquire, self._crashed)
        self.inference = Stage("inference", self._infer, self._crashed)
        self.actuation = Stage("actuation", self._actuate, self._crashed)
        self.stages = [self.acquisition, self.inference, self.actuation]

    # ---- control ------------------------------------------------------
    def start(self) -> None:
        for stage in self.stages:
            stage.thread.start()

    def request_stop(self) -> None:
        self.stopping.set()

    def abort(self) -> None:
        self.aborted.set()
        self.stopping.set()

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for stage in self.stages:
            stage.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(stage.thread.is_alive() for stage in self.stages)

    def _crashed(self, name: str, error: BaseException) -> None:
        self.fault(f"the {name} thread stopped on an internal error: {type(error).__name__}: {error}")

    # ---- queues that give way to an abort ---------------------------
    def _put(self, q: queue.Queue, item: Any) -> bool:
        while not self.aborted.is_set():
            try:
                q.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> Any:
        while not self.aborted.is_set():
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return END

    def _unfinished(self, result: PartResult, stage: str) -> None:
        if result.part in self.settled:
            return
        self.alert(f"part {result.part} was not inspected to the end ({stage} aborted): "
                   "treat it as a reject", "error")

    def _since_trigger(self, result: PartResult) -> float:
        """Wall time now, as the trigger's wall time plus the monotonic time since: a clock step
        mid-part never puts a part's stamps out of order (see clock.py)."""
        return result.t_trigger + max(0.0, self.clock.monotonic() - result.t_mono)

    # ---- the stages ---------------------------------------------------
    def _acquire(self) -> None:
        part = self.first_part
        next_trigger = time.monotonic()
        while not self.stopping.is_set() and (self.max_parts is None or self.acquired < self.max_parts):
            if self.held.is_set():              # held by the PLC: the parts taken are finished, no new ones
                self.stopping.wait(POLL_S)
                next_trigger = time.monotonic()
                continue
            if self.interval_s:
                if self.stopping.wait(max(0.0, next_trigger - time.monotonic())):
                    break
                # a fixed rate; after a stall start afresh instead of firing a burst
                next_trigger = max(next_trigger + self.interval_s, time.monotonic())
            part_id = ""
            if self.trigger is not None:        # the PLC says when, and which part
                plc_trigger = self.trigger(self.stopping)
                if plc_trigger is None:
                    break
                part_id = plc_trigger.part_id
                plc_trigger.accepted(part)      # TriggerAck, right before the camera fires
            t_trigger, m_trigger = self.clock.read()
            frame = self.feed.grab(self.stopping, lambda: self.acquisition.busy(part))
            if frame is None:
                break
            result = PartResult(part=part, frame_id=int(getattr(frame, "frame_id", 0) or 0),
                                model_id=self.model_id, image=frame.image, part_id=part_id,
                                t_trigger=t_trigger, t_mono=m_trigger,
                                error=getattr(frame, "error", None))    # a missed frame: the camera failed
            result.t_captured = self._since_trigger(result)
            if self.on_part is not None:
                self.on_part()
            if not self._put(self.frames, result):
                self._unfinished(result, "acquisition")
                return
            part += 1
            self.acquired += 1
        self._put(self.frames, END)

    def _infer(self) -> None:
        while (result := self._get(self.frames)) is not END:
            model = self.model                  # one model per part, even across a reload
            with self.inference.busy(result.part):
                # a part without a frame (the camera failed under it) is a fault, never judged
                d = decide(model, result.image) if result.error is None else fault(result.error)
            result.model_id = getattr(model, "model_id", None) or result.model_id
            missed = result.error is not None
            result.verdict, result.verdict_code, result.score = d.verdict, d.verdict_code, d.score
            result.defect_class, result.class_id, result.error = d.defect_class, d.class_id, d.error
            result.anomaly_map = d.anomaly_map
            result.t_decided = self._since_trigger(result)
            if d.error and not missed:          # the camera feed has already said why
                self.alert(f"part {result.part} is a fault (rejected): {d.error}", "error", key="model")
            if not self._put(self.decided, result):
                self._unfinished(result, "inference")
                return
            if self.frame_check is not None and not missed:    # after the hand-over: never delays actuation
                try:
                    self.frame_check(result.image)
                except Exception as e:          # a monitor's bug must not stop inspection
                    self.alert(f"frame check failed: {e}", "warning", key="frame_check")
        self._put(self.decided, END)

    def _actuate(self) -> None:
        while (result := self._get(self.decided)) is not END:
            with self.actuation.busy(result.part):
                t0 = time.perf_counter()
                halt = None
                # the row first: every verdict the PLC sees is in the log, whatever happens next
                if self.record is not None and not self.record(result):
                    halt = (f"part {result.part} could not be logged and on_log_failure is stop: "
                            "the station halts the line")
                    result.verdict, result.verdict_code = "fault", VERDICT_FAULT
                    result.error = f"{result.error + '; ' if result.error else ''}not logged: the result log failed"
                try:
                    self.plc.publish(result.part, result.verdict_code, result.score, result.class_id,
                                     part_id=result.part_id, defect_class=result.defect_class or "")
                except Exception as e:
                    # the PLC never got this verdict: the log must not claim it passed
                    result.verdict, result.verdict_code = "fault", VERDICT_FAULT
                    result.error = f"{result.error + '; ' if result.error else ''}PLC write failed: {e}"
                    result.t_actuated = self._since_trigger(result)
                    self.deliver(result)
                    self.fault(f"the PLC write failed for part {result.part}: {e}", "plc")
                    return
                publish_s = time.perf_counter() - t0
            result.t_actuated = self._since_trigger(result)
            result.latency_ms = (result.t_actuated - result.t_trigger) * 1000.0     # monotonic: never < 0
            self.last_publish_ms = publish_s * 1000.0
            if publish_s > self.deadline_s:
                self.deadline_misses += 1
                self.alert(f"the PLC write for part {result.part} took {publish_s * 1000:.1f} ms, over the "
                           f"{self.deadline_s * 1000:.0f} ms deadline ({self.deadline_misses} so far)",
                           "warning", key="deadline")
            self.deliver(result)
            if halt:
                self.fault(halt)
                return
        if self.aborted.is_set():
            return
        self.completed = self.max_parts is not None and self.acquired >= self.max_parts
        self.ended = True
        self.on_end()
