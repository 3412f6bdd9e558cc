"""The trigger / result handshake with the PLC, as smart cameras do it.

The words live in the handshake block of ``register_map`` (addresses 20..47).
The PLC writes its heartbeat, a part id and a Trigger toggle; the station
answers TriggerAck when it fires the camera for that trigger, then publishes
the result with the same part id and a ResultValid toggle; the PLC copies
ResultValid into ResultAck once it has read the result. The README has the
timing diagram.

``Handshake`` is transport-free: a link hands it what the PLC wrote
(``plc_wrote``, from the Modbus server's request hook or the Modbus client's
poll) and writes what it returns into its register image. Nothing here waits
on the network; ``wait_trigger`` waits only on the station's own stop flag.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from studio.plc import register_map as rm


class Handshake:
    """The station's side of the handshake. ``write`` puts station words into the link's image."""

    def __init__(self, write: Callable[[int, list[int]], None]):
        self._write = write
        self._cond = threading.Condition()
        self._plc = [0] * len(rm.PLC_WORDS)     # what the PLC wrote, addresses 20..30
        self._trigger_seen = 0                  # the Trigger value last taken (or the baseline)
        self._pending: tuple[int, str] | None = None     # (Trigger value, part id) not accepted yet
        self._result_valid = 0
        self._overruns = 0
        self._unacked = 0
        self._ack_used = False                  # the PLC has changed ResultAck at least once
        self._beat_value: int | None = None
        self._beat_changed: float | None = None  # monotonic time the PLC heartbeat last changed
        self.ready = False

    # ---- what the PLC wrote -------------------------------------------
    def plc_wrote(self, address: int, values: list[int], *, first_read: bool = False) -> None:
        """Words the PLC wrote (server) or the station read from the PLC (client), from ``address``.

        ``first_read``: the client's first look at the PLC's memory after each connect, which sets the
        baseline (a trigger toggled before the station looked is not a trigger, an old heartbeat not a
        beat). A server sees every write happen, so it has no first read."""
        lo, hi = rm.PLC_WORDS.start, rm.PLC_WORDS.stop
        with self._cond:
            changed_beat = False
            for i, value in enumerate(values):
                a = address + i
                if lo <= a < hi:
                    if a == rm.PLC_HEARTBEAT and (self._beat_value is None or value != self._beat_value):
                        changed_beat = self._beat_value is not None or not first_read
                        self._beat_value = int(value)
                    if a == rm.RESULT_ACK and not first_read and value != self._plc[a - lo]:
                        self._ack_used = True     # this PLC acknowledges results: count the ones it misses
                    self._plc[a - lo] = int(value) & rm.WORD
            if changed_beat:
                self._beat_changed = time.monotonic()
            trigger = self._plc[rm.TRIGGER - lo]
            if first_read:
                # every (re)connect: only a toggle the station sees happen is a trigger. One made while
                # the link was down is as likely a PLC restart as a request; the PLC's result timeout
                # covers the rare lost one, and TriggerAck = Trigger tells it the station is in step.
                self._trigger_seen = trigger
                self._write(rm.TRIGGER_ACK, [trigger])
                return
            if trigger != self._trigger_seen:
                if self._pending is not None:
                    self._overruns += 1
                    self._write(rm.TRIGGER_OVERRUNS, [self._overruns & rm.WORD])
                self._trigger_seen = trigger
                self._pending = (trigger, rm.part_id_text(self._plc[rm.PART_ID_IN - lo:]))
                self._cond.notify_all()

    def plc_heartbeat_age(self) -> float | None:
        with self._cond:
            return None if self._beat_changed is None else time.monotonic() - self._beat_changed

    def counts(self) -> dict[str, int]:
        with self._cond:
            return {"trigger_overruns": self._overruns, "results_unacked": self._unacked}

    # ---- the station's side ------------------------------------------
    def wait_trigger(self, stop: threading.Event,
                     timeout: float) -> tuple[str, Callable[[int], None]] | None:
        """The next trigger as (part id, accepted), or None after ``timeout`` or once ``stop`` is set.
        TriggerReady is 1 meanwhile; ``accepted(part)`` sets TriggerAck (``PlcLink`` wraps it in a PlcTrigger)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self.ready:
                self.ready = True
                self._write(rm.TRIGGER_READY, [1])
            while self._pending is None and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.05))    # short: the stop flag is not a condition
            if self._pending is None:
                return None
            value, part_id = self._pending
        return part_id, (lambda part, value=value: self._accept(value))

    def _accept(self, value: int) -> None:
        with self._cond:
            if self._pending is not None and self._pending[0] == value:
                self._pending = None
            self.ready = False
            self._write(rm.TRIGGER_READY, [0, value])   # TriggerReady 0 and TriggerAck in one write

    def publish(self, part: int, verdict_code: int, score: float, class_id: int, part_id: str) -> None:
        """Addresses 33..45 in one write: ResultValid toggled, the result, the part id.

        A previous result the PLC has not acknowledged is counted (register 47), never waited for:
        the line does not stop for a PLC that reads late. Only once the PLC has shown it acknowledges
        (changed ResultAck once): a PLC that only polls the result registers is not told off."""
        result = rm.result_words(part, verdict_code, score, class_id)
        with self._cond:
            ack = self._plc[rm.RESULT_ACK - rm.PLC_WORDS.start]
            if self._published and self._ack_used and self._result_valid != ack:
                self._unacked += 1
                self._write(rm.RESULTS_UNACKED, [self._unacked & rm.WORD])
            self._published = True
            self._result_valid ^= 1
            self._write(rm.RESULT_VALID, [self._result_valid] + result + rm.part_id_words(part_id))

    _published = False

    def publish_watching(self, part: int, part_id: str) -> None:
        """Shadow mode: the result words with verdict 0 (no verdict given), ResultValid toggled as
        for a result, so a PLC keyed to the part sees the station saw it."""
        with self._cond:
            self._published = True
            self._result_valid ^= 1
            self._write(rm.RESULT_VALID, [self._result_valid, int(part) & rm.WORD, 0, 0, 0]
                        + rm.part_id_words(part_id))

    def stop_waiting(self) -> None:
        """The station no longer takes triggers: TriggerReady 0."""
        with self._cond:
            if self.ready:
                self.ready = False
                self._write(rm.TRIGGER_READY, [0])
