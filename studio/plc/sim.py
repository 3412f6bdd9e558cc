"""A PLC that lives in memory: run and test the station with no PLC at all.

The register image is the same as the Modbus server's, and every publish is
kept (the last ``HISTORY`` of them) so a test or a dry run can check what a
PLC would have been told, part by part.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from studio.core.errors import PlcError
from studio.plc import register_map as rm
from studio.plc.base import PlcLink

HISTORY = 10_000        # enough for a shift at a few parts a second, bounded for a long run


@dataclass(frozen=True)
class Publish:
    time: float
    part: int               # the full part number, not just the register's low 16 bits
    verdict_code: int
    score: float
    class_id: int
    words: tuple[int, ...]  # registers 1..4 as written
    part_id: str = ""       # the PLC's id of the part, when it triggered it


class SimPlc(PlcLink):
    """``plc_write`` plays the PLC's part of the handshake (heartbeat, part id, Trigger, ResultAck)."""

    supports_trigger = True

    def __init__(self, spec: str = "sim"):
        super().__init__(spec)
        self.history: deque[Publish] = deque(maxlen=HISTORY)
        self.started = False

    @classmethod
    def from_spec(cls, arg: str, spec: str = "sim") -> "SimPlc":
        if arg:
            raise PlcError(f"'{spec}': the sim PLC takes no argument", field="plc", hint="use 'sim'")
        return cls(spec)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        # the registers stay readable: after a run they show the last part
        self.started = False

    def publish(self, part: int, verdict_code: int, score: float, class_id: int, *,
                part_id: str = "", defect_class: str = "") -> None:
        super().publish(part, verdict_code, score, class_id, part_id=part_id, defect_class=defect_class)
        self.history.append(Publish(time.time(), int(part), verdict_code, float(score), int(class_id or 0),
                                    tuple(rm.result_words(part, verdict_code, score, class_id)), part_id))

    def describe(self) -> str:
        return "simulated PLC (registers in memory, no network)"
