"""Keeping the cores awake while the station runs (Linux PM QoS: ``/dev/cpu_dma_latency``).

An idle core sleeps: a C-state on a PC, a halted vCPU in a virtual machine. Waking it for the
next part costs from tens of microseconds to milliseconds, and every part wakes the cores (the
camera's frame, ONNX Runtime's worker threads). On the reference machine (a 2-core VM) the
trigger -> PLC p99 of 5 MP Mono8 parts at 10 parts/s was 36-38 ms with the cores sleeping
between parts and 25-26 ms with this request held (benchmarks/README.md, "Station at 5 MP").

While the station runs it asks the kernel to keep every core within ``cpu_latency_us``
microseconds of waking (station.yaml; default 0: the cores poll instead of sleeping). The price
is power and heat while the station runs: say ``cpu_latency_us: off`` where that matters more
than the last milliseconds. The request needs write access to the device (root, or a udev rule
giving the station's user the device); without it the station runs as before and says so once.
The request ends when the device is closed, so a killed station cannot leave it behind.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.project.station_settings import latency_problem

DEVICE = "/dev/cpu_dma_latency"
KEY = "cpu_latency_us"
DEFAULT_US = 0


@dataclass(frozen=True)
class CpuLatency:
    max_us: int | None = DEFAULT_US        # None: the OS decides
    device: str = DEVICE

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None, file: Any = None) -> "CpuLatency":
        value = (settings or {}).get(KEY, DEFAULT_US)
        if value is None or value is False or (isinstance(value, str) and value.strip().lower() == "off"):
            return cls(None)
        problem = latency_problem(value)        # the station.yaml table's rule
        if problem:
            raise StudioError(f"{KEY} must be {problem}, not {value!r}", file=file, field=KEY,
                              hint="0 keeps the cores awake while the station runs (the default); off lets them sleep")
        return cls(int(value))

    def hold(self) -> "CpuLatencyHold":
        """Ask the kernel for the latency; the answer says whether it holds and, if not, why."""
        if self.max_us is None:
            return CpuLatencyHold(None, None)
        try:     # never O_CREAT: where the device is missing, nothing is written in its place
            handle = os.fdopen(os.open(self.device, os.O_WRONLY), "wb", buffering=0)
        except OSError as e:
            reason = "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e))
            return CpuLatencyHold(None, f"the cores may sleep between parts ({self.device}: {reason}): part "
                                        "latency can vary by milliseconds; run the station as root or give its user "
                                        f"write access to {self.device}, or set {KEY}: off in station.yaml")
        try:
            handle.write(struct.pack("=i", self.max_us))
        except OSError as e:
            handle.close()
            return CpuLatencyHold(None, f"the cores may sleep between parts ({self.device} refused "
                                        f"{self.max_us} us: {e.strerror or e})")
        return CpuLatencyHold(handle, None, self.max_us)


class CpuLatencyHold:
    """A held request (``active``), or why there is none (``note``; None when it is off)."""

    def __init__(self, handle: Any, note: str | None, max_us: int | None = None):
        self._handle, self.note, self.max_us = handle, note, max_us

    @property
    def active(self) -> bool:
        return self._handle is not None

    def describe(self) -> str:
        return f"cores kept within {self.max_us} us of waking" if self.active else "cores may sleep"

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass


def idle_sleeps(cpu: int = 0) -> int | None:
    """How often core ``cpu`` has entered a sleep state deeper than polling (Linux cpuidle), or None."""
    root = Path(f"/sys/devices/system/cpu/cpu{cpu}/cpuidle")
    try:
        total = 0
        for state in root.glob("state*"):
            if (state / "name").read_text().strip().upper() != "POLL":
                total += int((state / "usage").read_text())
        return total
    except (OSError, ValueError):
        return None
