"""Is the PLC still there? The station's watch on its side of the line link.

Three signs, checked by the heartbeat thread at every beat (never on the
actuation path):

- the PLC's own heartbeat (Modbus register 20, or the link's equivalent):
  with ``plc_timeout_s`` in station.yaml, a heartbeat that has not changed for
  that long (or never changed since the start) raises a ``plc`` alert and,
  when ``plc_timeout_policy: halt``, halts the station (a final fault: state
  faulted, heartbeat frozen). Without ``plc_timeout_s`` the station says at
  start that it cannot tell whether the PLC listens.
- for a server link, the polls: a PLC that polled and then stopped for
  ``plc_timeout_s`` (``POLL_SILENCE_S`` without it) is an alert.
- for a client link, the connection: a lost link is an alert at once (the
  link itself reconnects), and its return an info.

Each sign alerts when it goes bad and tells when it is good again; it does
not repeat while it stays bad. Handshake overruns (a trigger before the
TriggerAck, a result the PLC did not acknowledge) are a warning as they grow.
"""
from __future__ import annotations

import time
from typing import Any, Callable

POLICIES = ("alert", "halt")
POLL_SILENCE_S = 10.0       # a polling PLC that falls silent this long, when plc_timeout_s is not set

NO_HEARTBEAT = ("no PLC heartbeat is watched (plc_timeout_s is not set in station.yaml): the station cannot "
                "tell whether the PLC listens")


class PlcWatch:
    def __init__(self, plc: Any, timeout_s: float | None, policy: str, *,
                 alert: Callable[..., None], halt: Callable[[str], None]):
        self.plc = plc
        self.timeout_s = timeout_s
        self.policy = policy
        self.alert, self.halt = alert, halt
        self.started = time.monotonic()
        self._bad: dict[str, bool] = {}
        self._counts = {"trigger_overruns": 0, "results_unacked": 0}
        self.timeouts = 0

    def opening_note(self) -> str | None:
        """What the station says at start about watching the PLC; None when there is nothing to say."""
        if self.timeout_s is None:
            return NO_HEARTBEAT
        return None

    def listening(self) -> bool | None:
        """True/False when the PLC heartbeat is watched; None when the station cannot tell."""
        if self.timeout_s is None:
            return None
        return not self._bad.get("heartbeat", False)

    def _edge(self, sign: str, bad: bool, message: str, back: str, level: str = "error") -> bool:
        """Alert when ``sign`` turns bad, tell when it is good again. True on the turn to bad."""
        was = self._bad.get(sign, False)
        self._bad[sign] = bad
        if bad and not was:
            # edge-triggered already: a second turn to bad within the repeat limit is news, not noise
            self.alert(message, level, key=f"plc-{sign}", always=True)
            return True
        if was and not bad:
            self.alert(back, "info")
        return False

    def check(self) -> None:
        plc = self.plc
        problem = plc.link_problem() if hasattr(plc, "link_problem") else None
        self._edge("link", problem is not None, f"PLC link: {problem}", "the link to the PLC is back")

        if self.timeout_s is not None and hasattr(plc, "plc_heartbeat_age"):
            age = plc.plc_heartbeat_age()
            quiet = time.monotonic() - self.started if age is None else age
            stale = quiet > self.timeout_s
            what = ("the PLC has not written its heartbeat (register 20) since the station started"
                    if age is None else f"the PLC heartbeat has not changed for {quiet:.1f} s")
            message = f"{what} (plc_timeout_s: {self.timeout_s:g}): the PLC may not be listening"
            if self._edge("heartbeat", stale, message, "the PLC heartbeat moves again"):
                self.timeouts += 1
                if self.policy == "halt":
                    self.halt(f"{message}; the station halts (plc_timeout_policy: halt)")

        poll_age = plc.poll_age() if hasattr(plc, "poll_age") else None
        if poll_age is not None:
            limit = self.timeout_s or POLL_SILENCE_S
            self._edge("polls", poll_age > limit,
                       f"no PLC has polled the station's registers for {poll_age:.1f} s: the PLC may not be "
                       "reading the verdicts", "a PLC polls the registers again", level="warning")

        counts = plc.handshake_counts() if hasattr(plc, "handshake_counts") else {}
        for key, what in (("trigger_overruns", "triggers came before the station acknowledged the previous one"),
                          ("results_unacked", "results were replaced before the PLC acknowledged them")):
            n = int(counts.get(key, 0))
            if n > self._counts[key]:
                self._counts[key] = n
                self.alert(f"handshake: {n} {what} (register {46 if key == 'trigger_overruns' else 47})",
                           "warning", key=f"plc-{key}")
