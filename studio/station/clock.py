"""The station's clocks: wall time for the log, a monotonic clock for durations.

The wall clock (``time.time()``) is what a person and the plant's systems
read in the log, but it is set from outside: NTP may step it back (or
forward) by seconds or hours while the line runs. Nothing the station
decides may depend on it:

- a part's durations (capture, decision, trigger -> PLC latency) come from
  the monotonic clock, and its timestamps are the trigger's wall time plus
  those durations, so within one part they never run backwards and the
  latency is never negative, whatever the wall clock does meanwhile;
- the order of parts is their part number, never their timestamps; image
  file names carry the part number, so a clock that goes back never makes a
  part's image overwrite an earlier one's;
- watchdogs, alert repeat limits and back-offs use the monotonic clock.

``StationClock`` notices a step by comparing the two clocks at each reading:
their difference only drifts by microseconds a second (NTP slews), so a
change of more than ``tolerance_s`` between readings is a step, reported
through ``on_step(seconds)`` (negative: back). Tests inject ``wall`` to step
the clock for real.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

STEP_TOLERANCE_S = 1.0      # a change of wall - monotonic larger than this between two readings is a step


class StationClock:
    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic, *,
                 on_step: Callable[[float], None] | None = None, tolerance_s: float = STEP_TOLERANCE_S):
        self._wall, self._monotonic = wall, monotonic
        self.on_step = on_step
        self.tolerance_s = tolerance_s
        self.steps: list[float] = []        # every step seen, in seconds (negative: back)
        self._offset: float | None = None
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: for durations only."""
        return self._monotonic()

    def wall(self) -> float:
        """Seconds since the epoch, as the wall clock says now (checked for a step)."""
        return self.read()[0]

    def read(self) -> tuple[float, float]:
        """(wall, monotonic) read together; a step since the last reading is reported."""
        m = self._monotonic()
        w = self._wall()
        offset = w - m
        step = 0.0
        with self._lock:
            if self._offset is not None and abs(offset - self._offset) > self.tolerance_s:
                step = offset - self._offset
                self.steps.append(step)
            self._offset = offset
        if step and self.on_step is not None:
            self.on_step(step)
        return w, m

    def check(self) -> None:
        """Read the clocks only to notice a step (the heartbeat calls it on an idle line)."""
        self.read()


def describe_step(seconds: float) -> str:
    """The alert for a clock step, in words."""
    direction = "back" if seconds < 0 else "forward"
    return (f"the wall clock stepped {direction} by {abs(seconds):.1f} s (NTP or a manual correction): "
            "part times in the log jump with it; part numbers keep the order, latencies are unaffected")


class SteppableClock:
    """A wall clock a test (or a demo) can step: the system clock plus an offset."""

    def __init__(self, base: Callable[[], float] = time.time):
        self.base = base
        self.offset = 0.0

    def step(self, seconds: float) -> None:
        self.offset += seconds

    def __call__(self) -> float:
        return self.base() + self.offset
