"""``studio station run --kiosk``: the kiosk as a child process the station supervises.

The station runs in this process and never waits for the kiosk; the kiosk
(``studio kiosk DATA_DIR --companion``) runs in its own and follows the station
through the data directory (``handle.AttachedStation``). When the kiosk dies
(a crash, a kill, closed), the station goes on inspecting and the supervisor
starts a new kiosk after ``RESTART_S`` (longer when it keeps dying at once),
with a ``station`` alert; when the station ends, the kiosk is told by the
status (``stopped``), closes itself, and is ended after ``GRACE_S`` if not.
No Qt here: the kiosk is another program to this module.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

RESTART_S = (1.0, 2.0, 5.0)     # after the 1st, 2nd, 3rd+ death in a row
STEADY_S = 30.0                 # a kiosk that ran this long died "once", not "again"
GRACE_S = 4.0                   # after the station ends: time to show "Finished" and close


def kiosk_command(data_dir: str | Path) -> list[str]:
    return [sys.executable, "-m", "studio", "kiosk", str(data_dir), "--companion"]


class KioskSupervisor:
    """Starts the kiosk once the station runs, restarts it whenever it exits, ends it at ``close()``."""

    def __init__(self, station: Any, command: list[str] | None = None,
                 alert: Callable[[str, str], None] | None = None):
        self.station = station
        self.command = command or kiosk_command(station.data_dir)
        self.alert = alert or (lambda message, level: station._alert(message, level, key="station"))
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.deaths: list[int] = []     # exit codes of the kiosks that ended while the station ran
        self._running = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()   # a kiosk is never started after close() looked for it
        self._thread = threading.Thread(target=self._run, name="kiosk-supervisor", daemon=True)
        self._thread.start()
        self._unsubscribe = station.events.subscribe(self._on_event)

    def _on_event(self, kind: str, payload: dict) -> None:
        if kind == "state" and payload.get("state") == "running":
            self._running.set()

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        import studio

        root = str(Path(studio.__file__).resolve().parents[1])      # this very studio, whatever the cwd
        env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.starts += 1
        return subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL)

    def _run(self) -> None:
        while not self._running.wait(0.2):
            if self._closing.is_set():
                return
        in_a_row = 0
        while not self._closing.is_set():
            began = time.monotonic()
            try:
                with self._lock:
                    if self._closing.is_set():
                        return
                    self.process = self._spawn()
            except OSError as e:
                self.alert(f"the kiosk cannot be started ({e}); the station goes on without it", "error")
                return
            while self.process.poll() is None:
                if self._closing.wait(0.2):
                    return
            code = self.process.returncode
            if self._closing.is_set():
                return
            self.deaths.append(code)
            in_a_row = 1 if time.monotonic() - began > STEADY_S else in_a_row + 1
            wait = RESTART_S[min(in_a_row, len(RESTART_S)) - 1]
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            self.alert(f"the kiosk stopped ({how}); the station goes on inspecting; a new kiosk opens "
                       f"in {wait:g} s", "warning")
            if self._closing.wait(wait):
                return

    def close(self, grace_s: float = GRACE_S) -> None:
        """The station ended: let the kiosk show it and close, then end it."""
        with self._lock:
            self._closing.set()
            proc = self.process
        self._unsubscribe()
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._thread.join(2.0)


def run_with_kiosk(station: Any) -> int:
    """Run ``station`` here (until its end, Ctrl-C or a stop request) with a supervised kiosk beside it.

    Returns ``exit_codes.for_station``; errors starting the station propagate as they are."""
    from studio.station.exit_codes import for_station

    kiosk = KioskSupervisor(station)
    try:
        station.run()
    finally:
        kiosk.close()
    return for_station(station)
