"""The result log as the station sees it: alert kinds, and what a failing log does to the line.

``on_log_failure`` (station.yaml) decides what a full disk or an unplugged
data directory does:

- ``continue`` (default): inspection goes on and every verdict is published;
  rows wait in the log's bounded memory queue and are written when the disk
  is back. The PLC sees station state 3 (running, not logging) until then.
  The trade-off: a part published while its row waits in memory is lost from
  the log if the station also dies before the disk returns.
- ``stop``: a part whose row cannot be committed is published as a fault and
  the station halts (state 2, heartbeat frozen): for plants that may not run
  a part unlogged.
"""
from __future__ import annotations

from typing import Any

from studio.plc import register_map as rm

# the alert keys the station uses -> the kind logged in the alerts table
KINDS = {"camera": "camera", "model": "model", "deadline": "deadline", "log": "log",
         "lighting": "lighting", "lighting-back": "lighting", "frame_check": "lighting",
         "log-back": "log", "log-failing": "log", "plc": "plc", "station": "station",
         "central": "central",
         # production monitoring (studio.monitoring.live)
         "reject_rate": "reject_rate", "reject_rate-back": "reject_rate", "reject_rate-baseline": "reject_rate",
         "score_drift": "score_drift", "score_drift-back": "score_drift", "new_defect": "new_defect"}


def alert_kind(key: str | None, message: str) -> str:
    """The kind of an alert: from its key, else from what it names."""
    if key in KINDS:
        return KINDS[key]
    text = message.lower()
    if "camera" in text:
        return "camera"
    if "plc" in text or "heartbeat" in text:
        return "plc"
    if "result log" in text or "data directory" in text:
        return "log"
    return "station"


class LogHealth:
    """Turns the log's health changes into the PLC state, an alert, or a halt."""

    def __init__(self, station: Any, on_failure: str):
        self.station = station
        self.on_failure = on_failure
        self.failing: str | None = None

    def running_code(self) -> int:
        """The PLC state while the station runs: 3 while the log cannot write."""
        return rm.STATE_LOG_FAILING if self.failing else rm.STATE_RUNNING

    def __call__(self, ok: bool, why: str) -> None:
        st = self.station
        self.failing = None if ok else why
        if st.fault is not None or st.state not in ("running", "faulted", "starting"):
            return
        if not ok and self.on_failure == "stop":
            st._fault(f"{why}; on_log_failure is stop: the station halts the line")
            return
        if st.state == "running":
            st._plc_state(self.running_code())
        if ok:
            st._alert(why, "info", key="log-back")
        else:
            st._alert(f"{why}; inspection goes on (on_log_failure: continue), rows wait in memory",
                      "error", key="log-failing")
