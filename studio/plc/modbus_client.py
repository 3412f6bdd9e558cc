"""The PLC is the Modbus server; the station writes its registers into it.

``modbus-client://HOST:PORT?unit=1&base=100``: many PLCs are Modbus TCP
servers themselves and will not poll. The station then writes the same
register map into the PLC's holding registers from ``base`` on (station
register n is PLC register base + n): 0..11 and the station's half of the
handshake (31..47), and reads the PLC's half (20..30: heartbeat, Trigger,
ResultAck, part id) from base + 20, and the incumbent block (50..59: the
PLC's own verdict of a part, shadow mode) from base + 50.

The incumbent's verdict: a server link sees the PLC write register 51; a
client only sees the block's values, so a verdict is taken when the block
(counter, verdict, part id) differs from the last poll and 51 holds 1 or 2.
The PLC writes one verdict per part (the counter or the part id changes);
the first look ever is the baseline (a verdict left from before the station
started is not taken again), while a verdict written while the link was
down is taken on reconnecting (the block differs from the last one seen). A
PLC without registers base+50..59 keeps the link: the incumbent is not read
and ``incumbent_problem`` says so (logged once).

One thread owns the connection. ``publish`` and ``beat`` only change the
in-process image and wake that thread (microseconds), so a slow or absent
PLC never delays the station. The thread writes what changed (registers
0..11 before 31..47, so ResultValid never arrives before the verdict it
stands for), reads the PLC's words every ``POLL_S``, and when the link
breaks it reports why (``link_problem``), waits 0.5, 1, 2, then 5 s between
tries, and on reconnecting writes the whole image again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from studio.core.errors import PlcError
from studio.plc import register_map as rm
from studio.plc.base import PlcLink

log = logging.getLogger(__name__)

POLL_S = 0.01                       # read the PLC's trigger words this often
RETRY_S = (0.5, 1.0, 2.0, 5.0)      # wait before reconnecting, after the 1st, 2nd, 3rd and later failures
TIMEOUT_S = 1.0                     # one request; a PLC answers in milliseconds
EXAMPLE = "modbus-client://192.168.0.10:502?unit=1&base=100"


def parse_target(arg: str, spec: str) -> tuple[str, int, int, int]:
    """``"10.0.0.5:502?unit=1&base=100"`` -> ``("10.0.0.5", 502, 1, 100)``, with a usable error otherwise."""
    address, _, query = arg.partition("?")
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise PlcError(f"'{spec}' needs HOST:PORT of the PLC", field="plc", hint=f"use e.g. {EXAMPLE}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise PlcError(f"'{spec}': PORT '{port_text}' is not a number 1..65535", field="plc",
                       hint=f"use e.g. {EXAMPLE}; Modbus TCP's standard port is 502")
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - {"unit", "base"})
    if unknown:
        raise PlcError(f"'{spec}': unknown option {', '.join(unknown)}", field="plc",
                       hint=f"the options are unit (the PLC's unit id) and base (its first register); e.g. {EXAMPLE}")

    def number(name: str, default: int, top: int) -> int:
        text = options.get(name, str(default)).strip()
        if not text.isdigit() or int(text) > top:
            raise PlcError(f"'{spec}': {name}={text!r} is not a number 0..{top}", field="plc",
                           hint=f"use e.g. {EXAMPLE}")
        return int(text)

    unit = number("unit", 1, 255)
    base = number("base", 0, 65536 - rm.IMAGE_SIZE)
    return host, int(port_text), unit, base


class ModbusClientPlc(PlcLink):
    supports_trigger = True

    def __init__(self, host: str, port: int, unit: int = 1, base: int = 0, spec: str = "", *,
                 poll_s: float = POLL_S, retry_s: tuple[float, ...] = RETRY_S, timeout_s: float = TIMEOUT_S):
        super().__init__(spec or f"modbus-client://{host}:{port}?unit={unit}&base={base}")
        self.host, self.port, self.unit, self.base = host, port, unit, base
        self.poll_s, self.retry_s, self.timeout_s = poll_s, retry_s, timeout_s
        self._dirty = {"results": True, "station": True}    # written on every (re)connect
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._problem: str | None = None
        self.connected = False
        self.connects = 0                   # successful connections (1 + reconnects)
        self.writes = 0
        self._incumbent_seen: list[int] | None = None    # the incumbent block as last read (kept across reconnects)
        self.incumbent_problem: str | None = None        # why the incumbent block is not read (refused by the PLC)
        self.incumbent_taken = 0                         # verdicts handed on (on_incumbent)

    @classmethod
    def from_spec(cls, arg: str, spec: str = "") -> "ModbusClientPlc":
        host, port, unit, base = parse_target(arg, spec or f"modbus-client://{arg}")
        return cls(host, port, unit, base, spec)

    # ---- life cycle ---------------------------------------------------
    def start(self) -> None:
        """Start the link thread. An unreachable PLC is not an error here: the link keeps
        trying and ``link_problem`` says why it is down (a PLC may boot after the station)."""
        if self._thread is not None:
            return
        try:
            import pymodbus.client  # noqa: F401
        except ImportError as e:
            raise PlcError(f"Modbus support is not installed ({e})", hint="pip install pymodbus") from None
        self._stop.clear()
        self._problem = f"connecting to the PLC at {self.host}:{self.port}"
        self._thread = threading.Thread(target=self._run, name=f"plc-modbus-client-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout_s * 3 + 1.0)
        self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        """For tests and start-up messages: True once the link is up."""
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connected

    # ---- the station's writes: image, then wake the link thread -----------
    def _write(self, address: int, values: list[int]) -> None:
        with self._image_lock:
            self._image[address:address + len(values)] = values
            if address < rm.REGISTER_COUNT:
                self._dirty["results"] = True
            if address + len(values) > rm.STATION_WORDS.start:
                self._dirty["station"] = True
        self._wake.set()

    def link_problem(self) -> str | None:
        return self._problem

    # ---- the link thread ----------------------------------------------
    def _run(self) -> None:
        from pymodbus.client import ModbusTcpClient

        failures = 0
        while not self._stop.is_set():
            client = ModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0)
            try:
                if not client.connect():
                    raise ConnectionError("no answer (is the PLC on, the address and port right?)")
                self._serve(client)         # returns only when stopping
                failures = 0
            except Exception as e:
                failures += 1
                delay = self.retry_s[min(failures, len(self.retry_s)) - 1]
                was_up = self.connected
                self.connected = False
                self._problem = (f"{'lost' if was_up else 'no'} link to the PLC at {self.host}:{self.port} "
                                 f"(unit {self.unit}): {e}; trying again in {delay:g} s")
                log.info("%s", self._problem)
                with self._image_lock:
                    self._dirty = {"results": True, "station": True}
                self._stop.wait(delay)
            finally:
                try:
                    client.close()
                except Exception:
                    pass

    def _serve(self, client: Any) -> None:
        # the baseline first, then the first write: a PLC that triggers as soon as it sees
        # TriggerReady toggles after the station looked, so that trigger is never taken for old memory
        words = self._read_plc(client)
        self._store_plc(words)
        self.handshake.plc_wrote(rm.PLC_WORDS.start, words, first_read=True)
        self._poll_incumbent(client)
        self._flush(client)
        self.connects += 1
        self.connected, self._problem = True, None
        while True:
            self._wake.clear()          # before the flush: a write after it wakes the wait below at once
            self._flush(client)
            if self._stop.is_set():     # the last state (stopped, TriggerReady 0) is written first
                return
            self.plc_write(rm.PLC_WORDS.start, self._read_plc(client))
            self._poll_incumbent(client)
            self._wake.wait(self.poll_s)

    def _poll_incumbent(self, client: Any) -> None:
        """Read the incumbent block (50..59); a changed block with a verdict is the PLC's verdict of a part."""
        if self.on_incumbent is None or self.incumbent_problem is not None:
            return
        start = self.base + rm.INCUMBENT_WORDS.start
        rr = client.read_holding_registers(start, count=len(rm.INCUMBENT_WORDS), device_id=self.unit)
        if rr is None:
            raise ConnectionError("no answer to the read of the incumbent block")
        if rr.isError():            # the PLC has no such registers: the link stays, the incumbent is not read
            self.incumbent_problem = (f"the PLC refused registers {start}..{start + len(rm.INCUMBENT_WORDS) - 1} "
                                      f"(unit {self.unit}): its own verdicts (the incumbent, shadow mode) are not "
                                      f"read; give the PLC these holding registers, or import the incumbent's "
                                      f"verdicts as CSV (studio station incumbent)")
            log.warning("%s", self.incumbent_problem)
            return
        words = [int(v) & rm.WORD for v in rr.registers]
        seen, self._incumbent_seen = self._incumbent_seen, words
        if seen is None or words == seen:       # the baseline, or nothing new
            with self._image_lock:
                self._image[rm.INCUMBENT_WORDS.start:rm.INCUMBENT_WORDS.stop] = words
            return
        verdict = words[rm.INCUMBENT_VERDICT - rm.INCUMBENT_WORDS.start]
        self.plc_write(rm.INCUMBENT_WORDS.start, words)        # into the image, and on to on_incumbent
        if verdict in (rm.VERDICT_PASS, rm.VERDICT_REJECT):
            self.incumbent_taken += 1

    def _store_plc(self, words: list[int]) -> None:
        with self._image_lock:
            self._image[rm.PLC_WORDS.start:rm.PLC_WORDS.stop] = words

    def _flush(self, client: Any) -> None:
        with self._image_lock:
            dirty, self._dirty = self._dirty, {"results": False, "station": False}
            image = list(self._image)
        try:
            if dirty["results"]:
                self._check(client.write_registers(self.base, image[:rm.REGISTER_COUNT], device_id=self.unit))
            if dirty["station"]:
                start = rm.STATION_WORDS.start
                self._check(client.write_registers(self.base + start, image[start:rm.HANDSHAKE_END],
                                                   device_id=self.unit))
            self.writes += dirty["results"] + dirty["station"]
        except Exception:
            with self._image_lock:          # not written: write it again next time
                self._dirty = {k: v or dirty[k] for k, v in self._dirty.items()}
            raise

    def _read_plc(self, client: Any) -> list[int]:
        rr = self._check(client.read_holding_registers(self.base + rm.PLC_WORDS.start, count=len(rm.PLC_WORDS),
                                                       device_id=self.unit))
        return list(rr.registers)

    def _check(self, response: Any) -> Any:
        if response is None or response.isError():
            raise ConnectionError(f"the PLC refused the request ({response}); check that registers "
                                  f"{self.base}..{self.base + rm.IMAGE_SIZE - 1} exist and are writable "
                                  f"holding registers in unit {self.unit}")
        return response

    def describe(self) -> str:
        state = "connected" if self.connected else "not connected yet"
        inc = rm.INCUMBENT_WORDS
        return (f"Modbus TCP client to the PLC at {self.host}:{self.port}, unit {self.unit}: station registers "
                f"0..{rm.IMAGE_SIZE - 1} at PLC registers {self.base}..{self.base + rm.IMAGE_SIZE - 1}, the "
                f"incumbent's {inc.start}..{inc.stop - 1} read from {self.base + inc.start}..{self.base + inc.stop - 1}"
                f" ({state}" + (f"; {self.incumbent_problem}" if self.incumbent_problem else "") + ")")
