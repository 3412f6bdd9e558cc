"""The station serves Modbus TCP holding registers; the PLC polls them.

Serving (rather than writing into the PLC as a client) means the PLC
programmer only configures a poll of registers 0..11 (and the handshake
block 20..47) and the station never depends on the PLC's own memory layout.
Any unit id is answered. Registers 0..11 and the station's half of the
handshake (31..47) are read-only for the PLC: a write there is refused
(illegal address). Only 20..30 (PLC heartbeat, Trigger, ResultAck, part id)
and 50..59 (the incumbent's verdict, shadow mode) accept writes. Coil and discrete-input requests are refused (illegal
function): the station has no bits.

pymodbus runs in its own thread with its own asyncio loop, so the station's
threads never wait on the network: ``publish`` and ``beat`` only update an
in-process register image under a lock (microseconds), and the server's
request hook copies that image into its answer when the PLC reads, and hands
what the PLC wrote to the handshake. The hook is pymodbus >= 3.16's
``SimDevice.action``; the read-only flags are its ``SimData(readonly=True)``
(the project pins pymodbus to the versions where both exist and are tested).

A hostile or broken client (malformed frames, unknown function codes,
absurd lengths, random bytes) gets a Modbus exception or its connection
dropped by pymodbus; it never reaches the station's threads.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from typing import Any

from studio.core.errors import PlcError
from studio.plc import register_map as rm
from studio.plc.base import PlcLink
from studio.plc.serving import bind_problem, start_server_thread

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def parse_address(arg: str, spec: str) -> tuple[str, int]:
    """``"127.0.0.1:5020"`` -> ``("127.0.0.1", 5020)``, with a usable error otherwise."""
    example = "modbus-server://127.0.0.1:5020 (this PC only) or modbus-server://0.0.0.0:5020 (all networks)"
    host, sep, port_text = arg.rpartition(":")
    if not sep or not host:
        raise PlcError(f"'{spec}' needs HOST:PORT", field="plc", hint=f"use e.g. {example}")
    try:
        if ipaddress.ip_address(host).version != 4:
            raise ValueError
    except ValueError:
        raise PlcError(f"'{spec}': HOST '{host}' is not an IPv4 address of this PC", field="plc",
                       hint=f"use 0.0.0.0 (all networks), 127.0.0.1 or the address of the PLC network card; "
                            f"e.g. {example}") from None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise PlcError(f"'{spec}': PORT '{port_text}' is not a number 1..65535", field="plc",
                       hint=f"use e.g. {example}; Modbus TCP's standard port is 502")
    return host, int(port_text)


REGISTER_FUNCTIONS = {3, 4, 6, 16, 22, 23}     # read holding/input, write single/multiple, mask, read-write


class ModbusServerPlc(PlcLink):
    supports_trigger = True

    def __init__(self, host: str, port: int, spec: str = ""):
        super().__init__(spec or f"modbus-server://{host}:{port}")
        self.host, self.port = host, port
        self._last_request: float | None = None     # monotonic time of the last request from any client
        self.requests = 0
        self.connections = 0                        # open client connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_spec(cls, arg: str, spec: str = "") -> "ModbusServerPlc":
        host, port = parse_address(arg, spec or f"modbus-server://{arg}")
        return cls(host, port, spec)

    # ---- life cycle ---------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread, outcome = start_server_thread(self._main, f"plc-modbus-{self.port}", START_TIMEOUT_S)
        if "error" in outcome or not outcome.get("listening"):
            self.stop()
            what, hint = bind_problem(self.host, self.port)
            detail = outcome.get("error")
            raise PlcError(f"cannot serve Modbus TCP on {self.host}:{self.port}: {what}"
                           + (f" ({detail})" if detail and detail != what else ""), hint=hint)

    def stop(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        if loop is not None and server is not None and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(STOP_TIMEOUT_S)
            except Exception as e:      # a stuck loop must not keep the station from stopping
                log.warning("Modbus server did not shut down cleanly: %s", e)
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
        self._loop = self._server = self._thread = None

    async def _main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event,
                    outcome: dict[str, Any]) -> None:
        from pymodbus.server import ModbusTcpServer

        # pymodbus logs every malformed frame as an error with a hex dump: a broken or hostile client
        # would flood the station's log. What matters (bind errors, the PLC's silence) the station
        # reports itself.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

        server = ModbusTcpServer(self._simdevice(), address=(self.host, self.port),
                                 trace_connect=self._count_connection)
        if not await server.listen():
            outcome["listening"] = False
            ready.set()
            return
        self._loop, self._server = loop, server
        outcome["listening"] = True
        ready.set()
        await server.serving

    # ---- the registers pymodbus serves ---------------------------------
    def _simdevice(self) -> Any:
        from pymodbus.constants import ExcCodes
        from pymodbus.simulator import DataType, SimData, SimDevice

        async def on_request(fc, _start, address, count, current: list[int], set_values) -> Any:
            # called by the server for each valid request, before it answers; never raises
            self._last_request = time.monotonic()
            self.requests += 1
            if fc not in REGISTER_FUNCTIONS:
                return ExcCodes.ILLEGAL_FUNCTION
            try:
                if set_values:          # only 20..30 get here: the rest is read-only
                    self.plc_write(address, list(set_values))
                with self._image_lock:
                    current[:rm.SERVED_SIZE] = self._image
            except Exception:           # a station bug must not take the server down
                log.exception("Modbus request %s at %s", fc, address)
                return ExcCodes.DEVICE_FAILURE
            return None

        blocks = [
            SimData(0, values=[0] * rm.REGISTER_COUNT, datatype=DataType.REGISTERS, readonly=True),
            SimData(rm.PLC_WORDS.start, values=[0] * len(rm.PLC_WORDS), datatype=DataType.REGISTERS),
            SimData(rm.STATION_WORDS.start, values=[0] * len(rm.STATION_WORDS), datatype=DataType.REGISTERS,
                    readonly=True),
            SimData(rm.INCUMBENT_WORDS.start, values=[0] * len(rm.INCUMBENT_WORDS), datatype=DataType.REGISTERS),
        ]
        return SimDevice(0, simdata=blocks, action=on_request)   # id 0: answers every unit id

    def _count_connection(self, connected: bool) -> None:
        self.connections += 1 if connected else -1

    def poll_age(self) -> float | None:
        last = self._last_request
        return None if last is None else time.monotonic() - last

    def describe(self) -> str:
        where = "all networks" if self.host == "0.0.0.0" else self.host
        return (f"Modbus TCP server on {where}, port {self.port}: holding registers "
                f"0..{rm.REGISTER_COUNT - 1}, handshake {rm.HANDSHAKE}..{rm.HANDSHAKE_END - 1} and incumbent "
                f"{rm.INCUMBENT_WORDS.start}..{rm.INCUMBENT_WORDS.stop - 1}, any unit id")
