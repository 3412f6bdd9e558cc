"""The heartbeat: how the PLC knows the station is alive and well.

Every ``interval_s`` the thread first runs the watchdog (``check``), then
advances the PLC heartbeat register, but only while ``healthy()`` says so.
A station that faults, hangs or stops therefore shows a frozen heartbeat,
and the PLC stops the line or diverts the parts; it never has to trust a
verdict from a station that is not running properly.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, plc: Any, healthy: Callable[[], bool], *, interval_s: float = 0.5,
                 check: Callable[[], None] = lambda: None,
                 on_error: Callable[[str], None] = lambda message: None):
        self.plc = plc
        self.healthy = healthy
        self.check = check
        self.on_error = on_error
        self.interval_s = interval_s
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="station-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
                if self.healthy():
                    self.plc.beat()
                    self.beats += 1
            except Exception as e:      # a broken PLC link: report it and keep watching
                log.exception("heartbeat")
                self.on_error(f"the heartbeat could not be written to the PLC: {e}")
