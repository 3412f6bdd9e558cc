"""What starts an inspection: the station's trigger modes, and the "no part for too long" watch.

``trigger`` in station.yaml (or ``--trigger``):

- ``free`` (the default): the station grabs as fast as it can, or every
  ``interval_s``; the camera delivers a frame on each grab (software trigger
  or free run).
- ``hardware``: the camera waits for its trigger input (GenICam
  ``TriggerMode On``, ``TriggerSource Line*``; camera setting
  ``trigger: hardware`` implies it). The station waits for the next part as
  long as the line pauses: a grab timeout is no fault while the camera still
  answers a feature read.
- ``plc``: the PLC triggers each part through the link's handshake (Modbus
  Trigger toggle, OPC UA ``Trigger``); the station acknowledges, fires the
  camera's software trigger by grabbing, and the PLC's part id travels with
  the result.

``trigger_timeout_s`` (station.yaml) makes a line that wants to know say so:
no part for that long raises a ``trigger`` alert (once per pause), and the
next part an info that parts come again. Without it, a pause is silent.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from studio.core.errors import StudioError

TRIGGERS = ("free", "hardware", "plc")
PLC_WAIT_S = 0.5        # one wait on the link; the loop around it checks the stop flag


def resolve_trigger(given: str | None, settings: dict[str, Any], camera_settings: dict[str, Any]) -> str:
    """The station's trigger mode: ``--trigger``, then station.yaml's ``trigger``, then the camera's own."""
    value = given or settings.get("trigger")
    if value is None:
        camera = str((camera_settings or {}).get("trigger") or "").lower()
        return "hardware" if camera == "hardware" else "free"
    value = str(value).strip().lower()
    if value not in TRIGGERS:
        raise StudioError(f"trigger '{value}' is not known", field="trigger",
                          hint="use one of: free (grab continuously or every interval_s), hardware (the camera's "
                               "trigger input), plc (the PLC triggers each part through the handshake)")
    return value


def seconds_setting(settings: dict[str, Any], key: str) -> float | None:
    """A positive number of seconds from station.yaml, None when absent; a clear error otherwise."""
    value = settings.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0:
        raise StudioError(f"{key} is {value!r}, not a positive number of seconds", field=key,
                          hint=f"write e.g. '{key}: 5' in station.yaml, or remove it")
    return number


def check_plc_trigger(trigger: str, plc: Any) -> None:
    if trigger == "plc" and not getattr(plc, "supports_trigger", False):
        raise StudioError(f"trigger 'plc' needs a PLC link that can trigger, not '{getattr(plc, 'spec', plc)}'",
                          field="trigger",
                          hint="use --plc modbus-server://HOST:PORT, modbus-client://HOST:PORT or an OPC UA "
                               "server link, or another trigger mode")


def wait_for_plc(plc: Any, stop: threading.Event) -> Any:
    """The PLC's next trigger (a ``PlcTrigger``), as long as it takes; None once ``stop`` is set."""
    while not stop.is_set():
        trigger = plc.wait_trigger(stop, PLC_WAIT_S)
        if trigger is not None:
            return trigger
    return None


class PartWatch:
    """``trigger_timeout_s``: no part for that long is an alert (once per pause)."""

    def __init__(self, timeout_s: float | None, alert: Callable[..., None]):
        self.timeout_s = timeout_s
        self.alert = alert
        self.last_part = time.monotonic()
        self.alerted = False
        self.alerts = 0

    def restart(self) -> None:
        """The pipeline starts now: the quiet time counts from here."""
        self.last_part = time.monotonic()
        self.alerted = False

    def part(self) -> None:
        """A part came (acquisition thread)."""
        now = time.monotonic()
        if self.alerted:
            self.alerted = False
            self.alert(f"parts come again, after {now - self.last_part:.0f} s without one", "info")
        self.last_part = now

    def check(self) -> None:
        """The heartbeat thread, every beat."""
        if self.timeout_s is None or self.alerted:
            return
        quiet = time.monotonic() - self.last_part
        if quiet > self.timeout_s:
            self.alerted = True
            self.alerts += 1
            self.alert(f"no part for {quiet:.0f} s (trigger_timeout_s: {self.timeout_s:g}): check the line and "
                       "the trigger", "warning", key="trigger")
