"""A candidate model beside the live one: shadow verdicts, logged, never sent to the PLC.

``ShadowRunner`` gets each part *after* its PLC write (``offer``, from the
actuation thread: a ``put_nowait`` on a small bounded queue, microseconds),
and judges the same frame with the shadow model on its own thread. The
verdict becomes a row of the result log with the same part number,
``shadow = 1`` and the shadow's model id, written by the log's writer thread
(``ResultLog.add_row``). Nothing the shadow does reaches the PLC, and nothing
it does can delay actuation: when it falls behind, the queue is full and the
part is *skipped for the shadow*: counted (``skipped``, in the station's
stats as ``shadow_skipped``) and said in a ``shadow`` alert (at most every
``ALERT_EVERY_S``). On a CPU-only line PC the shadow competes with the live
model for the cores, so it starts a part only while the live model is idle
(no part in inference or waiting for it; ``live_busy``, waiting at most
``IDLE_WAIT_S``, else the part is skipped), runs with one ONNX Runtime thread
and on a thread niced ``SHADOW_NICE`` above the station (Linux): the live
model goes first.

The shadow model comes from ``--shadow MODEL_ID`` or ``shadow:`` in
station.yaml (a model id, or ``{model: ID}``); ``resolve_shadow`` reads both.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.core.priority import lower_this_thread
from studio.station.decide import decide

log = logging.getLogger(__name__)

QUEUE_PARTS = 4         # parts waiting for the shadow; more and the shadow skips
ALERT_EVERY_S = 10.0
SHADOW_THREADS = 1      # ONNX Runtime threads of the shadow: it runs on its own (niced) thread, no pool
SHADOW_NICE = 10        # the shadow thread's niceness above the station's (Linux): the live model goes first
IDLE_WAIT_S = 1.0       # how long a part waits for the live model to be idle; then it is skipped for the shadow
IDLE_POLL_S = 0.002
_END = object()


def resolve_shadow(given: Any, settings: dict[str, Any]) -> Any:
    """The shadow model (an id, or a loaded model object) from the command line, else station.yaml; None: none."""
    if given is not None:
        return given
    value = settings.get("shadow")
    if isinstance(value, dict):
        value = value.get("model") or value.get("model_id")
    elif isinstance(value, list):
        if len(value) > 1:
            raise StudioError("station.yaml names more than one shadow model", field="shadow",
                              hint="run one candidate in shadow at a time: shadow: MODEL_ID")
        value = value[0] if value else None
    if value is not None and not isinstance(value, str):
        raise StudioError(f"shadow: {value!r} is not a model id", field="shadow",
                          hint="write shadow: MODEL_ID (listed by 'studio models PROJECT')")
    return value or None


def load_shadow(project: Any, shadow: Any) -> Any:
    """A model object for ``shadow`` (an id is loaded from the project; an object is used as it is)."""
    if shadow is None or not isinstance(shadow, str):
        return shadow
    from studio.inference import InspectionModel

    return InspectionModel.load(project, shadow, threads=SHADOW_THREADS)


def lower_priority(step: int | None = None) -> bool:
    """Make the calling thread yield the CPU to the station's threads (``SHADOW_NICE`` by default)."""
    return lower_this_thread(SHADOW_NICE if step is None else step)


class ShadowRunner:
    def __init__(self, model: Any, log_row: Callable[[Any], bool], alert: Callable[..., None],
                 maxsize: int = QUEUE_PARTS, live_busy: Callable[[], bool] | None = None):
        self.model = model
        self.model_id = getattr(model, "model_id", None) or "shadow"
        self.log_row = log_row
        self.alert = alert
        self.live_busy = live_busy   # True while the live model has a part in hand or waiting: the shadow waits
        self.judged = 0
        self.skipped = 0             # parts the shadow had no time for
        self.failed = 0              # parts the shadow model could not judge (a fault row)
        self.niced = False           # the shadow thread runs at a lower CPU priority than the station's
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._last_alert = -ALERT_EVERY_S
        self._count_lock = threading.Lock()
        self._told = 0
        self._thread = threading.Thread(target=self._run, name="station-shadow", daemon=True)
        self._thread.start()

    def offer(self, result: Any) -> None:
        """Actuation thread, after the PLC write: hand the part on, or skip it. Never blocks."""
        if result.image is None or result.error is not None:
            return                   # no frame (a camera fault): nothing to judge
        try:
            self._queue.put_nowait((result.part, result.part_id, result.frame_id, result.image,
                                    result.t_trigger, result.t_captured, getattr(result, "watching", 0)))
        except queue.Full:
            self._skip()

    def _wait_idle(self) -> bool:
        """Until the live model is idle (True), or IDLE_WAIT_S passed (False: the part is skipped)."""
        if self.live_busy is None:
            return True
        deadline = time.monotonic() + IDLE_WAIT_S
        while self.live_busy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(IDLE_POLL_S)
        return True

    def _skip(self) -> None:
        """A part the shadow has no time for (actuation thread or shadow thread): counted, said now and then."""
        with self._count_lock:
            self.skipped += 1
            now = time.monotonic()
            if now - self._last_alert < ALERT_EVERY_S:
                return
            new, self._told, self._last_alert = self.skipped - self._told, self.skipped, now
            total = self.skipped
        self.alert(f"the shadow model {self.model_id} falls behind: {new} part(s) skipped for it "
                   f"({total} this run); the live verdicts are not affected", "warning", key="shadow")

    def _run(self) -> None:
        from studio.station.part import PartResult

        self.niced = lower_priority()

        while (item := self._queue.get()) is not _END:
            part, part_id, frame_id, image, t_trigger, t_captured, watching = item
            if not self._wait_idle():
                self._skip()
                continue
            d = decide(self.model, image)
            if d.error:
                self.failed += 1
            row = PartResult(part=part, frame_id=frame_id, part_id=part_id, verdict=d.verdict,
                             verdict_code=d.verdict_code, score=d.score, defect_class=d.defect_class,
                             class_id=d.class_id, model_id=self.model_id, t_trigger=t_trigger,
                             t_captured=t_captured, t_decided=time.time(), error=d.error)
            row_dict = {**{k: v for k, v in row.__dict__.items() if k not in ("image", "t_mono")},
                        "shadow": 1, "watching": watching, "latency_ms": None}
            self.log_row(row_dict)
            self.judged += 1

    def stats(self) -> dict[str, Any]:
        return {"shadow_model_id": self.model_id, "shadow_judged": self.judged,
                "shadow_skipped": self.skipped, "shadow_failed": self.failed}

    def close(self, timeout: float = 5.0) -> None:
        """After the last part: judge what is queued (bounded by ``timeout``), then stop."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_END, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    return           # a hung shadow model: its thread is a daemon, the station goes on
        self._thread.join(max(0.0, deadline - time.monotonic()))
